"""The stored API key (`dictate key set|clear|path`): one file, mode 0600, in the user's config folder.

Written all or nothing (a private temporary file beside it, synced, then renamed over it), in a folder
created 0700. Its permissions are checked each time it is read, as the config file's are
(`secrets.insecure_permissions_warning`). What a key may contain is checked by `secrets.clean_key`,
the same for every source.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from dictate.config.paths import config_dir, owner_name
from dictate.errors import ConfigError, DictateError
from dictate.files import read_small, replace_file, sync_folder

KEY_FILE = "api-key"
MAX_KEY_BYTES = 4096  # far above any provider's key; a file bigger than this is not a key


def key_path(environ: Mapping[str, str] = os.environ) -> Path:
    """Where `dictate key set` keeps the key: api-key in the user config folder (~/.config/dictate)."""
    return config_dir(environ) / KEY_FILE


def read_key(environ: Mapping[str, str] = os.environ) -> str | None:
    """The stored key as written (not yet cleaned), or None when none is stored. A file of another
    user's (or a link to one) is refused: her key is not sent under our name."""
    path = key_path(environ)
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the stored key {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{path} is a folder, not a stored key; remove it, then run `dictate key set`")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ConfigError(
            f"refusing the stored key {path}: it belongs to {owner_name(info.st_uid)}, not to you; "
            "remove it, then run `dictate key set`"
        )
    try:
        data = read_small(str(path), "the stored key", MAX_KEY_BYTES)
    except DictateError as exc:
        raise ConfigError(f"{exc.message}; run `dictate key set` again") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not text; run `dictate key set` again") from None


def write_key(key: str, environ: Mapping[str, str] = os.environ) -> Path:
    """Store `key` (already cleaned), replacing any stored one; return where it went."""
    path = key_path(environ)
    folder = path.parent
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        owner = folder.stat().st_uid
    except OSError as exc:
        raise ConfigError(f"cannot create {folder}: {exc.strerror or exc}") from None
    if hasattr(os, "getuid") and owner != os.getuid():  # she could read it, or swap it for her own
        raise ConfigError(f"refusing to store the key in {folder}: it belongs to {owner_name(owner)}, not to you")
    try:
        replace_file(path, key.encode("utf-8") + b"\n", 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot store the key in {path}: {exc.strerror or exc}") from None
    return path


def remove_key(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Remove the stored key; the path it was at, or None when none was stored."""
    path = key_path(environ)
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot remove the stored key {path}: {exc.strerror or exc}") from None
    sync_folder(path.parent)
    return path


def key_file_problem(environ: Mapping[str, str] = os.environ) -> str | None:
    """What is unsafe about the stored key's file, or None: readable or writable by others. Same
    rule as for the config file: a user-private group does not count as others."""
    from dictate.config.secrets import others_may

    if os.name != "posix":
        return None
    path = key_path(environ)
    try:
        info = path.stat()
    except OSError:
        return None
    if others_may(info, stat.S_IRGRP, stat.S_IROTH) or others_may(info, stat.S_IWGRP, stat.S_IWOTH):
        return (
            f"{path} holds your API key and other users can read or change it "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}"
        )
    return None
