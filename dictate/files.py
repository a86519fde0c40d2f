"""Small files written whole: the stored key, the service's unit and autostart entry, completion
scripts, a vocabulary list. (The spool's audio has writers of its own, under locks: store/spool.py.)"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def replace_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` all or nothing: a new temporary file beside it (created exclusively, so
    no link planted there is followed), given `mode` whatever the umask, flushed to the disk and
    renamed over `path`, the rename made durable. OSError when the disk refuses; then `path` is as it
    was and no temporary file is left."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Make a rename or removal in `folder` durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
