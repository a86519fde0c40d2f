"""Recordings as data: in-memory encoding and decoding, resampling. Pure numpy/soundfile/soxr."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from dictate.audio.decoders import DecodeError, SoundfileDecoder, Unreadable, to_int16
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
    """Decode an in-memory file (any format soundfile reads, any sample format) into a mono recording."""
    try:
        decoder = SoundfileDecoder(io.BytesIO(data), None)
    except Unreadable as exc:
        raise DictateError(f"audio data: not an audio file that can be read ({exc})", ExitCode.USAGE) from None
    try:
        blocks = list(decoder.blocks())
    except DecodeError as exc:
        raise DictateError(f"audio data: damaged ({exc})", ExitCode.USAGE) from None
    finally:
        decoder.close()
    return Recording(np.concatenate(blocks) if blocks else np.empty(0, dtype=np.int16), decoder.rate)


def resample(samples: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Resample int16 audio with soxr (band-limited, no aliasing, the same filter as for files)."""
    if src == dst or len(samples) == 0:
        return samples
    import soxr

    out = soxr.resample(samples.astype(np.float32) / 32768.0, src, dst, quality="HQ")
    return to_int16(np.asarray(out))
