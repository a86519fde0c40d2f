from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs
import pytest

from dictate.config.paths import APP, config_path, data_dir, runtime_dir


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


def test_runtime_dir() -> None:
    assert runtime_dir({"XDG_RUNTIME_DIR": "/run/user/1234"}) == Path("/run/user/1234")
    assert runtime_dir({}) == Path(tempfile.gettempdir()) / f"dictate-{os.getuid()}"
