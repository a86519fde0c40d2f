from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dictate import DictateError
from dictate.audio import (
    Recording,
    SpeechTracker,
    decode,
    encode,
    has_speech,
    read_file,
    resample,
    speech_seconds,
)

RATE = 16000


def tone(seconds: float, freq: float = 440.0, level: float = 0.3, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * level * 32767).astype(np.int16)


def silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.int16)


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


def test_speech_detection() -> None:
    assert not has_speech(Recording(silence(2.0), RATE))
    noise = (np.random.default_rng(1).normal(0, 30, 2 * RATE)).astype(np.int16)  # about -60 dBFS hiss
    assert not has_speech(Recording(noise, RATE))
    speechlike = np.concatenate([noise[:RATE], tone(0.5) + noise[: RATE // 2], noise[:RATE]])
    assert has_speech(Recording(speechlike, RATE))
    assert 0.4 <= speech_seconds(Recording(speechlike, RATE)) <= 0.6


def test_tracker_counts_silence_after_speech_across_odd_blocks() -> None:
    tracker = SpeechTracker(RATE)
    audio = np.concatenate([silence(0.5), tone(0.6), silence(1.2)])
    for start in range(0, len(audio), 333):
        tracker.feed(audio[start : start + 333])
    assert tracker.speech_started
    assert 0.8 <= tracker.silence_after_speech <= 1.25  # the VAD holds on to speech a few frames longer
    assert 0.5 <= tracker.speech_seconds <= 0.9


def test_tracker_ignores_silence_before_speech() -> None:
    tracker = SpeechTracker(RATE)
    tracker.feed(silence(3.0))
    assert not tracker.speech_started
    assert tracker.silence_after_speech == 0


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


@pytest.mark.parametrize("block", [160, 1024, 4000])
def test_pause_splitter_cuts_only_in_pauses_and_loses_nothing(block: int) -> None:
    from dictate.audio import PauseSplitter

    audio, pauses = speech_with_pauses()
    splitter = PauseSplitter(RATE, ((4.0, 0.6),))
    parts: list[np.ndarray] = []
    for start in range(0, len(audio), block):
        parts.extend(splitter.feed(audio[start : start + block]))
    np.testing.assert_array_equal(np.concatenate([*parts, splitter.rest()]), audio)
    cuts = np.cumsum([len(p) for p in parts])
    assert len(cuts) == 1  # the pause after 2 s is too early, the 0.3 s one too short, the last is 1.5 s of burst
    for cut in cuts:
        assert any(lo < cut < hi for lo, hi in pauses), cut
    assert len(parts[0]) / RATE >= 4.0


def test_pause_splitter_that_never_cuts() -> None:
    from dictate.audio import PauseSplitter

    audio, _ = speech_with_pauses()
    splitter = PauseSplitter(RATE, ())  # incremental transcription off
    assert splitter.feed(audio) == []
    np.testing.assert_array_equal(splitter.rest(), audio)


def test_pause_splitter_does_not_cut_silence_only() -> None:
    from dictate.audio import PauseSplitter

    splitter = PauseSplitter(RATE, ((1.0, 0.6),))
    assert splitter.feed(silence(10.0)) == []
    assert len(splitter.rest()) == 10 * RATE


def test_split_at_pauses_respects_limit_and_prefers_pauses() -> None:
    from dictate.audio import split_at_pauses

    audio, pauses = speech_with_pauses()
    parts = split_at_pauses(Recording(audio, RATE), max_seconds=4.0)
    assert all(p.seconds <= 4.0 for p in parts)
    np.testing.assert_array_equal(np.concatenate([p.samples for p in parts]), audio)
    cuts = np.cumsum([len(p.samples) for p in parts])[:-1]
    in_pause = sum(any(lo <= c <= hi for lo, hi in pauses) for c in cuts)
    assert in_pause >= len(cuts) - 1  # at most one cut had no pause within its window


def test_split_for_upload_stays_under_the_limit() -> None:
    from dictate.audio import split_for_upload

    audio, _ = speech_with_pauses()
    rec = Recording(audio, RATE)
    for fmt, limit in [("wav", 100_000), ("flac", 60_000), ("ogg", 8_000)]:
        parts = split_for_upload(rec, fmt, limit)
        assert len(parts) > 1, fmt
        assert all(len(encoded.data) <= limit for _, encoded in parts), fmt
        np.testing.assert_array_equal(np.concatenate([p.samples for p, _ in parts]), audio)
        total = sum(decode(encoded.data).seconds for _, encoded in parts)
        assert abs(total - rec.seconds) < 0.1 * len(parts), fmt
    assert len(split_for_upload(rec, "wav", 10_000_000)) == 1


def test_speech_without_any_quiet_moment_still_counts() -> None:
    assert has_speech(Recording(tone(0.5), RATE))  # a tightly trimmed clip: no quiet frame to learn a floor from
    hiss = (np.random.default_rng(2).normal(0, 150, 2 * RATE)).astype(np.int16)  # about -47 dBFS, no speech
    assert not has_speech(Recording(hiss, RATE))


def test_gates_agree_on_clear_cases_and_fall_back_without_webrtcvad(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from dictate.audio import FrameGate, VadGate, speech_gate

    assert isinstance(speech_gate(16000), VadGate)
    assert isinstance(speech_gate(44100), FrameGate)  # WebRTC's VAD takes 8, 16, 32 or 48 kHz only
    real_import = builtins.__import__

    def no_webrtcvad(name: str, *args: object, **kwargs: object) -> object:
        if name == "webrtcvad":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_webrtcvad)
    assert isinstance(speech_gate(16000), FrameGate)
    monkeypatch.undo()
    for gate in (FrameGate(RATE), VadGate(RATE)):
        flags = gate.feed(np.concatenate([silence(1.0), tone(1.0)]))
        assert not any(flags[:30]) and sum(flags[35:]) >= 25, type(gate).__name__


def test_dictation_steps_cut_long_speech_at_shorter_pauses() -> None:
    from dictate.audio import DICTATION_STEPS, PauseSplitter

    pieces, pauses, pos = [], [], 0
    for n in range(12):  # 1.5 s "sentences" with only 0.45 s between them: never a 0.6 s pause
        pieces += [tone(1.5, freq=250 + 40 * n), silence(0.45)]
        pos += int(1.5 * RATE)
        pauses.append((pos, pos + int(0.45 * RATE)))
        pos += int(0.45 * RATE)
    audio = np.concatenate(pieces)
    splitter = PauseSplitter(RATE, DICTATION_STEPS)
    parts = [p for start in range(0, len(audio), 320) for p in splitter.feed(audio[start : start + 320])]
    assert len(parts) >= 3
    assert all(5.0 <= len(p) / RATE <= 8.5 for p in parts), [len(p) / RATE for p in parts]
    for cut in np.cumsum([len(p) for p in parts]):
        assert any(lo < cut < hi for lo, hi in pauses)
