"""Where dictate's files live: the config file, the data folder (history, audio spool), the runtime folder.

Every function takes the environment as a mapping (the process's by default), so callers and tests can
redirect the folders without touching os.environ.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP = "dictate"

# kind -> (the XDG variable that overrides the folder, the folder under $HOME otherwise)
_XDG = {"config": ("XDG_CONFIG_HOME", ".config"), "data": ("XDG_DATA_HOME", ".local/share")}


def config_path(cli_path: str | None = None, environ: Mapping[str, str] = os.environ) -> tuple[Path, str]:
    """Return the config file path and where the choice came from.

    1. --config PATH
    2. $DICTATE_CONFIG
    3. config.toml in the user config folder (see `_user_dir`: ~/.config/dictate on Linux)
    """
    if cli_path:
        return Path(cli_path).expanduser(), "--config"
    if environ.get("DICTATE_CONFIG"):
        return Path(environ["DICTATE_CONFIG"]).expanduser(), "DICTATE_CONFIG"
    return _user_dir("config", environ) / "config.toml", "default location"


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where history and the audio spool live (see `_user_dir`: ~/.local/share/dictate on Linux)."""
    return _user_dir("data", environ)


def runtime_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the control socket lives: $XDG_RUNTIME_DIR, else a per-user folder in the temp dir."""
    base = environ.get("XDG_RUNTIME_DIR")
    if base:
        return Path(base)
    return Path(tempfile.gettempdir()) / f"{APP}-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def _user_dir(kind: str, environ: Mapping[str, str]) -> Path:
    """The per-user folder for `kind` ("config" or "data"); the first step that gives an answer wins.

    On Linux and the BSDs, from `environ` (platformdirs reads only the process environment, so these
    two steps come first to let a mapping passed in win):
    1. $XDG_CONFIG_HOME/dictate ($XDG_DATA_HOME for data), when the value is an absolute path
       (the XDG spec says relative values are to be ignored)
    2. $HOME/.config/dictate ($HOME/.local/share/dictate for data), when HOME is set and not empty
    Everywhere:
    3. platformdirs' user folder for the platform, e.g. ~/Library/Application Support/dictate on
       macOS, %LOCALAPPDATA%\\dictate on Windows
    """
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        variable, under_home = _XDG[kind]
        xdg = environ.get(variable)
        if xdg and Path(xdg).is_absolute():
            return Path(xdg) / APP
        home = environ.get("HOME")
        if home:
            return Path(home) / under_home / APP
    getter = platformdirs.user_config_dir if kind == "config" else platformdirs.user_data_dir
    return Path(getter(APP, appauthor=False))
