"""Every wait of the loops has an end, through the real processes: a daemon or `dictate notes` whose
server hangs still stops at SIGINT/SIGTERM and leaves what it was sending in the spool; a dictation
behind a hanging one is on disk before anything waits; the length limit ends a recording of the real
daemon; `dictate once` with nobody speaking gives up, and the shell binding leaves the line alone."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.e2e.test_shell import (  # the shell rig's fixtures, used here as they are
    PROMPT,
    Terminal,
    bin_dir,  # noqa: F401
    open_prompt,  # noqa: F401
    prompt_lines,
    shell,  # noqa: F401
    terminal,  # noqa: F401
    type_line_with_cursor_inside,
    workdir,  # noqa: F401
)
from tests.rig import proc
from tests.rig.display import VirtualDisplay
from tests.rig.server import Reply, TranscriptionServer
from tests.rig.sound import VirtualMic

pytestmark = pytest.mark.rig

TEXT = "Hello from the test server."
PHRASE = "please write this down for me"
HANG = Reply(delay=600)  # longer than any test: a server that never answers
QUIET = "[feedback]\nsounds = false\nnotify = false\n"


def history(env: dict[str, str]) -> list[dict[str, object]]:
    result = proc.run(["history", "--json"], env)
    assert result.returncode == 0, result.stderr
    return sorted(json.loads(result.stdout), key=lambda e: int(e["id"]))  # type: ignore[call-overload]


def wait_for_entries(env: dict[str, str], count: int, timeout: float = 30) -> list[dict[str, object]]:
    """The history once it lists `count` dictations (each one spooled)."""
    deadline = time.monotonic() + timeout
    while len(entries := history(env)) < count:
        assert time.monotonic() < deadline, f"never {count} dictations in the history: {entries}"
        time.sleep(0.1)
    return entries


def ctl(env: dict[str, str], action: str, *args: str) -> str:
    result = proc.run(["ctl", action, *args], env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def wait_state(env: dict[str, str], state: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not ctl(env, "status").startswith(state):
        assert time.monotonic() < deadline, f"never {state}"
        time.sleep(0.05)


def dictate_once_by_ctl(env: dict[str, str], vmic: VirtualMic, clip: Path) -> None:
    ctl(env, "start")
    wait_state(env, "recording")
    vmic.play(clip)
    ctl(env, "stop")


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_a_daemon_whose_server_hangs_stops_and_keeps_everything(
    home: Path, mic_env: dict[str, str], vmic: VirtualMic, clip: Callable[[str], Path], how: str
) -> None:
    with TranscriptionServer(text=TEXT) as server:
        write_config(
            home,
            f'[api]\nbase_url = "{server.base_url}"\ntimeout = 900\nmax_retries = 0\n'
            f'[output]\nmethod = "stdout"\n{QUIET}',
        )
        server.queue(HANG, HANG)
        daemon = proc.Running(["run", "--no-hotkey"], mic_env, stdin=None)
        try:
            daemon.wait_for_stderr("ready", timeout=30)
            dictate_once_by_ctl(mic_env, vmic, clip(PHRASE))
            server.wait_for_uploads(1)  # the first is up, and its server hangs
            dictate_once_by_ctl(mic_env, vmic, clip("and a second one behind it"))
            # The second is on disk, and on its way, while the first still waits for its answer.
            spooled = wait_for_entries(mic_env, 2)
            assert all(Path(str(e["audio_path"])).exists() for e in spooled)
            assert len(server.wait_for_uploads(2)) == 2
            daemon.proc.send_signal(getattr(signal, how))
            code, out, err = daemon.finish(timeout=15)  # not the 600 s the server would take
        finally:
            daemon.kill()
        assert out == ""
        if how == "SIGKILL":
            assert code == -signal.SIGKILL
        else:
            assert code == 0, err
            assert (
                "stopped before 2 dictation(s) were delivered: 2 not transcribed are in the spool: "
                "`dictate retry --all` sends them" in err
            )
        kept = history(mic_env)
        assert [e["status"] for e in kept] == (["queued"] * 2 if how == "SIGKILL" else ["failed"] * 2)
        assert all(Path(str(e["audio_path"])).exists() for e in kept)
        if how == "SIGTERM":
            # The next daemon's background retry sends both; it keeps their text, and types nothing.
            again = proc.Running(["run", "--no-hotkey"], mic_env, stdin=None)
            try:
                again.wait_for_stderr("dictation 2 recovered", timeout=60)
            finally:
                again.proc.terminate()
                code, out, err = again.finish(timeout=30)
            assert code == 0 and out == "", err
            assert [(e["status"], e["text"]) for e in history(mic_env)] == [("done", TEXT)] * 2
        else:
            # The next `dictate retry --all` sends both, in order; nothing is lost, nothing typed twice.
            retry = proc.run(["retry", "--all"], mic_env)
            assert retry.returncode == 0, retry.stderr
            assert retry.stdout == f"{TEXT}\n{TEXT}\n"
            assert [e["status"] for e in history(mic_env)] == ["delivered", "delivered"]


def test_notes_whose_server_hangs_stop_at_ctrl_c_and_keep_the_utterance(
    home: Path, mic_env: dict[str, str], vmic: VirtualMic, clip: Callable[[str], Path], tmp_path: Path
) -> None:
    with TranscriptionServer(text=TEXT) as server:
        write_config(
            home,
            f'[api]\nbase_url = "{server.base_url}"\ntimeout = 900\nmax_retries = 0\n[notes]\npause_seconds = 0.8\n',
        )
        server.queue(HANG)
        notes = proc.Running(["notes", str(tmp_path / "notes.md"), "--no-hotkey"], mic_env)
        try:
            notes.wait_for_stderr("listening")
            vmic.play(clip(PHRASE))
            server.wait_for_uploads(1)
            notes.proc.send_signal(signal.SIGINT)
            code, _, err = notes.finish(timeout=15)
        finally:
            notes.kill()
        assert code == 0, err
        assert "stopped with 1 utterance(s) not transcribed yet; they are in the spool" in err
        (entry,) = history(mic_env)
        assert entry["status"] in ("queued", "failed") and Path(str(entry["audio_path"])).exists()
        retry = proc.run(["retry", "--all"], mic_env)
        assert retry.returncode == 0 and retry.stdout == f"{TEXT}\n", retry.stderr


@pytest.mark.parametrize("mode", ["hold", "toggle"])
def test_max_seconds_ends_a_recording_of_the_real_daemon_and_the_next_one_works(
    home: Path, vmic: VirtualMic, xdisplay: VirtualDisplay, clip: Callable[[str], Path], mode: str
) -> None:
    env = proc.clean_env(home, {**vmic.env, "DISPLAY": xdisplay.name})
    with TranscriptionServer(text=TEXT) as server:
        write_config(
            home,
            f'[api]\nbase_url = "{server.base_url}"\n[audio]\nmax_seconds = 1\nincremental = false\n'
            f'[hotkey]\nkeys = "f9"\nmode = "{mode}"\n[output]\nmethod = "stdout"\n{QUIET}',
        )
        daemon = proc.Running(["run"], env, stdin=None)
        try:
            daemon.wait_for_stderr("ready", timeout=30)
            xdisplay.xdotool("keydown", "F9") if mode == "hold" else xdisplay.xdotool("key", "F9")
            wait_state(env, "recording")
            vmic.play(clip(PHRASE))  # 2.5 s of speech: longer than the limit
            daemon.wait_for_stderr("reached [audio] max_seconds")
            wait_state(env, "idle")  # ended by the limit, the key still down in hold mode
            (first,) = server.wait_for_uploads(1)
            assert first.seconds == pytest.approx(1.0, abs=0.05)
            if mode == "hold":
                xdisplay.xdotool("keyup", "F9")  # the release that follows changes nothing
            # The next dictation works.
            xdisplay.xdotool("keydown", "F9") if mode == "hold" else xdisplay.xdotool("key", "F9")
            wait_state(env, "recording")
            vmic.play(clip("again"))
            xdisplay.xdotool("keyup", "F9") if mode == "hold" else xdisplay.xdotool("key", "F9")
            assert len(server.wait_for_uploads(2)) == 2
            wait_state(env, "idle; queued 0; delivered 2")
            daemon.proc.send_signal(signal.SIGTERM)
            code, out, err = daemon.finish(timeout=30)
        finally:
            daemon.kill()
    assert code == 0, err
    assert out == f"{TEXT}\n" * 2  # the stdout output prints each text as one line
    assert "Traceback" not in err


def once_alone(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`dictate once` with nobody at the keyboard (stdin cannot stop it) and nobody speaking."""
    return subprocess.run(
        proc.dictate_cmd("once"),
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=proc.ROOT,
    )


def test_once_with_nobody_speaking_gives_up(home: Path, mic_env: dict[str, str]) -> None:
    with TranscriptionServer(text=TEXT) as server:
        write_config(home, f'[api]\nbase_url = "{server.base_url}"\n[audio]\nno_speech_timeout = 1\n')
        result = once_alone(mic_env)
        assert result.returncode == 1 and result.stdout == ""
        assert "dictate: no speech heard in 1 s ([audio] no_speech_timeout); nothing sent" in result.stderr
        write_config(home, f'[api]\nbase_url = "{server.base_url}"\n')  # the default: 10 s, not max_seconds
        result = once_alone(mic_env)
        assert result.returncode == 1 and "no speech heard in 10 s" in result.stderr
        assert server.uploads == []


def test_a_shell_binding_with_nobody_speaking_leaves_the_line_alone(
    home: Path,
    open_prompt: Callable[..., Terminal],  # noqa: F811 - the fixture imported above
) -> None:
    with TranscriptionServer(text=TEXT) as server:
        write_config(home, f'[api]\nbase_url = "{server.base_url}"\n[audio]\nno_speech_timeout = 1\n')
        terminal = open_prompt()
        type_line_with_cursor_inside(terminal)
        terminal.keys("C-x", "C-v")
        terminal.wait_for_text("no speech heard in 1 s")
        terminal.type("Z")
        lines = terminal.wait_for_line(f"{PROMPT}echo aZb")
        assert prompt_lines(lines) == [f"{PROMPT}echo aZb"], lines
        assert server.uploads == []


def test_ctrl_c_while_once_waits_for_a_hanging_server_leaves_at_once_and_keeps_it(
    home: Path, mic_env: dict[str, str], vmic: VirtualMic, clip: Callable[[str], Path]
) -> None:
    with TranscriptionServer(text=TEXT) as server:
        write_config(
            home,
            f'[api]\nbase_url = "{server.base_url}"\ntimeout = 900\nmax_retries = 0\n[audio]\nsilence_seconds = 0.8\n',
        )
        server.queue(HANG)
        once = proc.Running(["once"], mic_env)
        try:
            once.wait_for_stderr("recording")
            vmic.play(clip(PHRASE))
            once.wait_for_stderr("transcribing")
            server.wait_for_uploads(1)
            once.proc.send_signal(signal.SIGINT)
            code, out, err = once.finish(timeout=15)  # the interpreter's exit does not join the upload
        finally:
            once.kill()
        assert code == 130 and out == ""
        assert "interrupted; the recording is saved: `dictate retry 1`" in err
        retry = proc.run(["retry", "1"], mic_env)
        assert retry.returncode == 0 and retry.stdout == f"{TEXT}\n", retry.stderr
