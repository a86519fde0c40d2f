"""Small files written whole (the stored key, the service's unit and autostart entry, completion
scripts, a vocabulary list) and small inputs read whole within bounds (a vocabulary list). The
spool's audio has writers of its own, under locks (store/spool.py), and audio inputs their own
reader (audio/inputs.py)."""

from __future__ import annotations

import contextlib
import errno
import os
import select
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dictate.errors import DictateError, ExitCode


class NotRegularFile(OSError):
    """Something that is not a regular file is where a file would be written; nothing was."""


def replace_file(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write `data` to `path` all or nothing: a new temporary file beside it (created exclusively, so
    no link planted there is followed), given its mode whatever the umask, flushed to the disk and
    renamed over the file, the rename made durable. OSError when the disk refuses; then the file is
    as it was and no temporary file is left.

    A symbolic link at `path` is followed: the file it names is replaced and the link kept (a list
    kept in a dotfiles repository). Whatever is not a regular file (a device, a pipe, a folder) is
    left alone: NotRegularFile. The mode is `mode`, else the replaced file's, else 0644."""
    target = Path(os.path.realpath(path))
    try:
        info: os.stat_result | None = target.stat()
    except FileNotFoundError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise NotRegularFile(errno.EEXIST, f"{kind_of(info.st_mode)} is there, not a regular file; nothing was written")
    if mode is None:
        mode = stat.S_IMODE(info.st_mode) if info is not None else 0o644
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    sync_folder(target.parent)


def kind_of(mode: int) -> str:
    """What a file of this mode is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a file"


def read_small(name: str, what: str, cap: int, wait: float = 5.0) -> bytes:
    """The whole of a small input: a file, a pipe or device (waiting up to `wait` seconds for each
    piece, so a pipe with no writer ends), or stdin for "-"; DictateError past `cap` bytes or when
    it cannot be read. `what` names the input in messages ("the vocabulary list")."""
    label = "stdin" if name == "-" else name
    try:
        fd = 0 if name == "-" else os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise DictateError(f"cannot read {what} {label}: {exc.strerror or exc}", ExitCode.USAGE) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise DictateError(f"cannot read {what} {label}: it is a folder", ExitCode.USAGE)
        if stat.S_ISREG(info.st_mode) and info.st_size > cap:
            raise DictateError(f"{what} {label} is over {_size(cap)}; nothing was read", ExitCode.USAGE)
        return _read_all(fd, label, what, cap, wait)
    finally:
        if fd != 0:
            os.close(fd)


def _read_all(fd: int, label: str, what: str, cap: int, wait: float) -> bytes:
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in pieces(fd, None if os.isatty(fd) else wait):  # at a terminal the user types, then Ctrl-D
            total += len(chunk)
            if total > cap:
                raise DictateError(f"{what} {label} is over {_size(cap)}; nothing was read", ExitCode.USAGE)
            chunks.append(chunk)
    except NothingCame:
        raise DictateError(
            f"{what} {label}: nothing came for {wait:g} s (a pipe with no writer?); nothing was read", ExitCode.FAILURE
        ) from None
    except OSError as exc:
        raise DictateError(f"cannot read {what} {label}: {exc.strerror or exc}", ExitCode.FAILURE) from None
    return b"".join(chunks)


class NothingCame(Exception):
    """A pipe or device sent nothing for the whole wait."""


def pieces(fd: int, wait: float | None) -> Iterator[bytes]:
    """What comes from a pipe, device or file, piece by piece, to its end; NothingCame when nothing
    comes for `wait` seconds (None: no limit), OSError when it cannot be read."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    timeout = None if wait is None else int(wait * 1000)
    while True:
        if not poller.poll(timeout):
            raise NothingCame
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            continue
        if not chunk:
            return
        yield chunk


def _size(count: int) -> str:
    return f"{count // 2**20} MB" if count >= 2**20 else f"{count} bytes"


def sync_folder(folder: Path) -> None:
    """Make a rename or removal in `folder` durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
