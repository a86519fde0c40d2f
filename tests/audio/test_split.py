from __future__ import annotations

import numpy as np
import pytest

from dictate.audio import (
    Recording,
    decode,
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


def test_dictation_steps_move_up_to_the_shortest_part() -> None:
    from dictate.audio import DICTATION_STEPS, dictation_steps

    assert dictation_steps() == DICTATION_STEPS
    assert dictation_steps(2.0) == DICTATION_STEPS  # never shorter than the cuts' own lengths
    assert dictation_steps(10.0) == ((10.0, 0.5), (12.0, 0.25), (15.0, 0.15))
