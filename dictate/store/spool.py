"""The spool's files: private folders and files, all-or-nothing writes, growing a WAV in place, scanning.

Each recording is one file `<UTC stamp>-<token>.<ext>` in the spool folder. A write goes to a temp
name (`.<name>.tmp`) first, so a file under its final name is always complete; a temp file found
later is the leftover of a write that died. Nothing here knows about the database: the History
decides which file belongs to which row.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import struct
import wave
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, NamedTuple

SPOOL_NAME = "spool"

# 20250102T030405678Z-1a2b3c4d.wav: the UTC time of the spool, a random token, the format.
AUDIO_NAME = re.compile(r"(?P<stamp>\d{8}T\d{9}Z)-[0-9a-f]{8}\.(?P<ext>[a-z0-9]{1,8})")
TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"


def audio_name(moment: datetime, ext: str) -> str:
    """A new file name for audio spooled at `moment` (UTC) in format `ext`; ValueError for a bad ext."""
    ext = ext.lower()
    if not re.fullmatch(r"[a-z0-9]{1,8}", ext):
        raise ValueError(f"not a file extension: {ext!r}")
    return f"{moment:%Y%m%dT%H%M%S}{moment.microsecond // 1000:03d}Z-{secrets.token_hex(4)}.{ext}"


def spooled_at(path: Path) -> datetime:
    """When the audio was spooled: the time in its name, else (a name not ours) its modification time."""
    match = AUDIO_NAME.fullmatch(path.name)
    if match:
        with contextlib.suppress(ValueError):
            return datetime.strptime(match["stamp"], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


class Scan(NamedTuple):
    leftovers: list[Path]  # temp files of writes that never finished
    audio: list[Path]  # files named as spooled audio, oldest first


def scan(folder: Path) -> Scan:
    """Sort the spool folder's files into leftovers and audio; others are not ours and left out.

    OSError when the folder cannot be read.
    """
    leftovers: list[Path] = []
    audio: list[Path] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(TEMP_PREFIX) and path.name.endswith(TEMP_SUFFIX):
            leftovers.append(path)
        elif AUDIO_NAME.fullmatch(path.name) and path.is_file():
            audio.append(path)
    return Scan(leftovers, audio)


def private_dir(path: Path) -> None:
    """Create the folder 0700, or tighten an existing one."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask, and the folder may predate us


def private_file(path: Path) -> None:
    """Create the file 0600 (or tighten an existing one), e.g. before SQLite opens it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def write_durably(path: Path, data: bytes) -> None:
    """Write under a temp name, fsync, rename into place, fsync the folder: all or nothing on disk."""
    temp = path.with_name(f"{TEMP_PREFIX}{path.name}{TEMP_SUFFIX}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.chmod(temp, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        unlink(temp)
        raise
    fsync_dir(path.parent)


def append_pcm(path: Path, pcm: bytes) -> None:
    """Durably add PCM samples to the end of a WAV file, however long it already is.

    The header is made to announce the new length before the samples are written, and one fsync
    covers both: after a crash the file announces at most what it holds, or more, and a reader
    takes what is there. OSError, or ValueError when the file is not a WAV file.
    """
    with path.open("r+b") as fh:
        data_at = wav_data_offset(fh)
        end = fh.seek(0, os.SEEK_END)
        size = end - data_at + len(pcm)
        fh.seek(4)
        fh.write(struct.pack("<I", min(data_at - 8 + size, 0xFFFFFFFF)))
        fh.seek(data_at - 4)
        fh.write(struct.pack("<I", min(size, 0xFFFFFFFF)))
        fh.seek(end)
        fh.write(pcm)
        fh.flush()
        os.fsync(fh.fileno())


def wav_data_offset(fh: BinaryIO) -> int:
    """Where the sample data of a RIFF/WAVE file starts (after the "data" chunk header)."""
    fh.seek(0)
    if fh.read(4) != b"RIFF" or (fh.read(4), fh.read(4))[1] != b"WAVE":
        raise ValueError("not a WAV file")
    while True:
        header = fh.read(8)
        if len(header) < 8:
            raise ValueError("a WAV file without a data chunk")
        kind, size = header[:4], struct.unpack("<I", header[4:])[0]
        if kind == b"data":
            return fh.tell()
        fh.seek(size + size % 2, os.SEEK_CUR)


def wav_seconds(path: Path) -> float | None:
    """The length of a .wav file in seconds; None for other formats or a file that cannot be read."""
    if path.suffix != ".wav":
        return None
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / wav.getframerate()
    except (OSError, EOFError, wave.Error, ZeroDivisionError):
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
