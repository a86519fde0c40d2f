from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs
import pytest

from dictate.config.paths import APP, config_path, data_dir, runtime_dir
from dictate.errors import ConfigError, DictateError


def test_config_path_precedence(tmp_path: Path) -> None:
    env = {"DICTATE_CONFIG": str(tmp_path / "env.toml"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert config_path("cli.toml", env) == (Path("cli.toml"), "--config")
    assert config_path(None, env) == (tmp_path / "env.toml", "DICTATE_CONFIG")
    del env["DICTATE_CONFIG"]
    assert config_path(None, env) == (tmp_path / "xdg" / "dictate" / "config.toml", "default location")
    assert config_path(None, {"HOME": str(tmp_path)}) == (
        tmp_path / ".config" / "dictate" / "config.toml",
        "default location",
    )


def test_config_path_expands_the_home_folder() -> None:
    assert config_path("~/cli.toml", {}) == (Path.home() / "cli.toml", "--config")
    assert config_path(None, {"DICTATE_CONFIG": "~/env.toml"}) == (Path.home() / "env.toml", "DICTATE_CONFIG")


@pytest.mark.parametrize(
    ("kind", "variable", "under_home"),
    [("config", "XDG_CONFIG_HOME", ".config"), ("data", "XDG_DATA_HOME", ".local/share")],
)
def test_xdg_variable_wins_over_home_only_when_absolute(
    tmp_path: Path, kind: str, variable: str, under_home: str
) -> None:
    def folder(environ: dict[str, str]) -> Path:
        return config_path(None, environ)[0].parent if kind == "config" else data_dir(environ)

    home = tmp_path / "passed-home"  # not the process HOME the conftest sets
    assert folder({"HOME": str(home), variable: str(tmp_path / "xdg")}) == tmp_path / "xdg" / APP
    assert folder({"HOME": str(home), variable: "relative/xdg"}) == home / under_home / APP
    assert folder({"HOME": str(home), variable: ""}) == home / under_home / APP
    assert folder({"HOME": str(home)}) == home / under_home / APP


def test_the_environ_passed_in_wins_over_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "process-home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "process-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "process-data"))
    passed = {"XDG_CONFIG_HOME": str(tmp_path / "passed-config"), "XDG_DATA_HOME": str(tmp_path / "passed-data")}
    assert config_path(None, passed)[0] == tmp_path / "passed-config" / APP / "config.toml"
    assert data_dir(passed) == tmp_path / "passed-data" / APP
    home_only = {"HOME": str(tmp_path / "passed-home")}
    assert config_path(None, home_only)[0] == tmp_path / "passed-home" / ".config" / APP / "config.toml"
    assert data_dir(home_only) == tmp_path / "passed-home" / ".local" / "share" / APP


def test_the_process_environment_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert config_path() == (tmp_path / "config" / APP / "config.toml", "default location")
    assert data_dir() == tmp_path / "data" / APP
    monkeypatch.setenv("DICTATE_CONFIG", str(tmp_path / "chosen.toml"))
    assert config_path() == (tmp_path / "chosen.toml", "DICTATE_CONFIG")


@pytest.mark.parametrize("xdg", ["absolute", None])
def test_the_process_environment_gets_platformdirs_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xdg: str | None
) -> None:
    """With the process environment, the XDG and HOME steps agree with platformdirs' Linux convention."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        if xdg:
            monkeypatch.setenv(variable, str(tmp_path / variable))
        else:
            monkeypatch.delenv(variable, raising=False)
    assert config_path()[0].parent == Path(platformdirs.user_config_dir(APP, appauthor=False))
    assert data_dir() == Path(platformdirs.user_data_dir(APP, appauthor=False))


def test_without_xdg_or_home_in_the_environ_platformdirs_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "process-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "process-data"))
    assert config_path(None, {})[0] == tmp_path / "process-config" / APP / "config.toml"
    assert data_dir({}) == tmp_path / "process-data" / APP


@pytest.fixture
def shared_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temp folder everyone writes to, as tempfile.gettempdir() gives it."""
    folder = tmp_path / "tmp"
    folder.mkdir(mode=0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_runtime_dir_is_xdg_runtime_dir_when_it_is_private(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    assert runtime_dir({"XDG_RUNTIME_DIR": str(run)}) == run
    assert runtime_dir({"XDG_RUNTIME_DIR": str(tmp_path / "missing")}) == tmp_path / "missing"  # nobody runs there
    created = runtime_dir({"XDG_RUNTIME_DIR": str(tmp_path / "new")}, create=True)
    assert created.is_dir() and created.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("open", "is open to others (mode 0755, must be 0700)"),
        ("symlink", "is a symbolic link, not a folder"),
        ("file", "is not a folder"),
    ],
)
def test_an_xdg_runtime_dir_that_is_not_private_is_refused(tmp_path: Path, case: str, problem: str) -> None:
    run = tmp_path / "run"
    if case == "open":
        run.mkdir()
        run.chmod(0o755)
    elif case == "symlink":
        (tmp_path / "real").mkdir(mode=0o700)
        run.symlink_to(tmp_path / "real")
    else:
        run.write_text("")
    with pytest.raises(ConfigError) as info:
        runtime_dir({"XDG_RUNTIME_DIR": str(run)}, create=True)
    assert info.value.message == f"XDG_RUNTIME_DIR {run} {problem}; fix it, or unset XDG_RUNTIME_DIR"


def test_the_fallback_folder_is_created_private(shared_tmp: Path) -> None:
    folder = runtime_dir({}, create=True)
    assert folder == shared_tmp / f"dictate-{os.getuid()}"
    info = folder.lstat()
    assert (info.st_uid, info.st_mode & 0o7777) == (os.getuid(), 0o700)
    assert runtime_dir({}) == folder  # checked again, and fine
    assert runtime_dir({"XDG_RUNTIME_DIR": "relative/run"}) == folder  # a relative value is ignored


@pytest.mark.parametrize("case", ["open to all", "a symlink", "another user's"])
def test_a_fallback_folder_that_is_not_ours_and_private_is_refused(shared_tmp: Path, case: str) -> None:
    folder = shared_tmp / f"dictate-{os.getuid()}"
    if case == "open to all":
        folder.mkdir()
        folder.chmod(0o777)
        problem = "is open to others (mode 0777, must be 0700)"
    elif case == "a symlink":
        (shared_tmp / "elsewhere").mkdir(mode=0o700)
        folder.symlink_to(shared_tmp / "elsewhere")
        problem = "is a symbolic link, not a folder"
    else:
        if os.geteuid() != 0:
            pytest.skip("giving a folder to another user needs root")
        folder.mkdir(mode=0o700)
        os.chown(folder, 65534, 65534)
        problem = "belongs to user nobody (uid 65534), not to you"
    for create in (True, False):
        with pytest.raises(DictateError) as info:
            runtime_dir({}, create=create)
        assert info.value.message.startswith(f"the runtime folder {folder} {problem}; ")
        assert "set XDG_RUNTIME_DIR to a private folder" in info.value.message
        assert info.value.exit_code == 1
