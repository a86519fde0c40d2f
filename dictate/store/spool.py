"""The spool's files: names, private folders and files, all-or-nothing writes under a lock, scanning.

A dictation's audio is one or more part files `<key>.<n>.<ext>` (n = 1, 2, ...; each part in the
upload format), its audio being its parts in order; the key `<UTC stamp>-<token>` names the
dictation. Spools written before parts existed hold one file `<key>.<ext>` (a WAV that grew in
place); they are read the same way, as a dictation of one part.

A write goes to a temp name (`.<name>.tmp`) first, so a file under its final name is always
complete; the writer holds an flock on the file from its creation, so a scan in another process can
tell a write in progress (locked) from the leftover of a writer that died (free). The lock lives as
long as the open file, so the kernel drops it when its process dies, however it dies. Nothing here
knows about the database: the History decides which files belong to which row.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locks, so no protection between processes
    fcntl = None  # type: ignore[assignment]

SPOOL_NAME = "spool"

# 20250102T030405678Z-1a2b3c4d: the UTC time the dictation was spooled, and a random token.
KEY = re.compile(r"\d{8}T\d{9}Z-[0-9a-f]{8}")
# <key>.<n>.<ext> for a part, <key>.<ext> for a spool of one file from before parts.
AUDIO_NAME = re.compile(
    r"(?P<key>(?P<stamp>\d{8}T\d{9}Z)-[0-9a-f]{8})(?:\.(?P<part>[1-9][0-9]{0,3}))?\.(?P<ext>[a-z0-9]{1,8})"
)
TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"


def new_key(moment: datetime) -> str:
    """A new dictation's key for audio spooled at `moment` (UTC)."""
    return f"{moment:%Y%m%dT%H%M%S}{moment.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"


def part_name(key: str, number: int, ext: str) -> str:
    """The file name of part `number` (from 1) of the dictation `key`; ValueError for a bad ext."""
    ext = ext.lower()
    if not re.fullmatch(r"[a-z0-9]{1,8}", ext):
        raise ValueError(f"not a file extension: {ext!r}")
    return f"{key}.{number}.{ext}"


def key_of(name: str) -> str | None:
    """The dictation key in a row's audio_name (a key, or the file name of a spool from before parts)."""
    if KEY.fullmatch(name):
        return name
    match = AUDIO_NAME.fullmatch(name)
    return match["key"] if match else None


def is_part(path: Path) -> bool:
    """The file is a part `<key>.<n>.<ext>` (not a spool of one file from before parts)."""
    match = AUDIO_NAME.fullmatch(path.name)
    return bool(match and match["part"])


def part_number(path: Path) -> int:
    """Which part of its dictation the file is; 1 for a spool of one file from before parts."""
    match = AUDIO_NAME.fullmatch(path.name)
    return int(match["part"]) if match and match["part"] else 1


def parts(folder: Path, name: str) -> list[Path]:
    """The files of the dictation with this audio_name, in order; [] when none is there (or the folder
    cannot be read)."""
    return scan(folder, key_of(name)).files(name)


def spooled_at(path: Path) -> datetime:
    """When the audio was spooled: the time in its name, else (a name not ours) its modification time."""
    match = AUDIO_NAME.fullmatch(path.name)
    if match:
        with contextlib.suppress(ValueError):
            return datetime.strptime(match["stamp"], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


class Scan(NamedTuple):
    """The spool's names, sorted: every name there, whatever kind of file it is (a stat that fails is
    not a file gone), so a name counts as present exactly when the folder lists it."""

    leftovers: list[Path]  # temp files: writes in progress, or of writers that died
    dictations: dict[str, list[Path]]  # key -> its files in order, oldest key first
    listed: bool = True  # False when the folder could not be read: nothing is known to be missing

    def files(self, name: str) -> list[Path]:
        """The files of the dictation with this audio_name (a key: its parts; a name from before
        parts: that file), in order."""
        key = key_of(name)
        found = self.dictations.get(key, []) if key is not None else []
        if key != name:
            return [path for path in found if path.name == name]
        return [path for path in found if is_part(path)]

    def missing(self, name: str) -> bool:
        """The folder was read and holds no file of this audio_name."""
        return self.listed and not self.files(name)


def group(folder: Path, names: Iterable[str]) -> Scan:
    """Sort the names in the spool folder into leftovers and dictations; others are not ours and left out."""
    leftovers: list[Path] = []
    dictations: dict[str, list[Path]] = {}
    for name in sorted(names):
        if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
            leftovers.append(folder / name)
        elif match := AUDIO_NAME.fullmatch(name):
            dictations.setdefault(match["key"], []).append(folder / name)
    for files in dictations.values():
        files.sort(key=part_number)
    return Scan(leftovers, dictations)


def scan(folder: Path, key: str | None = None) -> Scan:
    """The spool folder's names (only those of the dictation `key`, when given), listed once; `listed`
    False when it cannot be read."""
    try:
        names = os.listdir(folder)
    except OSError:
        return Scan([], {}, listed=False)
    if key is not None:  # one dictation's: a cheap filter before the regular expression
        names = [name for name in names if name.startswith(key + ".")]
    return group(folder, names)


def read(folder: Path) -> Scan:
    """The spool folder's names, listed once; OSError when it cannot be read."""
    return group(folder, os.listdir(folder))


def is_regular(path: Path) -> bool | None:
    """The path is (or links to) a regular file; None when that cannot be told (a stat error)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return False
    except OSError:
        return None


def audio_seconds(paths: Iterable[Path]) -> float | None:
    """The length of the audio in these files, in seconds; None when one cannot be read."""
    import soundfile

    total = 0.0
    for path in paths:
        try:
            total += soundfile.info(str(path)).duration
        except (OSError, RuntimeError, soundfile.LibsndfileError):
            return None
    return total


# ---- folders and files ---------------------------------------------------------------------------


def private_dir(path: Path) -> None:
    """Create the folder 0700, or tighten an existing one; OSError when it cannot be created, or is
    another user's (made there first, she could take or swap the recordings)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    owner = path.stat().st_uid
    if hasattr(os, "getuid") and owner != os.getuid():
        from dictate.config.paths import owner_name

        raise PermissionError(errno.EPERM, f"it belongs to {owner_name(owner)}, not to you")
    with contextlib.suppress(OSError):  # a read-only folder stays as it is; writes to it fail later
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask, and the folder may predate us


def private_file(path: Path) -> None:
    """Create the file 0600 (or tighten an existing one), e.g. before SQLite opens it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def write_durably(path: Path, data: bytes, *, keep_lock: bool = False) -> int | None:
    """Write under a locked temp name, fsync, rename into place, fsync the folder: all or nothing.

    With `keep_lock` the open, still locked file is returned (its descriptor): a claim on it.
    OSError when the disk refuses; nothing is left behind then.
    """
    temp = path.with_name(f"{TEMP_PREFIX}{path.name}{TEMP_SUFFIX}")
    fd = create_locked(temp)
    try:
        try:
            os.chmod(temp, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.replace(temp, path)
        except BaseException:
            unlink(temp)
            raise
        try:
            fsync_dir(path.parent)
        except BaseException:
            unlink(path)  # in place but perhaps not durable: the caller takes it as not written
            raise
    except BaseException:
        os.close(fd)
        raise
    if keep_lock:
        return fd
    os.close(fd)
    return None


def fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a folder; its renames are journaled by NTFS
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink(path: Path) -> None:
    """Delete the file; one already gone is fine."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# ---- locks: held by a live process, dropped by the kernel when it dies ----------------------------


def create_locked(path: Path) -> int:
    """Create the file (it must not exist) and lock it; its descriptor.

    A scan may take the new, still unlocked file for a dead writer's leftover and delete it under
    its own lock; then the name is no longer ours, and the file is made again.
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        if fcntl is None:
            return fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def try_lock(path: Path) -> int | None:
    """Lock the file if no live process holds it: its descriptor (the caller closes it to let go),
    or None when it is held (or gone)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError:
        try:  # a file we may only read: flock does not mind the mode
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
    if fcntl is None:
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def is_free(path: Path) -> bool:
    """No live process holds a lock on the file (a missing file is free too)."""
    if not path.exists():
        return True
    fd = try_lock(path)
    if fd is None:
        return not path.exists()
    os.close(fd)
    return True
