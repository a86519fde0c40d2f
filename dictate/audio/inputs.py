"""Input files: open whatever path the user names, with every wait bounded, and decode it in blocks.

A regular file is decoded where it lies. A FIFO, pipe or device is first copied into a private
temporary file, waiting at most `INPUT_WAIT_SECONDS` for each piece and stopping at
`MAX_STREAM_BYTES`, so a FIFO with no writer or /dev/zero ends with one line instead of a hang.
Every problem is a `DictateError` naming the file: exit code 2 when the file itself is wrong (missing,
a folder, empty, not audio), 1 when reading it failed on the way.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from typing import IO

import numpy as np

from dictate.audio.decoders import FORMATS_HINT, DecodeError, Decoder, NoDecoder, open_decoder
from dictate.audio.recording import WHISPER_RATE, Recording
from dictate.errors import DictateError, ExitCode
from dictate.files import NothingCame, pieces

INPUT_WAIT_SECONDS = 5.0
MAX_STREAM_BYTES = 512 * 2**20

# Containers libsndfile does not read, by their first bytes: (offset, magic, what to call them).
_CONTAINERS = (
    (4, b"ftyp", "m4a/mp4"),
    (0, b"\x1a\x45\xdf\xa3", "webm/mkv"),
    (0, b"\xff\xf1", "aac"),
    (0, b"\xff\xf9", "aac"),
    (0, b"#!AMR", "amr"),
    (0, b"\x30\x26\xb2\x75", "wma"),
)


class AudioInput:
    """An opened input: mono int16 blocks at `rate` Hz, read as they are asked for."""

    def __init__(self, label: str, decoder: Decoder) -> None:
        self.label = label
        self.rate = decoder.rate
        self.description = decoder.description
        self.samples = 0  # decoded so far
        self._decoder = decoder

    @property
    def seconds(self) -> float:
        return self.samples / self.rate

    def blocks(self) -> Iterator[np.ndarray]:
        """The audio, block by block; a file damaged part way raises DictateError after what came before."""
        try:
            for block in self._decoder.blocks():
                self.samples += len(block)
                yield block
        except DecodeError as exc:
            if not self.samples:
                raise DictateError(
                    f"{self.label}: not an audio file that can be read ({exc})", ExitCode.USAGE
                ) from None
            raise DictateError(
                f"{self.label}: damaged after {self.seconds:.1f} s of audio ({exc})", ExitCode.FAILURE
            ) from None


@contextlib.contextmanager
def open_input(
    path: str | os.PathLike[str],
    rate: int = WHISPER_RATE,
    *,
    wait: float = INPUT_WAIT_SECONDS,
    max_stream_bytes: int = MAX_STREAM_BYTES,
) -> Iterator[AudioInput]:
    """Open an audio file, FIFO or device for reading in blocks at `rate` Hz; raise DictateError."""
    label = str(path)
    stream, name = _open_stream(label, wait, max_stream_bytes)
    with stream:
        try:
            decoder = open_decoder(name, stream, rate)
        except NoDecoder as exc:
            raise DictateError(_unreadable(label, stream, exc), ExitCode.USAGE) from None
        try:
            yield AudioInput(label, decoder)
        finally:
            decoder.close()


def read_file(path: str | os.PathLike[str], rate: int = WHISPER_RATE) -> Recording:
    """A whole (short) file as a mono recording at `rate` Hz; long inputs go through `open_input`."""
    with open_input(path, rate) as source:
        blocks = list(source.blocks())
    return Recording(np.concatenate(blocks) if blocks else np.empty(0, dtype=np.int16), rate)


def _open_stream(label: str, wait: float, cap: int) -> tuple[IO[bytes], str]:
    """A seekable stream of the file's bytes, and a path ffmpeg can read them from."""
    try:
        # Non-blocking: opening a FIFO that has no writer would wait for one forever.
        fd = os.open(label, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise DictateError(f"{label}: no such file", ExitCode.USAGE) from None
    except PermissionError:
        raise DictateError(f"{label}: permission denied", ExitCode.USAGE) from None
    except OSError as exc:
        raise DictateError(f"{label}: cannot be opened ({exc.strerror or exc})", ExitCode.USAGE) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise DictateError(f"{label}: is a directory, not an audio file", ExitCode.USAGE)
        if stat.S_ISREG(mode):
            os.set_blocking(fd, True)
            if os.fstat(fd).st_size == 0:
                raise DictateError(f"{label}: empty file", ExitCode.USAGE)
            return os.fdopen(fd, "rb"), os.path.abspath(label)
        spilled = _spill(fd, label, wait, cap)
        os.close(fd)
        return spilled, spilled.name
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise


def _spill(fd: int, label: str, wait: float, cap: int) -> IO[bytes]:
    """Copy a FIFO, pipe or device into a private temporary file (0600, removed on close)."""
    spill = tempfile.NamedTemporaryFile(prefix="dictate-input-")  # noqa: SIM115 - the caller closes it
    total = 0
    try:
        try:
            for chunk in pieces(fd, wait):
                total += len(chunk)
                if total > cap:
                    raise DictateError(
                        f"{label}: more than {cap // 2**20} MB came from this pipe or device; "
                        "save it to a file and transcribe that",
                        ExitCode.USAGE,
                    )
                try:
                    spill.write(chunk)
                except OSError as exc:  # the temporary folder, not the input
                    raise DictateError(
                        f"{label}: cannot be copied to a temporary file ({exc.strerror or exc})", ExitCode.FAILURE
                    ) from None
        except NothingCame:
            if total == 0:
                raise DictateError(
                    f"{label}: nothing came in {wait:g} s (a pipe or device with no writer?)", ExitCode.FAILURE
                ) from None
            raise DictateError(
                f"{label}: nothing more came for {wait:g} s after {total} bytes", ExitCode.FAILURE
            ) from None
        except OSError as exc:
            raise DictateError(f"{label}: cannot be read ({exc.strerror or exc})", ExitCode.FAILURE) from None
        if total == 0:
            raise DictateError(f"{label}: empty (the writer closed it without sending anything)", ExitCode.USAGE)
        spill.flush()
        spill.seek(0)
        return spill
    except BaseException:
        spill.close()
        raise


def _unreadable(label: str, stream: IO[bytes], exc: NoDecoder) -> str:
    if not exc.unknown_format:
        return f"{label}: not an audio file that can be read ({exc.reason})"
    stream.seek(0)
    head = stream.read(16)
    for offset, magic, kind in _CONTAINERS:
        if head[offset : offset + len(magic)] == magic:
            return f"{label}: {kind} audio needs a decoder: {FORMATS_HINT}"
    return f"{label}: not an audio file that can be read (format not recognised; for m4a, aac, webm: {FORMATS_HINT})"
