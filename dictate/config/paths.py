"""Where dictate's files live: the config file, the data folder (history, audio spool), the runtime folder.

Every function takes the environment as a mapping (the process's by default), so callers and tests can
redirect the folders without touching os.environ.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import platformdirs

from dictate.errors import ConfigError, DictateError

APP = "dictate"

# kind -> (the XDG variable that overrides the folder, the folder under $HOME otherwise)
_XDG = {
    "config": ("XDG_CONFIG_HOME", ".config"),
    "data": ("XDG_DATA_HOME", ".local/share"),
    "state": ("XDG_STATE_HOME", ".local/state"),
}


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


def init_command(cli_path: str | None = None, *, force: bool = False) -> str:
    """The command that writes a fresh config file where this one is looked for (with --config
    when it was given: $DICTATE_CONFIG is still set in the same shell)."""
    import shlex

    where = f"--config {shlex.quote(cli_path)} " if cli_path else ""
    return f"dictate {where}config init" + (" --force" if force else "")


def config_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The user config folder (see `_user_dir`: ~/.config/dictate on Linux), where the stored key lives."""
    return _user_dir("config", environ)


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where history and the audio spool live (see `_user_dir`: ~/.local/share/dictate on Linux)."""
    return _user_dir("data", environ)


def state_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the log of a daemon started in the background lives (~/.local/state/dictate on Linux)."""
    return _user_dir("state", environ)


def runtime_dir(environ: Mapping[str, str] = os.environ, *, create: bool = False) -> Path:
    """Where the control socket lives, checked to be private (`private_dir_problem`) each time it is asked for.

    1. $XDG_RUNTIME_DIR, when it is an absolute path (the XDG spec says it is the user's own, mode 0700:
       that is checked, not trusted)
    2. dictate-<uid> in the temp folder, which anyone can write to: we create it (with `create`) mode
       0700 and accept it only when it is ours and private, so a folder another user made first
       cannot catch our socket
    """
    base = environ.get("XDG_RUNTIME_DIR")
    if base and Path(base).is_absolute():
        folder = Path(base)
        if create and not os.path.lexists(folder):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        problem = private_dir_problem(folder) if os.path.lexists(folder) else None
        if problem:
            raise ConfigError(f"XDG_RUNTIME_DIR {folder} {problem}; fix it, or unset XDG_RUNTIME_DIR")
        return folder
    folder = Path(tempfile.gettempdir()) / f"{APP}-{_uid() if _uid() is not None else 'user'}"
    if create:
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass  # checked below like any other
        except OSError as exc:
            raise DictateError(f"cannot create the runtime folder {folder}: {exc.strerror or exc}") from None
    problem = private_dir_problem(folder) if os.path.lexists(folder) else None
    if problem:
        raise DictateError(
            f"the runtime folder {folder} {problem}; it may be a trap set by another user: "
            "set XDG_RUNTIME_DIR to a private folder of yours (mode 0700), or have it removed"
        )
    return folder


def private_dir_problem(folder: Path) -> str | None:
    """What makes `folder` unsafe for our socket, or None: it must be a real folder (not a symlink),
    owned by us, with no access for group or others. One lstat, so a symlink is seen as one."""
    uid = _uid()
    if uid is None:
        return None  # no owners to compare (Windows); AF_UNIX there lives in the user's profile
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be examined ({exc.strerror or exc})"
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link, not a folder"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a folder"
    if info.st_uid != uid:
        return f"belongs to {owner_name(info.st_uid)}, not to you"
    if info.st_mode & 0o077:
        return f"is open to others (mode {stat.S_IMODE(info.st_mode):04o}, must be 0700)"
    return None


def owner_name(uid: int) -> str:
    """'user alice (uid 1001)', or 'uid 1001' when the name is unknown."""
    try:
        import pwd

        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _uid() -> int | None:
    return os.getuid() if hasattr(os, "getuid") else None


def _user_dir(kind: str, environ: Mapping[str, str]) -> Path:
    """The per-user folder for `kind` ("config", "data" or "state"); the first step that gives an answer wins.

    On Linux and the BSDs, from `environ` (platformdirs reads only the process environment, so these
    two steps come first to let a mapping passed in win):
    1. $XDG_CONFIG_HOME/dictate ($XDG_DATA_HOME for data, $XDG_STATE_HOME for state), when the value
       is an absolute path (the XDG spec says relative values are to be ignored)
    2. $HOME/.config/dictate ($HOME/.local/share/dictate for data, $HOME/.local/state/dictate for
       state), when HOME is an absolute path
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
        if home and Path(home).is_absolute():  # a relative one would move with the working folder
            return Path(home) / under_home / APP
    getters = {
        "config": platformdirs.user_config_dir,
        "data": platformdirs.user_data_dir,
        "state": platformdirs.user_state_dir,
    }
    return Path(getters[kind](APP, appauthor=False))
