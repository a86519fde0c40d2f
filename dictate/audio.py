"""Audio as data: recordings, in-memory encoding, resampling, speech detection. Pure numpy/soundfile."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
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


# A noise floor above this is taken to be speech itself (a recording with no quiet moment at all),
# so a loud frame still counts: losing words is worse than sending a quiet stretch.
NOISE_FLOOR_CAP_DBFS = -55.0


def speech_threshold(noise_floor_db: float) -> float:
    return max(SPEECH_MIN_DBFS, min(noise_floor_db, NOISE_FLOOR_CAP_DBFS) + SPEECH_OVER_FLOOR_DB)


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


class FrameGate:
    """Classify a live stream frame by frame: speech or not.

    The noise floor is the quietest frame so far, allowed to rise slowly so a noisier room is
    learned; a frame is speech when it stands well above that floor and above an absolute level.
    """

    FLOOR_RISE_DB_PER_S = 1.0

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.frame = max(1, int(rate * FRAME_SECONDS))
        self._pending = np.empty(0, dtype=np.int16)
        self._floor = math.inf

    def feed(self, block: np.ndarray) -> list[bool]:
        """Speech flags for every whole frame completed by this block."""
        data = np.concatenate([self._pending, block.reshape(-1)])
        whole = len(data) // self.frame * self.frame
        self._pending = data[whole:]
        flags = []
        for level in frame_levels(data[:whole], self.rate):
            self._floor = min(self._floor + self.FLOOR_RISE_DB_PER_S * FRAME_SECONDS, level)
            flags.append(bool(level > speech_threshold(self._floor)))
        return flags


class VadGate:
    """Classify 30 ms frames with WebRTC's voice activity detector (aggressiveness 1).

    Chosen over FrameGate by measurement on real speech (docs/benchmarks.md): from clean audio down
    to 10 dB SNR, at quiet, normal and hot input levels, it never cut inside a word, where the
    energy gate cut inside words in 10 of 35 cuts already at 20 dB SNR.
    """

    RATES = (8000, 16000, 32000, 48000)
    MODE = 1

    def __init__(self, rate: int) -> None:
        import webrtcvad

        self.rate = rate
        self.frame = int(rate * FRAME_SECONDS)
        self._vad = webrtcvad.Vad(self.MODE)
        self._pending = np.empty(0, dtype=np.int16)

    def feed(self, block: np.ndarray) -> list[bool]:
        data = np.concatenate([self._pending, block.reshape(-1).astype(np.int16, copy=False)])
        whole = len(data) // self.frame * self.frame
        self._pending = data[whole:]
        return [self._vad.is_speech(data[i : i + self.frame].tobytes(), self.rate) for i in range(0, whole, self.frame)]


def speech_gate(rate: int) -> FrameGate | VadGate:
    """The best live speech detector available for this rate: WebRTC's VAD, else the energy gate."""
    if rate in VadGate.RATES:
        try:
            return VadGate(rate)
        except ImportError:  # webrtcvad-wheels has no wheel for this platform
            pass
    return FrameGate(rate)


class SpeechTracker:
    """Follow a live stream: has speech started, and how long has it been quiet since?"""

    def __init__(self, rate: int) -> None:
        self._gate = speech_gate(rate)
        self.speech_seconds = 0.0
        self.silence_after_speech = 0.0

    @property
    def speech_started(self) -> bool:
        return self.speech_seconds >= MIN_SPEECH_SECONDS

    def feed(self, block: np.ndarray) -> None:
        for speech in self._gate.feed(block):
            if speech:
                self.speech_seconds += FRAME_SECONDS
                self.silence_after_speech = 0.0
            elif self.speech_seconds > 0:
                self.silence_after_speech += FRAME_SECONDS


# (part length, pause) pairs for dictation: a part may end at a pause of 0.5 s once it is 3 s long,
# at a shorter pause as it grows, so what is left to send on release stays a few seconds long.
DICTATION_STEPS = ((3.0, 0.5), (5.0, 0.25), (8.0, 0.15))


class PauseSplitter:
    """Cut a live stream into parts at pauses, so finished parts can be transcribed while the
    speaker goes on. `steps` lists (part length, pause) pairs: a part that holds speech and is at
    least that long ends in the middle of a pause at least that long. No cut falls inside a word.
    No steps: never cut.
    """

    def __init__(
        self,
        rate: int,
        steps: Sequence[tuple[float, float]] = DICTATION_STEPS,
        *,
        max_lead_seconds: float | None = None,
    ) -> None:
        self.rate = rate
        # Silence before the first word of a part beyond this is dropped (hands-free listening).
        self._max_lead = int(max_lead_seconds * rate) if max_lead_seconds is not None else None
        self._gate = speech_gate(rate)
        # (samples, pause frames), longest part first
        self._steps = sorted(
            ((int(length * rate), max(1, round(pause / FRAME_SECONDS))) for length, pause in steps), reverse=True
        )
        self._audio: list[np.ndarray] = []
        self._samples = 0  # in the current part, including frames not yet classified
        self._classified = 0  # samples of the current part already classified
        self._speech_frames = 0
        self._quiet_run = 0
        self.position = 0  # where the current part starts, in samples since the stream began

    def _pause_needed(self, length: int) -> int | None:
        """Frames of pause that end a part of `length` samples; None while it is too short."""
        return next((frames for samples, frames in self._steps if length >= samples), None)

    def feed(self, block: np.ndarray) -> list[np.ndarray]:
        """Add a block; return the parts this block completed, oldest first."""
        return [part for _start, part in self.feed_timed(block)]

    def feed_timed(self, block: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Like feed, with where each part starts (in samples since the stream began)."""
        self._audio.append(block.reshape(-1))
        self._samples += block.size
        parts = []
        for speech in self._gate.feed(block):
            self._classified += self._gate.frame
            if speech:
                self._speech_frames += 1
                self._quiet_run = 0
                continue
            self._quiet_run += 1
            if self._max_lead is not None and not self._speech_frames and self._classified > self._max_lead:
                self._drop(self._classified - self._max_lead)
                continue
            cut = self._classified - self._quiet_run * self._gate.frame // 2
            needed = self._pause_needed(cut)
            if needed is not None and self._quiet_run >= needed and self._speech_frames:
                parts.append((self.position, self._cut(cut)))
        return parts

    def _cut(self, at: int) -> np.ndarray:
        audio = np.concatenate(self._audio)
        part, rest = audio[:at], audio[at:]
        self._audio = [rest]
        self._samples = len(rest)
        self.position += at
        self._classified -= at
        self._speech_frames = 0
        self._quiet_run = self._classified // self._gate.frame
        return part

    def _drop(self, count: int) -> None:
        audio = np.concatenate(self._audio)
        self._audio = [audio[count:]]
        self._samples -= count
        self._classified -= count
        self.position += count
        self._quiet_run = min(self._quiet_run, self._classified // self._gate.frame)

    def rest(self) -> np.ndarray:
        """Everything after the last cut."""
        return np.concatenate(self._audio) if self._audio else np.empty(0, dtype=np.int16)


def split_at_pauses(recording: Recording, max_seconds: float) -> list[Recording]:
    """Cut a recording into parts of at most `max_seconds`, each cut at the quietest moment of the
    last third of its window (a pause between words whenever there is one)."""
    rate, samples = recording.rate, recording.samples
    limit = int(max_seconds * rate)
    if len(samples) <= limit:
        return [recording]
    frame = max(1, int(rate * FRAME_SECONDS))
    parts, start = [], 0
    while len(samples) - start > limit:
        window_start = start + (limit * 2 // 3) // frame * frame
        levels = frame_levels(samples[window_start : start + limit], rate)
        if len(levels) == 0:
            cut = start + limit
        else:
            # Quietest frame; among equally quiet ones the latest, to keep parts long.
            quietest = len(levels) - 1 - int(np.argmin(levels[::-1]))
            cut = window_start + quietest * frame + frame // 2
        parts.append(Recording(samples[start:cut], rate))
        start = cut
    parts.append(Recording(samples[start:], rate))
    return parts


def split_for_upload(recording: Recording, fmt: str, max_bytes: int) -> list[tuple[Recording, EncodedAudio]]:
    """The recording, or parts of it cut at pauses, each encoded in `fmt` to at most max_bytes."""
    encoded = encode(recording, fmt)
    if len(encoded.data) <= max_bytes:
        return [(recording, encoded)]
    if recording.seconds < 1.0:
        raise DictateError(f"cannot fit audio into uploads of {max_bytes} bytes; raise [api] max_upload_mb", EXIT_USAGE)
    seconds = recording.seconds * 0.95 * max_bytes / len(encoded.data)
    parts: list[tuple[Recording, EncodedAudio]] = []
    for part in split_at_pauses(recording, seconds):
        parts.extend(split_for_upload(part, fmt, max_bytes))  # a part still too large is cut again
    return parts
