"""Decoders: every sample format scaled, blocks bounded whatever the header says, resampling without
seams, and the FFmpeg decoders (PyAV, the ffmpeg command) on real encoded files."""

from __future__ import annotations

import io
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dictate.audio import decoders
from dictate.audio.decoders import (
    BLOCK_BYTES,
    BlockResampler,
    DecodeError,
    FfmpegDecoder,
    PyAVDecoder,
    SoundfileDecoder,
    Unreadable,
    to_int16,
)
from tests.conftest import rig_unavailable
from tests.rig.formats import encode

RATE = 16000


def tone(seconds: float, freq: float = 440.0, level: float = 0.5, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.sin(2 * np.pi * freq * t) * level


def decode_all(decoder: decoders.Decoder) -> np.ndarray:
    try:
        return np.concatenate(list(decoder.blocks()))
    finally:
        decoder.close()


def level(samples: np.ndarray) -> float:
    """RMS relative to full scale."""
    return float(np.sqrt(np.mean((samples.astype(np.float64) / 32768) ** 2)))


def wav_header(channels: int, rate: int, bits: int, data_bytes: int, fmt: int = 1) -> bytes:
    block = channels * bits // 8
    fields = struct.pack("<IHHIIHH", 16, fmt, channels, rate, (rate * block) & 0xFFFFFFFF, block, bits)
    riff = struct.pack("<I", (36 + data_bytes) & 0xFFFFFFFF)
    return b"RIFF" + riff + b"WAVEfmt " + fields + b"data" + struct.pack("<I", data_bytes & 0xFFFFFFFF)


@pytest.mark.parametrize("subtype", ["FLOAT", "DOUBLE", "PCM_U8", "PCM_24", "PCM_32", "ULAW", "ALAW"])
def test_every_sample_format_is_scaled_to_int16(subtype: str) -> None:
    buf = io.BytesIO()
    sf.write(buf, tone(1.0), RATE, format="WAV", subtype=subtype)
    buf.seek(0)
    out = decode_all(SoundfileDecoder(buf, RATE))
    assert len(out) == RATE
    # A sine at half of full scale has an RMS of 0.354; read as int16 without scaling, a float file
    # was all zeros.
    assert level(out) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_float_beyond_full_scale_is_clipped_and_nan_is_silence() -> None:
    samples = np.array([0.5, 1.5, -3.0, np.nan, np.inf, -np.inf, -1.0], dtype=np.float32)
    assert to_int16(samples).tolist() == [16384, 32767, -32768, 0, 32767, -32768, -32768]


def test_int16_round_trips_exactly() -> None:
    samples = (tone(0.5) * 65000).clip(-32768, 32767).astype(np.int16)
    samples[:3] = [-32768, 32767, 0]
    buf = io.BytesIO()
    sf.write(buf, samples, RATE, format="WAV", subtype="PCM_16")
    buf.seek(0)
    np.testing.assert_array_equal(decode_all(SoundfileDecoder(buf, RATE)), samples)


def test_channels_are_mixed_to_mono() -> None:
    left, right = tone(1.0, 440, 0.4), tone(1.0, 440, 0.2)
    buf = io.BytesIO()
    sf.write(buf, np.stack([left, right] * 4, axis=1), RATE, format="WAV", subtype="FLOAT")  # 8 channels
    buf.seek(0)
    decoder = SoundfileDecoder(buf, RATE)
    assert "8 channel" in decoder.description
    assert level(decode_all(decoder)) == pytest.approx(0.3 / np.sqrt(2), rel=0.02)


def test_a_block_is_bounded_in_bytes_whatever_the_channel_count() -> None:
    channels = 1024  # the most libsndfile allows
    buf = io.BytesIO()
    sf.write(buf, np.zeros((3000, channels), dtype=np.int16), RATE, format="WAV")
    buf.seek(0)
    decoder = SoundfileDecoder(buf, RATE)
    sizes = [len(block) for block in decoder.blocks()]
    assert sum(sizes) == 3000
    assert max(sizes) * channels * 4 <= BLOCK_BYTES


def test_a_header_claiming_more_than_the_data_reads_what_is_there() -> None:
    data = (tone(0.1) * 32767).astype("<i2").tobytes()
    buf = io.BytesIO(wav_header(1, RATE, 16, 0xFFFFFFF0) + data)  # announces 4 GB
    assert len(decode_all(SoundfileDecoder(buf, RATE))) == len(data) // 2


@pytest.mark.parametrize("rate", [1, 999, 800_000])
def test_absurd_sample_rates_are_refused(rate: int) -> None:
    buf = io.BytesIO(wav_header(1, rate, 16, 2000) + b"\0" * 2000)
    with pytest.raises(Unreadable, match=f"sample rate of {rate} Hz"):
        SoundfileDecoder(buf, RATE)


def test_a_file_damaged_part_way_gives_what_came_before_then_fails(tmp_path: Path) -> None:
    path = tmp_path / "cut.flac"
    noise = np.random.default_rng(1).standard_normal(RATE * 3) * 0.1
    sf.write(path, noise, RATE)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    decoder = SoundfileDecoder(io.BytesIO(path.read_bytes()), RATE)
    got: list[np.ndarray] = []
    with pytest.raises(DecodeError):
        got.extend(decoder.blocks())
    assert RATE // 2 < sum(len(b) for b in got) < RATE * 3


@pytest.mark.parametrize(("src", "dst"), [(48000, 16000), (44100, 16000), (8000, 16000), (22050, 16000)])
def test_block_resampling_has_no_seams(src: int, dst: int) -> None:
    signal = np.random.default_rng(2).standard_normal(src * 3).astype(np.float32) * 0.1
    whole = BlockResampler(src, dst).feed(signal, last=True)
    resampler = BlockResampler(src, dst)
    step = 1237  # blocks that line up with nothing
    pieces = [resampler.feed(signal[i : i + step], last=i + step >= len(signal)) for i in range(0, len(signal), step)]
    blockwise = np.concatenate(pieces)
    assert abs(len(blockwise) - len(signal) * dst / src) <= 1
    np.testing.assert_allclose(blockwise[: len(whole)], whole[: len(blockwise)], atol=1e-6)


def test_resampling_keeps_the_pitch_and_removes_what_the_new_rate_cannot_hold() -> None:
    src = 48000
    out = BlockResampler(src, RATE).feed(tone(2.0, 1000, rate=src).astype(np.float32), last=True)
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * RATE / len(out) - 1000) < 2
    alias = BlockResampler(src, RATE).feed(tone(2.0, 9000, rate=src).astype(np.float32), last=True)
    assert np.max(np.abs(alias[RATE // 4 : -RATE // 4])) < 1e-3  # 9 kHz is above 16 kHz's Nyquist


@pytest.fixture
def pyav() -> None:
    try:
        import av  # noqa: F401
    except ImportError:
        rig_unavailable("PyAV is not installed (pip install -e '.[test]')")


@pytest.mark.usefixtures("pyav")
@pytest.mark.parametrize("suffix", ["m4a", "aac", "webm"])
@pytest.mark.parametrize("decoder", ["pyav", "ffmpeg"])
def test_ffmpeg_decoders_read_what_libsndfile_cannot(
    tmp_path: Path, clip: Callable[[str], Path], suffix: str, decoder: str
) -> None:
    if decoder == "ffmpeg" and shutil.which("ffmpeg") is None:
        rig_unavailable("ffmpeg is not installed (apt-get install ffmpeg)")
    source = clip("the quick brown fox jumps over the lazy dog")
    original, _ = sf.read(source, dtype="int16")
    path = encode(source, suffix, tmp_path)
    with pytest.raises(Unreadable, match="Format not recognised"):
        SoundfileDecoder(str(path), RATE)
    if decoder == "pyav":
        with path.open("rb") as f:
            out = decode_all(PyAVDecoder(f, RATE))
    else:
        out = decode_all(FfmpegDecoder(str(path), RATE))
    assert abs(len(out) - len(original)) < 0.2 * RATE  # encoder priming and padding (raw aac keeps both)
    assert level(out) == pytest.approx(level(original), rel=0.1)


@pytest.mark.usefixtures("pyav")
def test_ffmpeg_decoders_name_what_they_cannot_read(tmp_path: Path) -> None:
    text = tmp_path / "notes.m4a"
    text.write_text("not audio\n" * 50)
    with text.open("rb") as f, pytest.raises(Unreadable, match="Invalid data"):
        PyAVDecoder(f, RATE)
    if shutil.which("ffmpeg"):
        with pytest.raises(Unreadable, match="Invalid data") as caught:
            FfmpegDecoder(str(text), RATE)
        assert "file:" not in str(caught.value)


def test_a_missing_decoder_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    monkeypatch.setenv("PATH", str(tmp_path))  # and no ffmpeg on PATH
    with pytest.raises(Unreadable, match=decoders.PYAV_MISSING):
        PyAVDecoder(io.BytesIO(b"x"), RATE)
    with pytest.raises(Unreadable, match=decoders.FFMPEG_MISSING):
        FfmpegDecoder(str(tmp_path / "x.m4a"), RATE)
