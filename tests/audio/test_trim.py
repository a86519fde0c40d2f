"""The silence gate for files: speech kept whole with its margin, long pauses shortened, silence and
noise never sent, parts bounded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dictate.audio import Recording, SpeechTrimmer
from dictate.audio.trim import PAD_SECONDS

RATE = 16000
Clip = Callable[[str], Path]


@pytest.fixture
def words(clip: Clip) -> np.ndarray:
    samples, rate = sf.read(clip("the quick brown fox jumps over the lazy dog"), dtype="int16")
    assert rate == RATE
    return np.asarray(samples)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def noise(seconds: float, dbfs: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * RATE)) * 10 ** (dbfs / 20) * 32768).astype(np.int16)


def blocks(samples: np.ndarray, size: int = 1237) -> Iterator[np.ndarray]:
    for start in range(0, len(samples), size):
        yield samples[start : start + size]


def trim(samples: np.ndarray, **kw: float) -> tuple[list[Recording], SpeechTrimmer]:
    trimmer = SpeechTrimmer(RATE, **kw)
    parts = [part for block in blocks(samples) for part in trimmer.feed(block)]
    return [*parts, *trimmer.finish()], trimmer


def contains(haystack: np.ndarray, needle: np.ndarray) -> bool:
    """Whether `needle` appears whole and unchanged in `haystack`."""
    starts = np.flatnonzero(haystack[: len(haystack) - len(needle) + 1] == needle[0])
    return any(np.array_equal(haystack[s : s + len(needle)], needle) for s in starts)


@pytest.mark.parametrize(
    "audio",
    [silence(30), noise(30, -70), noise(30, -45)],
    ids=["digital silence", "noise at -70 dBFS", "noise at -45 dBFS"],
)
def test_no_speech_gives_no_part(audio: np.ndarray) -> None:
    parts, trimmer = trim(audio)
    assert parts == []
    assert not trimmer.has_speech
    assert trimmer.seconds_read == pytest.approx(30)


def test_speech_is_kept_whole_and_long_pauses_are_shortened(words: np.ndarray) -> None:
    audio = np.concatenate([silence(20), words, silence(60), words, silence(0.5), words, silence(20)])
    parts, trimmer = trim(audio)
    (part,) = parts
    assert trimmer.has_speech
    kept = part.samples
    # Each spoken phrase is there, sample for sample, and the 0.5 s pause between the last two stays.
    assert contains(kept, np.concatenate([words, silence(0.5), words]))
    assert contains(kept, words)
    # 100 s of silence around and between them are gone, bar the margins.
    speech = 3 * len(words) + len(silence(0.5))
    assert speech <= len(kept) <= speech + int(4 * PAD_SECONDS * RATE) + 2 * 480
    assert trimmer.samples_kept == len(kept)


def test_long_input_is_cut_into_bounded_parts_at_pauses(words: np.ndarray) -> None:
    phrase = np.concatenate([words, silence(3)])
    audio = np.tile(phrase, 12)  # about 70 s: words, then a long pause, over and over
    parts, trimmer = trim(audio, part_seconds=10, max_part_seconds=20)
    assert len(parts) > 3
    for part in parts:
        assert part.seconds <= 20
        assert contains(part.samples, words)  # a cut never falls inside the phrase
    assert sum(len(p.samples) for p in parts) == trimmer.samples_kept


def test_speech_without_pauses_is_cut_at_its_quietest_moments(words: np.ndarray) -> None:
    audio = np.tile(words, 20)  # one minute of speech, no pause longer than flite's own
    parts, trimmer = trim(audio, part_seconds=10, max_part_seconds=15)
    assert len(parts) >= 4
    assert all(part.seconds <= 15 for part in parts)
    # Nothing is lost or repeated across the cuts.
    np.testing.assert_array_equal(np.concatenate([p.samples for p in parts]), audio[: trimmer.samples_kept])
    assert trimmer.samples_kept >= len(audio) - RATE


def test_a_lone_click_of_speech_is_not_enough(words: np.ndarray) -> None:
    blip = words[len(words) // 2 : len(words) // 2 + int(0.06 * RATE)]
    parts, trimmer = trim(np.concatenate([silence(5), blip, silence(5)]))
    assert parts == [] and not trimmer.has_speech
