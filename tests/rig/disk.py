"""Real storage faults for tests: a small file system that fills up, a folder that is read-only.

A full disk is a tmpfs of a chosen size mounted over a folder (root only: anything else would be a
simulation); a read-only folder is a read-only bind mount of itself for root, whom permissions do
not stop, and its write bits removed for anyone else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.rig.sound import RigUnavailable


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RigUnavailable(f"mount {' '.join(args)} failed: {result.stderr.strip()}")


def _umount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)  # still busy: detach


@contextlib.contextmanager
def small_disk(path: Path, kib: int) -> Iterator[Path]:
    """A tmpfs of `kib` KiB mounted on `path` (created), private to its owner, for the block."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        raise RigUnavailable("a small file system needs root and mount(8)")
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={kib}k,mode=0700", "tmpfs", str(path))
    try:
        yield path
    finally:
        _umount(path)


def fill(path: Path, leave: int = 0) -> None:
    """Fill the file system of `path` with one file until about `leave` bytes are free."""
    free = os.statvfs(path).f_bavail * os.statvfs(path).f_frsize
    with open(path / "filler", "ab") as fh:
        chunk = b"\0" * 4096
        try:
            for _ in range(max(0, free - leave) // len(chunk)):
                fh.write(chunk)
            fh.flush()
        except OSError:
            pass  # full already


def free_bytes(path: Path) -> int:
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """Make the folder `path` (and everything under it) read-only for the block."""
    if os.geteuid() == 0:
        if shutil.which("mount") is None:
            raise RigUnavailable("a read-only folder for root needs mount(8)")
        _mount("--bind", str(path), str(path))
        try:
            _mount("-o", "remount,bind,ro", str(path))
            yield path
        finally:
            _umount(path)
        return
    modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
    for p, mode in modes.items():
        p.chmod(stat.S_IMODE(mode) & ~0o222)
    try:
        yield path
    finally:
        for p, mode in modes.items():
            p.chmod(stat.S_IMODE(mode))
