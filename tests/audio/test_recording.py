from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dictate import DictateError
from dictate.audio import (
    Recording,
    decode,
    encode,
    read_file,
    resample,
)

RATE = 16000


def tone(seconds: float, freq: float = 440.0, level: float = 0.3, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * level * 32767).astype(np.int16)


def silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.int16)


def speech_with_pauses() -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Tone bursts (stand-ins for words) separated by pauses; returns the audio and the pause spans."""
    pieces, pauses, pos = [], [], 0
    for burst, pause in [(2.0, 0.8), (3.0, 0.8), (1.0, 0.3), (1.5, 0.8), (2.0, 0.0)]:
        pieces.append(tone(burst, freq=300 + 50 * len(pieces)))
        pos += int(burst * RATE)
        if pause:
            pieces.append(silence(pause))
            pauses.append((pos, pos + int(pause * RATE)))
            pos += int(pause * RATE)
    return np.concatenate(pieces), pauses


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_lossless_round_trip(fmt: str) -> None:
    rec = Recording(tone(1.0), RATE)
    encoded = encode(rec, fmt)
    assert encoded.filename == f"audio.{fmt}"
    info = sf.info(io.BytesIO(encoded.data))
    assert (info.samplerate, info.channels, info.subtype) == (RATE, 1, "PCM_16")
    np.testing.assert_array_equal(decode(encoded.data).samples, rec.samples)


def test_wav_is_32_kb_per_second_at_16k() -> None:
    encoded = encode(Recording(tone(2.0), RATE), "wav")
    assert abs(len(encoded.data) - 2 * 32000) < 100


def test_ogg_is_opus_named_ogg_and_much_smaller() -> None:
    rec = Recording(tone(2.0), RATE)
    encoded = encode(rec, "ogg")
    assert encoded.filename == "audio.ogg" and encoded.mime == "audio/ogg"
    info = sf.info(io.BytesIO(encoded.data))
    assert (info.format, info.subtype) == ("OGG", "OPUS")
    assert len(encoded.data) < len(encode(rec, "wav").data) / 4
    back = decode(encoded.data)
    assert abs(back.seconds - rec.seconds) < 0.05


def test_opus_at_unsupported_rate_is_resampled_to_an_opus_rate() -> None:
    encoded = encode(Recording(tone(1.0, rate=44100), 44100), "ogg")
    assert sf.info(io.BytesIO(encoded.data)).samplerate == 48000


def test_resample_keeps_pitch_and_length() -> None:
    src = tone(1.0, freq=440, rate=48000)
    out = resample(src, 48000, RATE)
    assert len(out) == RATE
    spectrum = np.abs(np.fft.rfft(out.astype(float)))
    assert abs(np.argmax(spectrum) * RATE / len(out) - 440) < 2


def test_read_file_downmixes_and_resamples(tmp_path: Path) -> None:
    stereo = np.stack([tone(1.0, rate=44100), tone(1.0, rate=44100)], axis=1)
    path = tmp_path / "stereo.flac"
    sf.write(path, stereo, 44100)
    rec = read_file(path)
    assert rec.rate == RATE and rec.samples.ndim == 1
    assert abs(rec.seconds - 1.0) < 0.01


def test_read_file_errors(tmp_path: Path) -> None:
    with pytest.raises(DictateError, match="no such file"):
        read_file(tmp_path / "missing.wav")
    text = tmp_path / "notes.txt"
    text.write_text("not audio at all\n" * 10)
    with pytest.raises(DictateError, match="not an audio file"):
        read_file(text)
    with pytest.raises(DictateError, match="is a directory"):
        read_file(tmp_path)
