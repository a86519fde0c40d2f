"""Terminal voice input for real: bash, zsh and fish in tmux, the key binding, the virtual microphone.

Each test starts a private tmux server running one shell whose startup file evaluates
`dictate shell-init`, types at the prompt, presses Ctrl-X Ctrl-V, speaks into the virtual
microphone and reads the screen back with `tmux capture-pane`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dictate import shellinit
from tests.conftest import rig_unavailable, write_config
from tests.rig import proc
from tests.rig.server import Reply, TranscriptionServer
from tests.rig.sound import VirtualMic

pytestmark = pytest.mark.rig

PROMPT = "T> "
PHRASE = "please write this down for me"
SPOKEN = "café 你好"  # what the local server answers: non-ASCII, and wide characters


class Terminal:
    """One shell in a private tmux server; keys in, screen text out."""

    def __init__(self, workdir: Path) -> None:
        self.socket = workdir / "tmux.sock"
        self.config = workdir / "tmux.conf"
        self.env: dict[str, str] = {}

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-S", str(self.socket), *args], env=self.env, capture_output=True, text=True, timeout=30
        )
        if result.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def start(self, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        # The server, and so the shell, inherit the environment of the client that starts it.
        self.env = env
        self.config.write_text("set -g remain-on-exit on\n")  # a shell that dies stays readable
        self.tmux(
            "-u",
            "-f",
            str(self.config),
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "30",
            "-c",
            str(cwd),
            shlex.join(command),
        )

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-l", text)

    def screen(self) -> list[str]:
        return [line.rstrip() for line in self.tmux("capture-pane", "-p").splitlines()]

    def wait_for(self, found: Callable[[list[str]], bool], what: str, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen()
            if found(lines):
                return lines
            if time.monotonic() > deadline:
                shown = "\n".join(lines).rstrip()
                raise AssertionError(f"the screen never showed {what}; it shows:\n{shown}")
            time.sleep(0.05)

    def wait_for_line(self, line: str, timeout: float = 30) -> list[str]:
        return self.wait_for(lambda lines: line in lines, repr(line), timeout)

    def wait_for_text(self, text: str, timeout: float = 30) -> list[str]:
        return self.wait_for(lambda lines: any(text in line for line in lines), repr(text), timeout)

    def stop(self) -> None:
        if self.socket.exists():
            subprocess.run(
                ["tmux", "-S", str(self.socket), "kill-server"], env=self.env, capture_output=True, timeout=30
            )


def prompt_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith(PROMPT) or line == PROMPT.rstrip()]


@pytest.fixture(params=shellinit.SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    for tool in ("tmux", name):
        if shutil.which(tool) is None:
            rig_unavailable(f"{tool} is not installed (apt-get install {tool})")
    return name


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """`dictate` on PATH as installed: the console script of the environment running the tests."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = Path(sys.executable).with_name("dictate")
    if os.access(script, os.X_OK):
        (folder / "dictate").symlink_to(script)
    else:  # not installed as a package: run the module with the same interpreter
        wrapper = folder / "dictate"
        wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m dictate "$@"\n')
        wrapper.chmod(0o755)
    return folder


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    folder = tmp_path / "work"  # the shell's current directory, where a run command would write
    folder.mkdir()
    return folder


def shell_env(mic_env: dict[str, str], bin_dir: Path) -> dict[str, str]:
    env = dict(mic_env)
    for name in [n for n in env if n.startswith("LC_") or n in ("TMUX", "TMUX_PANE", "PROMPT_COMMAND")]:
        del env[name]
    # SHELL is what tmux starts the test's shell command with.
    path = f"{bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env.update(PATH=path, LANG="C.UTF-8", TERM="screen", SHELL="/bin/sh")
    return env


FIRST_LINE = "line one"  # of the two-line prompts


def shell_command(shell: str, home: Path, load: str, *, two_lines: bool = False) -> list[str]:
    """The shell, interactive, with a startup file that sets a plain prompt and then runs `load`."""
    first = f"{FIRST_LINE}\\n" if two_lines else ""
    if shell == "bash":
        rc = home / ".bashrc"
        rc.write_text(f"PS1='{first}{PROMPT}'\nunset PROMPT_COMMAND\n{load}\n")
        return ["bash", "--noprofile", "--rcfile", str(rc), "-i"]
    if shell == "zsh":
        (home / ".zshrc").write_text(f"PS1=$'{first}{PROMPT}'\nRPS1=''\n{load}\n")
        return ["zsh", "-d", "-i"]  # -d: not the system-wide zshrc, only $ZDOTDIR/.zshrc (HOME)
    config = home / ".config" / "fish" / "config.fish"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"set -g fish_greeting\nfunction fish_prompt; printf '{first}{PROMPT}'; end\n{load}\n")
    return ["fish", "-i"]


LOAD = {
    "bash": 'eval "$(dictate shell-init bash)"',
    "zsh": 'eval "$(dictate shell-init zsh)"',
    "fish": "dictate shell-init fish | source",
}


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    yield term
    term.stop()


def start_shell(
    terminal: Terminal,
    shell: str,
    home: Path,
    env: dict[str, str],
    workdir: Path,
    load: str,
    *,
    two_lines: bool = False,
) -> None:
    terminal.start(shell_command(shell, home, load, two_lines=two_lines), workdir, env)
    terminal.wait_for(lambda lines: prompt_lines(lines) == [PROMPT.rstrip()], "the first prompt")


@pytest.fixture
def open_prompt(
    shell: str, home: Path, mic_env: dict[str, str], bin_dir: Path, workdir: Path, terminal: Terminal
) -> Callable[..., Terminal]:
    """Starts the shell with `dictate shell-init` loaded and returns its terminal at the first prompt."""

    def start(*, two_lines: bool = False) -> Terminal:
        start_shell(terminal, shell, home, shell_env(mic_env, bin_dir), workdir, LOAD[shell], two_lines=two_lines)
        return terminal

    return start


def configure(home: Path, server: TranscriptionServer, audio: str = "silence_seconds = 0.8") -> None:
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\nmodel = "whisper-test"\n[audio]\n{audio}\n')


def type_line_with_cursor_inside(terminal: Terminal) -> None:
    """`echo ab` with the cursor between a and b."""
    terminal.type("echo ab")
    terminal.wait_for_line(f"{PROMPT}echo ab")
    terminal.keys("Left")


def sync(terminal: Terminal) -> None:
    """Empty the line, run `echo synced` and wait for its output: all typed before has been handled."""
    terminal.keys("C-e", "C-u")
    terminal.type("echo synced")
    terminal.keys("Enter")
    terminal.wait_for_line("synced")


def server_error() -> Reply:
    reply = Reply.openai_error(500, "The server had an error while processing your request.", type_="server_error")
    reply.headers["retry-after"] = "0"  # retried at once: no back-off to wait for
    return reply


def test_speech_is_inserted_at_the_cursor_and_not_run(
    home: Path,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
    open_prompt: Callable[..., Terminal],
) -> None:
    with TranscriptionServer(text=SPOKEN) as server:
        configure(home, server)
        terminal = open_prompt()
        type_line_with_cursor_inside(terminal)
        terminal.keys("C-x", "C-v")
        terminal.wait_for_text("recording…")
        vmic.play(clip(PHRASE))
        terminal.wait_for_line(f"{PROMPT}echo acafé 你好b")
        terminal.type("Z")  # lands where the cursor is: right after the inserted text
        lines = terminal.wait_for_line(f"{PROMPT}echo acafé 你好Zb")
        assert prompt_lines(lines) == [f"{PROMPT}echo acafé 你好Zb"], lines  # no new prompt: not run
        assert not any("recording" in line or "transcribing" in line for line in lines), lines
        assert len(server.uploads) == 1


def test_enter_stops_the_recording_without_running_the_line(
    home: Path,
    workdir: Path,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
    open_prompt: Callable[..., Terminal],
) -> None:
    with TranscriptionServer(text="touch entered.txt") as server:
        configure(home, server, "silence_seconds = 0")  # only Enter ends this recording
        terminal = open_prompt()
        terminal.keys("C-x", "C-v")
        terminal.wait_for_text("recording… Enter to stop")
        vmic.play(clip(PHRASE))
        terminal.keys("Enter")
        lines = terminal.wait_for_line(f"{PROMPT}touch entered.txt")
        assert prompt_lines(lines) == [f"{PROMPT}touch entered.txt"], lines
        sync(terminal)
        assert not (workdir / "entered.txt").exists()
        assert len(server.uploads) == 1


def test_enter_pressed_while_transcribing_does_not_run_the_line(
    home: Path,
    workdir: Path,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
    open_prompt: Callable[..., Terminal],
) -> None:
    # A pause has already ended the recording; the user, unaware, presses Enter to stop it.
    with TranscriptionServer(text="touch late.txt") as server:
        server.queue(Reply(delay=3.0))
        configure(home, server)
        terminal = open_prompt()
        terminal.keys("C-x", "C-v")
        terminal.wait_for_text("recording…")
        vmic.play(clip(PHRASE))
        terminal.wait_for_text("transcribing")
        terminal.keys("Enter")
        lines = terminal.wait_for_line(f"{PROMPT}touch late.txt")
        assert prompt_lines(lines) == [f"{PROMPT}touch late.txt"], lines
        sync(terminal)
        assert not (workdir / "late.txt").exists()
        assert len(server.uploads) == 1


def test_a_transcript_that_looks_like_a_command_is_not_run(
    home: Path,
    workdir: Path,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
    open_prompt: Callable[..., Terminal],
) -> None:
    with TranscriptionServer(text="echo x > proof.txt\n") as server:
        configure(home, server)
        terminal = open_prompt()
        terminal.keys("C-x", "C-v")
        terminal.wait_for_text("recording…")
        vmic.play(clip(PHRASE))
        lines = terminal.wait_for_line(f"{PROMPT}echo x > proof.txt")
        assert prompt_lines(lines) == [f"{PROMPT}echo x > proof.txt"], lines
        sync(terminal)
        assert not (workdir / "proof.txt").exists()


def test_a_server_error_leaves_the_line_as_it_was(
    home: Path,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
    open_prompt: Callable[..., Terminal],
) -> None:
    with TranscriptionServer(text=SPOKEN) as server:
        server.queue(*[server_error() for _ in range(4)])  # the first try and all three retries fail
        configure(home, server)
        terminal = open_prompt()
        type_line_with_cursor_inside(terminal)
        terminal.keys("C-x", "C-v")
        terminal.wait_for_text("recording…")
        vmic.play(clip(PHRASE))
        terminal.wait_for_text("HTTP 500")
        terminal.type("Z")
        lines = terminal.wait_for_line(f"{PROMPT}echo aZb")
        assert prompt_lines(lines) == [f"{PROMPT}echo aZb"], lines
        assert len(server.uploads) == 4


def test_no_speech_leaves_the_line_as_it_was(
    home: Path,
    open_prompt: Callable[..., Terminal],
) -> None:
    with TranscriptionServer(text=SPOKEN) as server:
        configure(home, server, "silence_seconds = 0.8\nmax_seconds = 1")
        terminal = open_prompt()
        type_line_with_cursor_inside(terminal)
        terminal.keys("C-x", "C-v")
        terminal.wait_for_text("no speech heard")
        terminal.type("Z")
        lines = terminal.wait_for_line(f"{PROMPT}echo aZb")
        assert prompt_lines(lines) == [f"{PROMPT}echo aZb"], lines
        assert server.uploads == []


def test_ctrl_c_stops_the_recording_and_keeps_the_line(
    home: Path,
    open_prompt: Callable[..., Terminal],
) -> None:
    with TranscriptionServer(text=SPOKEN) as server:
        configure(home, server)
        terminal = open_prompt()
        type_line_with_cursor_inside(terminal)
        terminal.keys("C-x", "C-v")
        terminal.wait_for_text("recording…")
        terminal.keys("C-c")
        terminal.wait_for(lambda lines: prompt_lines(lines) == [f"{PROMPT}echo ab"], "the prompt again")
        terminal.type("Z")
        lines = terminal.wait_for_line(f"{PROMPT}echo aZb")
        assert prompt_lines(lines) == [f"{PROMPT}echo aZb"], lines
        assert server.uploads == []


def test_a_two_line_prompt_stays_whole(
    home: Path,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
    open_prompt: Callable[..., Terminal],
) -> None:
    with TranscriptionServer(text=SPOKEN) as server:
        configure(home, server)
        terminal = open_prompt(two_lines=True)
        type_line_with_cursor_inside(terminal)
        terminal.keys("C-x", "C-v")
        terminal.wait_for_text("recording…")
        vmic.play(clip(PHRASE))
        terminal.wait_for_line(f"{PROMPT}echo acafé 你好b")
        terminal.type("Z")
        lines = terminal.wait_for_line(f"{PROMPT}echo acafé 你好Zb")
        assert [line for line in lines if line] == [FIRST_LINE, f"{PROMPT}echo acafé 你好Zb"]


def test_a_failure_keeps_its_message_above_a_two_line_prompt(
    shell: str,
    home: Path,
    open_prompt: Callable[..., Terminal],
) -> None:
    with TranscriptionServer(text=SPOKEN) as server:
        configure(home, server, "silence_seconds = 0.8\nmax_seconds = 1")
        terminal = open_prompt(two_lines=True)
        type_line_with_cursor_inside(terminal)
        terminal.keys("C-x", "C-v")
        terminal.wait_for_text("no speech heard")
        terminal.type("Z")
        lines = terminal.wait_for_line(f"{PROMPT}echo aZb")
        shown = [line for line in lines if line]
        (message,) = [line for line in shown if line.startswith("dictate: no speech heard")]
        # bash redraws only the prompt's last line; zsh and fish the whole prompt, below the message
        expected = {"bash": [FIRST_LINE, message], "zsh": [FIRST_LINE, message, FIRST_LINE]}
        assert shown == [*expected.get(shell, expected["zsh"]), f"{PROMPT}echo aZb"], lines
        assert server.uploads == []


def test_the_binding_never_lets_newlines_or_controls_through(
    shell: str, home: Path, bin_dir: Path, workdir: Path, terminal: Terminal, tmp_path: Path
) -> None:
    """Even if the program behind the key printed several lines and escapes, the line is not run."""
    fake = tmp_path / "fake" / "dictate"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nprintf 'echo one > one.txt\\n\\necho two > two.txt\\r\\n\\033[31m;\\007\\n\\n'\n")
    fake.chmod(0o755)
    snippet = tmp_path / f"snippet.{shell}"
    snippet.write_text(shellinit.snippet(shell, [str(fake)]))
    env = shell_env(proc.clean_env(home), bin_dir)
    quoted = shellinit.fish_quote(str(snippet)) if shell == "fish" else shlex.quote(str(snippet))
    start_shell(terminal, shell, home, env, workdir, f"source {quoted}")
    terminal.keys("C-x", "C-v")
    lines = terminal.wait_for_text("echo two > two.txt")
    (line,) = prompt_lines(lines)
    assert line.startswith(f"{PROMPT}echo one > one.txt ") and "echo two > two.txt" in line, lines
    sync(terminal)
    assert not (workdir / "one.txt").exists()
    assert not (workdir / "two.txt").exists()
