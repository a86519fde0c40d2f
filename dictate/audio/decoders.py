"""Decoders: an audio file as blocks of mono 16-bit samples at one rate, never more than a block in memory.

Three decoders, tried in this order: libsndfile through soundfile (WAV in every sample format, FLAC,
Ogg Vorbis and Opus, MP3, AIFF and the like), PyAV (the `formats` extra: FFmpeg's libraries as wheels)
and the `ffmpeg` command (m4a, aac, webm and anything else FFmpeg reads). Each one opens the file in
its constructor, raising `Unreadable` when it cannot, so the next one can try; reading errors after
that are `DecodeError`. What a header claims (frames, channels) never sizes an allocation: blocks
are read at a fixed size in bytes.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from typing import IO, Any, Protocol, cast

import numpy as np

# Decoded samples held at once, whatever the channel count (a 1024-channel file reads 32 frames at a
# time); small enough that a file damaged part way loses little before the damage.
BLOCK_BYTES = 1 << 17
# Sample rates a file may have: anything outside is a damaged or hostile header, not audio.
MIN_RATE, MAX_RATE = 1000, 768000
FORMATS_HINT = "pip install 'dictate[formats]' (PyAV) or install ffmpeg (apt install ffmpeg)"
SNDFILE_UNKNOWN = "Format not recognised"
PYAV_MISSING = "PyAV is not installed"
FFMPEG_MISSING = "ffmpeg is not installed"


class Unreadable(Exception):
    """This decoder cannot open the file; the message says why (another decoder may)."""


class Refused(Unreadable):
    """The file is read, and what it says is not audio (no channels, an absurd rate): no other decoder
    is tried."""


class DecodeError(Exception):
    """The file opened but could not be read to its end."""


class Decoder(Protocol):
    rate: int  # of the blocks
    description: str  # what the file is, for -v

    def blocks(self) -> Iterator[np.ndarray]: ...

    def close(self) -> None: ...


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples (full scale ±1.0) as int16: scaled, clipped, NaN and infinities made silence."""
    scaled = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0) * 32768.0
    return np.clip(np.round(scaled), -32768, 32767).astype(np.int16)


class BlockResampler:
    """soxr's streaming resampler: blocks in, blocks out, the same result as resampling the whole
    (no seams). Chosen by measurement over a polyphase filter of our own (docs/benchmarks.md)."""

    def __init__(self, src: int, dst: int) -> None:
        import soxr

        self._stream = soxr.ResampleStream(src, dst, 1, dtype="float32", quality="HQ") if src != dst else None

    def feed(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        if self._stream is None:
            return block
        return np.asarray(self._stream.resample_chunk(np.ascontiguousarray(block, dtype=np.float32), last=last))


def check_rate(rate: int) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise Refused(f"a sample rate of {rate} Hz is not audio (files from {MIN_RATE} to {MAX_RATE} Hz are read)")


class SoundfileDecoder:
    """libsndfile: read as float (so float and 8-bit files come out scaled), mix to mono, resample."""

    def __init__(self, source: str | IO[bytes], rate: int | None) -> None:
        import soundfile as sf

        try:
            self._file = sf.SoundFile(source)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            raise Unreadable(_libsndfile_reason(exc)) from None
        info = self._file
        try:
            if info.channels < 1:
                raise Refused("the header says it has no channels")
            check_rate(info.samplerate)
        except Unreadable:
            self._file.close()
            raise
        self.rate = rate or info.samplerate
        self.description = f"{info.format} {info.subtype}, {info.samplerate} Hz, {info.channels} channel(s)"
        self._frames = max(1, BLOCK_BYTES // (4 * info.channels))
        self._resampler = BlockResampler(info.samplerate, self.rate)

    def blocks(self) -> Iterator[np.ndarray]:
        import soundfile as sf

        buffer = np.empty((self._frames, self._file.channels), dtype=np.float32)
        while True:
            start = self._position(0)
            failure = None
            try:
                count = len(self._file.read(out=buffer))
            except (sf.LibsndfileError, RuntimeError) as exc:
                # What came before the damage is in the buffer; the position says how much.
                failure = _libsndfile_reason(exc)
                count = min(max(0, self._position(start) - start), self._frames)
            last = failure is not None or count < self._frames
            data = buffer[:count]
            mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
            out = self._resampler.feed(mono, last=last)
            if len(out):
                yield to_int16(out)
            if failure is not None:
                raise DecodeError(failure)
            if last:
                return

    def _position(self, fallback: int) -> int:
        import soundfile as sf

        try:
            return int(self._file.tell())
        except (sf.LibsndfileError, RuntimeError):
            return fallback

    def close(self) -> None:
        self._file.close()


def _libsndfile_reason(exc: BaseException) -> str:
    text = str(exc)
    reason = text.rsplit(": ", 1)[-1].strip() if text else type(exc).__name__
    return reason.rstrip(".") or type(exc).__name__


class PyAVDecoder:
    """FFmpeg's libraries as a wheel (the `formats` extra); it mixes down and resamples itself."""

    def __init__(self, source: IO[bytes], rate: int) -> None:
        try:
            import av
        except ImportError:
            raise Unreadable(PYAV_MISSING) from None
        self._av = av
        try:
            # A file object, not a path: FFmpeg would take "http:..." or "concat:..." as a URL. Nested
            # opens (playlists) may only read local files.
            self._container: Any = av.open(source, options={"protocol_whitelist": "file"})
        except (av.FFmpegError, ValueError, OSError) as exc:
            raise Unreadable(_ffmpeg_reason(exc)) from None
        streams = list(self._container.streams.audio)
        if not streams:
            self._container.close()
            raise Unreadable("there is no audio in it")
        self._stream = streams[0]
        ctx = self._stream.codec_context
        try:
            if not ctx.channels:
                raise Refused("the header says it has no channels")
            check_rate(int(ctx.sample_rate or 0))
        except Unreadable:
            self._container.close()
            raise
        self.rate = rate
        container = self._container.format.long_name
        self.description = f"{ctx.name} in {container}, {ctx.sample_rate} Hz, {ctx.channels} channel(s)"
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)

    def blocks(self) -> Iterator[np.ndarray]:
        av = self._av
        pieces: list[np.ndarray] = []
        held = 0
        target = BLOCK_BYTES // 4  # codec frames are small (1024 samples for aac): gather them into blocks
        try:
            for frame in itertools.chain(self._container.decode(self._stream), [None]):  # None: flush
                for out in self._resampler.resample(frame):
                    pieces.append(out.to_ndarray().reshape(-1).astype(np.int16, copy=False))
                    held += len(pieces[-1])
                if held >= target or (frame is None and pieces):
                    yield np.concatenate(pieces)
                    pieces, held = [], 0
        except (av.FFmpegError, ValueError) as exc:
            if pieces:
                yield np.concatenate(pieces)
            raise DecodeError(_ffmpeg_reason(exc)) from None

    def close(self) -> None:
        self._container.close()


def _ffmpeg_reason(exc: BaseException) -> str:
    strerror = getattr(exc, "strerror", None)
    return str(strerror or exc).strip().rstrip(".") or type(exc).__name__


class FfmpegDecoder:
    """The `ffmpeg` command, when it is installed: raw 16-bit mono PCM through a pipe."""

    READ_BYTES = 1 << 16

    def __init__(self, path: str, rate: int) -> None:
        exe = shutil.which("ffmpeg")
        if exe is None:
            raise Unreadable(FFMPEG_MISSING)
        self.rate = rate
        self.description = "read by ffmpeg"
        self._url = "file:" + os.path.abspath(path)
        # ffmpeg's messages go to a file: a pipe nobody reads could fill and stall it. Closed in close().
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        command = [
            exe, "-nostdin", "-hide_banner", "-loglevel", "error",
            "-protocol_whitelist", "file",  # a local file only, never a URL inside a playlist
            "-i", self._url,
            "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(rate), "-f", "s16le", "-acodec", "pcm_s16le", "pipe:1",
        ]  # fmt: skip
        self._proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log)
        self._out = cast(io.BufferedReader, self._proc.stdout)
        # The first bytes tell whether ffmpeg can read the file at all.
        self._first = self._out.read1(self.READ_BYTES)
        if not self._first and self._proc.wait() != 0:
            reason = self._reason()
            self.close()
            raise Unreadable(reason)

    def _reason(self) -> str:
        self._log.seek(0)
        lines = [line.strip() for line in self._log.read(4096).decode(errors="replace").splitlines() if line.strip()]
        if any("matches no streams" in line for line in lines):
            return "there is no audio in it"
        if not lines:
            return f"ffmpeg exited with status {self._proc.returncode}"
        return lines[-1].removeprefix(self._url + ": ")

    def blocks(self) -> Iterator[np.ndarray]:
        carry = self._first
        while True:
            chunk = self._out.read(self.READ_BYTES)
            data = carry + chunk
            whole = len(data) // 2 * 2
            if whole:
                yield np.frombuffer(data[:whole], dtype="<i2").astype(np.int16)
            carry = data[whole:]
            if not chunk:
                break
        if self._proc.wait() != 0:
            raise DecodeError(self._reason())

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        with contextlib.suppress(OSError):
            self._out.close()
        self._proc.wait()
        self._log.close()


class NoDecoder(Exception):
    """No decoder could open the file: `reason` says why, in the words of the decoder that knew best."""

    def __init__(self, reason: str, *, unknown_format: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unknown_format = unknown_format  # libsndfile did not know it and no other decoder was there


def open_decoder(path: str, stream: IO[bytes], rate: int) -> Decoder:
    """The first decoder that opens the file: soundfile, then PyAV, then ffmpeg; else NoDecoder."""
    stream.seek(0)
    try:
        return SoundfileDecoder(stream, rate)
    except Refused as exc:
        raise NoDecoder(str(exc), unknown_format=False) from None
    except Unreadable as exc:
        first = str(exc)
    others: list[str] = []
    for attempt in ("pyav", "ffmpeg"):
        stream.seek(0)
        try:
            return PyAVDecoder(stream, rate) if attempt == "pyav" else FfmpegDecoder(path, rate)
        except Unreadable as exc:
            if str(exc) not in (PYAV_MISSING, FFMPEG_MISSING):
                others.append(str(exc))
    unknown = first == SNDFILE_UNKNOWN
    # libsndfile knows its formats best; for the others the fall-back decoder that tried has the reason.
    reason = others[0] if unknown and others else first
    raise NoDecoder(reason, unknown_format=unknown and not others)
