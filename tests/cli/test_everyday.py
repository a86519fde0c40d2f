"""`dictate key`, `dictate service` (the files it writes, without a manager) and `dictate completion`, as
a user meets them: real subprocesses, the local server that requires a key."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.rig import proc
from tests.rig.server import TranscriptionServer

KEY = "sk-stored-key-0123456789abcdef"


@pytest.fixture
def speech(clip: Callable[[str], Path]) -> Path:
    return clip("hello from the command line")


def test_a_key_set_through_a_pipe_is_used_by_a_fresh_process_with_no_variables(
    home: Path, user_env: dict[str, str], speech: Path
) -> None:
    with TranscriptionServer(text="authenticated", key=KEY) as server:
        write_config(home, f'[api]\nbase_url = "{server.base_url}"\n')
        before = proc.run(["transcribe", str(speech)], user_env)
        assert before.returncode == 1 and "HTTP 401" in before.stderr and "`dictate key set`" in before.stderr
        stored = proc.run(["key", "set"], user_env, input=KEY + "\n")  # as `echo "$KEY" | dictate key set`
        path = home / ".config" / "dictate" / "api-key"
        assert (stored.returncode, stored.stdout) == (0, ""), stored.stderr
        assert stored.stderr == f"dictate: key stored in {path} (readable only by you)\n"
        assert "OPENAI_API_KEY" not in user_env and "DICTATE_API_KEY" not in user_env
        after = proc.run(["transcribe", str(speech)], user_env)
        assert (after.returncode, after.stdout) == (0, "authenticated\n"), after.stderr
        assert server.uploads[-1].headers["authorization"] == f"Bearer {KEY}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == KEY + "\n"
    check = proc.run(["config", "check"], user_env)
    assert check.stdout.endswith(f"API key: from the stored key ({path})\n")
    for result in (stored, after, check):
        assert KEY not in result.stdout + result.stderr


def test_the_folder_is_created_private_and_the_file_replaced_whole(home: Path, user_env: dict[str, str]) -> None:
    assert proc.run(["key", "set"], user_env, input="first-key-0123456789").returncode == 0
    folder = home / ".config" / "dictate"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert proc.run(["key", "set"], user_env, input="second-key-0123456789").returncode == 0
    assert sorted(os.listdir(folder)) == ["api-key"]  # no temporary file left beside it
    assert (folder / "api-key").read_text() == "second-key-0123456789\n"


def test_a_variable_wins_over_the_stored_key_and_says_so(home: Path, user_env: dict[str, str]) -> None:
    env = {**user_env, "OPENAI_API_KEY": "sk-from-the-environment-0123456789"}
    stored = proc.run(["key", "set"], env, input=KEY)
    assert stored.returncode == 0
    assert "note: $OPENAI_API_KEY is set in this shell and is used before the stored key" in stored.stderr
    assert proc.run(["config", "check"], env).stdout.endswith("API key: from OPENAI_API_KEY\n")


def test_key_path_and_clear(home: Path, user_env: dict[str, str]) -> None:
    path = home / ".config" / "dictate" / "api-key"
    shown = proc.run(["key", "path"], user_env)
    assert (shown.returncode, shown.stdout, shown.stderr) == (0, f"{path}\n", "")
    assert proc.run(["key", "set"], user_env, input=KEY).returncode == 0
    cleared = proc.run(["key", "clear"], user_env)
    assert (cleared.returncode, cleared.stderr) == (0, f"dictate: removed the stored key {path}\n")
    assert not path.exists()
    again = proc.run(["key", "clear"], user_env)
    assert (again.returncode, again.stderr) == (0, f"dictate: no key is stored ({path} does not exist)\n")
    assert proc.run(["config", "check"], user_env).stdout.endswith("API key: not set\n")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "dictate: no key on standard input; nothing stored"),
        ("  \n", "dictate: no key on standard input; nothing stored"),
        ("two words", "dictate: the API key from standard input has a space, a control character or a non-ASCII"),
        ("line\nline", "dictate: the API key from standard input has a space"),
        ("x" * 5000, "dictate: standard input holds over 4096 bytes: that is not a key; nothing stored"),
    ],
)
def test_what_cannot_be_a_key_is_refused_and_nothing_stored(
    home: Path, user_env: dict[str, str], given: str, message: str
) -> None:
    result = proc.run(["key", "set"], user_env, input=given)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert not (home / ".config" / "dictate" / "api-key").exists()


def test_a_stored_key_others_can_read_is_warned_about(home: Path, user_env: dict[str, str]) -> None:
    assert proc.run(["key", "set"], user_env, input=KEY).returncode == 0
    path = home / ".config" / "dictate" / "api-key"
    path.chmod(0o644)
    check = proc.run(["config", "check"], user_env)
    assert check.returncode == 0
    assert f"warning: {path} holds your API key and other users can read or change it (mode 0644); " in check.stderr
    assert f"run: chmod 600 {path}" in check.stderr and KEY not in check.stderr


def test_a_stored_key_that_is_not_text_is_one_line(home: Path, user_env: dict[str, str]) -> None:
    path = home / ".config" / "dictate" / "api-key"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xfe\x00key")
    path.chmod(0o600)
    check = proc.run(["config", "check"], user_env)
    assert check.returncode == 2
    assert check.stderr == f"dictate: {path} is not text; run `dictate key set` again\n"


def test_the_config_init_hints_keep_the_config_that_was_given(tmp_path: Path, user_env: dict[str, str]) -> None:
    config = tmp_path / "my dictate.toml"
    missing = proc.run(["--config", str(config), "config", "check"], user_env)
    assert missing.returncode == 2
    assert missing.stderr.endswith(f"create it with `dictate --config '{config}' config init`\n")
    assert proc.run(["--config", str(config), "config", "init"], user_env).returncode == 0
    again = proc.run(["--config", str(config), "config", "init"], user_env)
    assert again.returncode == 2
    assert again.stderr == (
        f"dictate: {config} already exists; use `dictate --config '{config}' config init --force` to overwrite it\n"
    )


def test_the_unit_is_written_even_when_no_manager_answers(home: Path, user_env: dict[str, str]) -> None:
    """Enabling needs a user manager (a session bus); writing the unit does not."""
    env = {k: v for k, v in user_env.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    result = proc.run(["service", "install", "--systemd"], env)
    unit = home / ".config" / "systemd" / "user" / "dictate.service"
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"dictate: wrote the systemd user unit {unit}, but `systemctl --user daemon-reload` failed ("
    )
    assert line.endswith("); run `systemctl --user enable --now dictate.service` in your desktop session")
    assert "ExecStart=" in unit.read_text() and not (home / ".config" / "autostart").exists()
