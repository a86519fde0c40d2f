"""Recordings as data: in-memory encoding and decoding, reading files, resampling. Pure numpy/soundfile."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from dictate.errors import DictateError, ExitCode

WHISPER_RATE = 16000
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
# (soundfile format, subtype, upload file extension, MIME type). Opus goes up as .ogg: OpenAI
# rejects the .opus extension but accepts Opus inside an Ogg container named .ogg.
_FORMATS = {
    "wav": ("WAV", "PCM_16", "wav", "audio/wav"),
    "flac": ("FLAC", "PCM_16", "flac", "audio/flac"),
    "ogg": ("OGG", "OPUS", "ogg", "audio/ogg"),
}


@dataclass(frozen=True)
class Recording:
    """Mono 16-bit samples at `rate` Hz."""

    samples: np.ndarray
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate

    def at_rate(self, rate: int) -> Recording:
        """The same audio at `rate` Hz (itself when it is at that rate already)."""
        return self if rate == self.rate else Recording(resample(self.samples, self.rate, rate), rate)


@dataclass(frozen=True)
class EncodedAudio:
    """An upload-ready file in memory."""

    data: bytes
    filename: str
    mime: str
    seconds: float


def encode(recording: Recording, fmt: str = "wav", name: str = "audio") -> EncodedAudio:
    """Encode a recording in memory as wav (PCM16), flac or ogg (Opus)."""
    container, subtype, ext, mime = _FORMATS[fmt]
    samples, rate = recording.samples, recording.rate
    if fmt == "ogg" and rate not in OPUS_RATES:
        target = min((r for r in OPUS_RATES if r >= rate), default=48000)
        samples, rate = resample(samples, rate, target), target
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=container, subtype=subtype)
    return EncodedAudio(buf.getvalue(), f"{name}.{ext}", mime, recording.seconds)


def decode(data: bytes) -> Recording:
    """Decode an in-memory file (any format soundfile reads) into a mono recording."""
    return _read(io.BytesIO(data), "audio data")


def read_file(path: str | Path, max_rate: int = WHISPER_RATE) -> Recording:
    """Read an audio file as mono, resampled down to `max_rate` when it is higher."""
    p = Path(path)
    if not p.exists():
        raise DictateError(f"{path}: no such file", ExitCode.USAGE)
    if p.is_dir():
        raise DictateError(f"{path}: is a directory, not an audio file", ExitCode.USAGE)
    recording = _read(p, str(path))
    return recording.at_rate(max_rate) if recording.rate > max_rate else recording


def _read(source: io.BytesIO | Path, label: str) -> Recording:
    try:
        data, rate = sf.read(source, dtype="int16", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        detail = str(exc).split(": ")[-1] if str(exc) else type(exc).__name__
        raise DictateError(f"{label}: not an audio file that can be read ({detail})", ExitCode.USAGE) from None
    except OSError as exc:
        raise DictateError(f"{label}: {exc.strerror or exc}", ExitCode.USAGE) from None
    if data.shape[1] > 1:
        data = data.astype(np.int32).mean(axis=1).round().astype(np.int16)[:, None]
    return Recording(np.ascontiguousarray(data[:, 0]), int(rate))


def resample(samples: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Resample int16 audio by cutting or padding its spectrum (band-limited, no aliasing)."""
    if src == dst or len(samples) == 0:
        return samples
    n_out = max(1, round(len(samples) * dst / src))
    spectrum = np.fft.rfft(samples.astype(np.float64))
    keep = min(len(spectrum), n_out // 2 + 1)
    resized = np.zeros(n_out // 2 + 1, dtype=complex)
    resized[:keep] = spectrum[:keep]
    out = np.fft.irfft(resized, n_out) * (n_out / len(samples))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)
