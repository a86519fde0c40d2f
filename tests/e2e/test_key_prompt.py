"""`dictate key set` at a terminal: a prompt that does not show what is typed (bash in tmux)."""

from __future__ import annotations

import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import rig_unavailable
from tests.e2e.test_shell import PROMPT, Terminal, bin_dir, prompt_lines, shell_command, workdir
from tests.rig import proc

pytestmark = pytest.mark.rig

__all__ = ["bin_dir", "workdir"]  # fixtures shared with test_shell

KEY = "sk-typed-at-the-prompt-0123456789"


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    if shutil.which("tmux") is None:
        rig_unavailable("tmux is not installed (apt-get install tmux)")
    term = Terminal(tmp_path)
    yield term
    term.stop()


def test_the_key_typed_at_the_prompt_is_not_shown_and_is_stored(
    home: Path, bin_dir: Path, workdir: Path, terminal: Terminal
) -> None:
    env = proc.clean_env(home)
    env.update(PATH=f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}", LANG="C.UTF-8", TERM="screen", SHELL="/bin/sh")
    terminal.start(shell_command("bash", home, ""), workdir, env)
    terminal.wait_for(lambda lines: prompt_lines(lines) == [PROMPT.rstrip()], "the first prompt")
    terminal.type("dictate key set")
    terminal.keys("Enter")
    terminal.wait_for_text("API key (not shown):")
    terminal.type(KEY)
    terminal.keys("Enter")
    path = home / ".config" / "dictate" / "api-key"
    lines = terminal.wait_for_text(f"dictate: key stored in {path} (readable only by you)")
    assert not any(KEY[:8] in line for line in lines)
    assert path.read_text() == KEY + "\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
