"""Audio as data: recordings, in-memory encoding, resampling, speech detection. Pure numpy/soundfile."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from dictate import EXIT_USAGE, DictateError

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
        raise DictateError(f"{path}: no such file", EXIT_USAGE)
    if p.is_dir():
        raise DictateError(f"{path}: is a directory, not an audio file", EXIT_USAGE)
    recording = _read(p, str(path))
    if recording.rate > max_rate:
        recording = Recording(resample(recording.samples, recording.rate, max_rate), max_rate)
    return recording


def _read(source: io.BytesIO | Path, label: str) -> Recording:
    try:
        data, rate = sf.read(source, dtype="int16", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        detail = str(exc).split(": ")[-1] if str(exc) else type(exc).__name__
        raise DictateError(f"{label}: not an audio file that can be read ({detail})", EXIT_USAGE) from None
    except OSError as exc:
        raise DictateError(f"{label}: {exc.strerror or exc}", EXIT_USAGE) from None
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


# ---- speech detection ------------------------------------------------------------------------

FRAME_SECONDS = 0.03
# A frame is speech when it is louder than this absolute level and clearly above the noise floor.
SPEECH_MIN_DBFS = -50.0
SPEECH_OVER_FLOOR_DB = 15.0
MIN_SPEECH_SECONDS = 0.1


def frame_levels(samples: np.ndarray, rate: int, frame_seconds: float = FRAME_SECONDS) -> np.ndarray:
    """RMS level of each whole frame, in dBFS (digital silence is about -180)."""
    n = max(1, int(rate * frame_seconds))
    frames = len(samples) // n
    if frames == 0:
        return np.empty(0)
    x = samples[: frames * n].astype(np.float64).reshape(frames, n) / 32768.0
    rms = np.sqrt(np.mean(x * x, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-9))


def speech_threshold(noise_floor_db: float) -> float:
    return max(SPEECH_MIN_DBFS, noise_floor_db + SPEECH_OVER_FLOOR_DB)


def speech_seconds(recording: Recording) -> float:
    """How much of the recording is speech, by an energy gate over a percentile noise floor."""
    levels = frame_levels(recording.samples, recording.rate)
    if len(levels) == 0:
        return 0.0
    floor = float(np.percentile(levels, 10))
    return float(np.count_nonzero(levels > speech_threshold(floor))) * FRAME_SECONDS


def has_speech(recording: Recording) -> bool:
    return speech_seconds(recording) >= MIN_SPEECH_SECONDS


def peak_dbfs(samples: np.ndarray) -> float:
    if len(samples) == 0:
        return -math.inf
    peak = int(np.max(np.abs(samples.astype(np.int32))))
    return 20 * math.log10(peak / 32768) if peak else -math.inf


class SpeechTracker:
    """Follow a live stream: has speech started, and how long has it been quiet since?

    The noise floor is the quietest frame so far, allowed to rise slowly so a noisier room is
    learned; a frame is speech when it stands well above that floor and above an absolute level.
    """

    FLOOR_RISE_DB_PER_S = 1.0

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._frame = max(1, int(rate * FRAME_SECONDS))
        self._pending = np.empty(0, dtype=np.int16)
        self._floor = math.inf
        self.speech_seconds = 0.0
        self.silence_after_speech = 0.0

    @property
    def speech_started(self) -> bool:
        return self.speech_seconds >= MIN_SPEECH_SECONDS

    def feed(self, block: np.ndarray) -> None:
        data = np.concatenate([self._pending, block.reshape(-1)])
        whole = len(data) // self._frame * self._frame
        self._pending = data[whole:]
        for level in frame_levels(data[:whole], self.rate):
            self._floor = min(self._floor + self.FLOOR_RISE_DB_PER_S * FRAME_SECONDS, level)
            if level > speech_threshold(self._floor):
                self.speech_seconds += FRAME_SECONDS
                self.silence_after_speech = 0.0
            elif self.speech_seconds > 0:
                self.silence_after_speech += FRAME_SECONDS
