"""The stored key: where it lives, written whole and private, read back, and checked when read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dictate import ConfigError
from dictate.config import from_dict
from dictate.config.keyfile import key_file_problem, key_path, read_key, remove_key, write_key
from dictate.config.secrets import api_key


def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}


def test_written_private_and_whole_in_a_private_folder(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = write_key("sk-one-0123456789", env(tmp_path))
    finally:
        os.umask(old)
    assert path == key_path(env(tmp_path)) == tmp_path / "cfg" / "dictate" / "api-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_key(env(tmp_path)) == "sk-one-0123456789\n"
    write_key("sk-two-0123456789", env(tmp_path))
    assert read_key(env(tmp_path)) == "sk-two-0123456789\n" and os.listdir(path.parent) == ["api-key"]
    assert remove_key(env(tmp_path)) == path and remove_key(env(tmp_path)) is None
    assert read_key(env(tmp_path)) is None


def test_the_lookup_order(tmp_path: Path) -> None:
    """DICTATE_API_KEY > the variable named by api_key_env > the stored key > [api] api_key."""
    write_key("stored-key-0123456789", env(tmp_path))
    cfg = from_dict({"api": {"api_key": "file-key-0123456789", "api_key_env": "MY_KEY"}}, tmp_path / "c.toml")
    stored = f"the stored key ({key_path(env(tmp_path))})"
    assert api_key(cfg, {**env(tmp_path), "DICTATE_API_KEY": "a-key-0123"}) == ("a-key-0123", "DICTATE_API_KEY")
    assert api_key(cfg, {**env(tmp_path), "MY_KEY": "b-key-0123"}) == ("b-key-0123", "MY_KEY")
    assert api_key(cfg, {**env(tmp_path), "MY_KEY": "  "}) == ("stored-key-0123456789", stored)
    remove_key(env(tmp_path))
    assert api_key(cfg, env(tmp_path)) == ("file-key-0123456789", f"[api] api_key in {tmp_path / 'c.toml'}")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"two words", "the API key from the stored key ({path}) has a space"),
        (b"\xff\xfe", "{path} is not text; run `dictate key set` again"),
        (b"k" * 5000, "the stored key {path} is over 4096 bytes; nothing was read; run `dictate key set` again"),
    ],
)
def test_a_stored_key_that_cannot_be_one_is_refused_naming_the_file(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = key_path(env(tmp_path))
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        api_key(from_dict({}), env(tmp_path))
    assert message.format(path=path) in info.value.message
    assert "two words" not in info.value.message


def test_a_stored_key_others_can_read_or_change_is_a_problem(tmp_path: Path) -> None:
    path = write_key("sk-mode-0123456789", env(tmp_path))
    assert key_file_problem(env(tmp_path)) is None
    for mode in (0o644, 0o604, 0o602):  # others may read or write (a private group would not count)
        path.chmod(mode)
        problem = key_file_problem(env(tmp_path))
        assert problem is not None and problem.endswith(f"run: chmod 600 {path}") and "sk-mode" not in problem


def test_a_stored_key_of_another_user_is_refused_and_none_is_stored_in_her_folder(tmp_path: Path) -> None:
    """Her file where ours should be, or a link to it: her key is not sent under our name (chown needs root)."""
    path = key_path(env(tmp_path))
    path.parent.mkdir(parents=True)
    hers = tmp_path / "hers"
    hers.write_text("sk-her-key-0123456789\n")
    os.chown(hers, 65534, 65534)
    path.symlink_to(hers)
    with pytest.raises(ConfigError) as info:
        api_key(from_dict({}), env(tmp_path))
    assert info.value.message == (
        f"refusing the stored key {path}: it belongs to user nobody (uid 65534), not to you; "
        "remove it, then run `dictate key set`"
    )
    path.unlink()
    os.chown(path.parent, 65534, 65534)
    with pytest.raises(ConfigError) as refused:
        write_key("sk-mine-0123456789", env(tmp_path))
    assert refused.value.message == (
        f"refusing to store the key in {path.parent}: it belongs to user nobody (uid 65534), not to you"
    )
    assert not path.exists()


@pytest.mark.parametrize("kind", ["pipe", "endless"])
def test_a_stored_key_that_never_ends_is_one_line(tmp_path: Path, kind: str) -> None:
    path = key_path(env(tmp_path))
    path.parent.mkdir(parents=True)
    if kind == "pipe":
        os.mkfifo(path)  # nobody writes: it once waited for ever
        expected = "nothing came for 5 s (a pipe with no writer?)"
    else:
        path.symlink_to("/dev/zero")
        expected = "is over 4096 bytes"
    with pytest.raises(ConfigError) as info:
        api_key(from_dict({}), env(tmp_path))
    assert expected in info.value.message and info.value.message.endswith("run `dictate key set` again")
