"""Tab completion for real: bash, zsh and fish in tmux complete dictate's commands and their choices,
with the script loaded as printed by `dictate completion SHELL`, and as `dictate completion --install`
puts it where each shell looks (bash-completion's user folder, zsh's fpath, fish's completions)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dictate import shellinit
from tests.conftest import rig_unavailable
from tests.e2e.test_shell import PROMPT, Terminal, bin_dir, prompt_lines, shell_command, workdir
from tests.rig import proc

pytestmark = pytest.mark.rig

__all__ = ["bin_dir", "workdir"]  # fixtures shared with test_shell

BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")

PRINTED = {
    "bash": "source <(dictate completion bash)",
    "zsh": 'autoload -U compinit && compinit -u\neval "$(dictate completion zsh)"',
    "fish": "dictate completion fish | source",
}
# What a user's startup file holds once `dictate completion --install` has run (bash-completion and
# fish find the files by themselves; zsh needs the folder on its fpath, as the install says).
INSTALLED = {
    "bash": f"source {BASH_COMPLETION}",
    "zsh": "fpath=(~/.local/share/zsh/site-functions $fpath)\nautoload -U compinit && compinit -u",
    "fish": "",
}


@pytest.fixture(params=shellinit.SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    import shutil

    name: str = request.param
    for tool in ("tmux", name):
        if shutil.which(tool) is None:
            rig_unavailable(f"{tool} is not installed (apt-get install {tool})")
    return name


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    yield term
    term.stop()


def open_shell(terminal: Terminal, shell: str, home: Path, bin_dir: Path, workdir: Path, load: str) -> Terminal:
    env = proc.clean_env(home)
    env.update(PATH=f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}", LANG="C.UTF-8", TERM="screen", SHELL="/bin/sh")
    for name in [n for n in env if n.startswith("LC_") or n in ("TMUX", "TMUX_PANE", "PROMPT_COMMAND")]:
        del env[name]
    terminal.start(shell_command(shell, home, load), workdir, env)
    terminal.wait_for(lambda lines: prompt_lines(lines) == [PROMPT.rstrip()], "the first prompt")
    return terminal


def completes(terminal: Terminal, typed: str, expected: str) -> None:
    """Type `typed`, press Tab, and see the line become `expected` (then clear the line)."""
    terminal.type(typed)
    terminal.keys("Tab")
    line = PROMPT + expected

    def done(lines: list[str]) -> bool:  # the screen's lines lose their trailing spaces: the cursor shows it
        return line.rstrip() in lines and terminal.tmux("display", "-p", "#{cursor_x}").strip() == str(len(line))

    terminal.wait_for(done, repr(expected))
    terminal.keys("C-u")  # clear the line (bash, zsh and fish alike)
    terminal.wait_for(lambda lines: prompt_lines(lines)[-1:] == [PROMPT.rstrip()], "an empty prompt")


@pytest.mark.parametrize("how", ["printed", "installed"])
def test_a_shell_completes_commands_and_choices(
    shell: str, how: str, home: Path, bin_dir: Path, workdir: Path, terminal: Terminal
) -> None:
    if how == "installed":
        if shell == "bash" and not BASH_COMPLETION.exists():
            rig_unavailable("bash-completion is not installed (apt-get install bash-completion)")
        result = proc.run(["completion", "--install"], proc.clean_env(home))
        assert result.returncode == 0, result.stderr
        load = INSTALLED[shell]
    else:
        load = PRINTED[shell]
    open_shell(terminal, shell, home, bin_dir, workdir, load)
    completes(terminal, "dictate transc", "dictate transcribe ")
    completes(terminal, "dictate ctl qu", "dictate ctl quit ")
    completes(terminal, "dictate service unin", "dictate service uninstall ")
