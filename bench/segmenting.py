"""Cutting a live recording at pauses: dictate's energy detector against webrtcvad.

Both drive the same `dictate.audio.PauseSplitter` with the daemon's settings (a pause of 0.6 s,
parts of at least 4 s); only the frame classifier differs. The recording is streamed in 20 ms
blocks as a microphone delivers it. Ground truth for word boundaries is pocketsphinx's word
segmentation of the whole clean recording: a cut inside a word's [start, end] is a bad cut.

The main table adds white noise at two SNRs and recognizes the parts; a sweep then counts bad cuts
over more noise levels and draws, at a quiet input level, the recording's own, and a hot one.

    python -m bench.segmenting
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from itertools import pairwise

import numpy as np

from bench import speech
from bench.wer import word_errors
from dictate import audio
from dictate.audio import DICTATION_STEPS, FRAME_SECONDS, FrameGate, PauseSplitter

COMMAND = "python -m bench.segmenting"
BLOCK_SECONDS = 0.02
PAUSE_SECONDS = 0.6  # the daemon's PauseSplitter settings
MIN_PART_SECONDS = 4.0
NOISE_SNR_DB = (20.0, 10.0)  # with recognition
SWEEP_SNR_DB = (20.0, 15.0, 10.0, 5.0)  # cuts only, several noise draws each
SWEEP_SEEDS = 5
QUIET_GAIN_DB = -12.0  # the sweep again with the input turned down by this much,
HOT_PEAK_DBFS = -1.0  # and turned up until its peak is here
TIMING_REPEATS = 3
FLITE_GAPS = (0.35, 0.8, 0.5, 1.0, 0.65)  # seconds between flite sentences when they stand in

Words = tuple[tuple[str, float, float], ...]


class VadGate:
    """webrtcvad behind FrameGate's interface: a speech flag for every whole frame of a stream."""

    def __init__(self, rate: int, mode: int) -> None:
        import webrtcvad

        if rate not in (8000, 16000, 32000, 48000):
            raise ValueError(f"webrtcvad takes 8, 16, 32 or 48 kHz, not {rate} Hz")
        self.rate = rate
        self.frame = int(rate * FRAME_SECONDS)  # 30 ms, one of the frame lengths webrtcvad accepts
        self._vad = webrtcvad.Vad(mode)
        self._pending = np.empty(0, dtype=np.int16)

    def feed(self, block: np.ndarray) -> list[bool]:
        data = np.concatenate([self._pending, block.reshape(-1)])
        whole = len(data) // self.frame * self.frame
        self._pending = data[whole:]
        return [self._vad.is_speech(data[i : i + self.frame].tobytes(), self.rate) for i in range(0, whole, self.frame)]


@dataclass(frozen=True)
class Detector:
    label: str
    gate: Callable[[int], FrameGate | VadGate]
    over_floor_db: float | None = None  # run dictate's FrameGate with this margin instead of its own


ENERGY = Detector("energy (dictate FrameGate)", FrameGate)
WEBRTC = tuple(Detector(f"webrtcvad mode {mode}", lambda rate, m=mode: VadGate(rate, m)) for mode in range(4))
DETECTORS = (ENERGY, *WEBRTC)
# For the sweep only: dictate's gate with a smaller margin over the noise floor than its 15 dB.
ENERGY_MARGINS = tuple(Detector(f"energy, {db:g} dB over floor", FrameGate, db) for db in (9.0, 3.0))


@contextmanager
def _margin(detector: Detector) -> Iterator[None]:
    saved = audio.SPEECH_OVER_FLOOR_DB
    if detector.over_floor_db is not None:
        audio.SPEECH_OVER_FLOOR_DB = detector.over_floor_db
    try:
        yield
    finally:
        audio.SPEECH_OVER_FLOOR_DB = saved


def _blocks(samples: np.ndarray) -> list[np.ndarray]:
    step = int(speech.RATE * BLOCK_SECONDS)
    return [samples[i : i + step] for i in range(0, len(samples), step)]


def cut_points(samples: np.ndarray, detector: Detector) -> list[int]:
    """Where PauseSplitter, classifying with `detector`, cuts the streamed samples."""
    splitter = PauseSplitter(speech.RATE, ((MIN_PART_SECONDS, PAUSE_SECONDS),))
    splitter._gate = detector.gate(speech.RATE)  # same cutting rules, another classifier
    cuts = []
    with _margin(detector):
        for block in _blocks(samples):
            cuts += [start + len(part) for start, part in splitter.feed_timed(block)]
    return cuts


def speech_flags(samples: np.ndarray, detector: Detector) -> np.ndarray:
    gate = detector.gate(speech.RATE)
    with _margin(detector):
        return np.array([flag for block in _blocks(samples) for flag in gate.feed(block)], dtype=bool)


def flag_rates(flags: np.ndarray, words: Words) -> tuple[float, float]:
    """Share of frames flagged speech among frames inside words, and among frames outside them."""
    centers = (np.arange(len(flags)) + 0.5) * FRAME_SECONDS
    in_word = np.zeros(len(flags), dtype=bool)
    for _, start, end in words:
        in_word |= (centers >= start) & (centers < end)
    inside = float(flags[in_word].mean()) if in_word.any() else 0.0
    outside = float(flags[~in_word].mean()) if (~in_word).any() else 0.0
    return inside, outside


def margin(t: float, words: Words) -> tuple[float, str]:
    """How far a cut at `t` seconds is from the nearest word edge, negative inside a word; and that word."""
    inside = [(min(t - start, end - t), name) for name, start, end in words if start < t < end]
    if inside:
        depth, name = max(inside)
        return -depth, name
    return min(((min(abs(t - start), abs(t - end)), name) for name, start, end in words), default=(np.inf, ""))


def bad_cuts(cuts_s: list[float], words: Words) -> list[tuple[float, str, float]]:
    """(time, word, depth) of every cut inside a word."""
    return [(t, w, -m) for t in cuts_s for m, w in [margin(t, words)] if m < 0]


def worst_margin(cuts_s: list[float], words: Words) -> float | None:
    return min((margin(t, words)[0] for t in cuts_s), default=None)


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{1000 * seconds:.0f}".replace("-", "−")


@dataclass
class _Row:
    condition: str
    detector: Detector
    samples: np.ndarray
    cuts: list[int]
    cpu: float
    flags: np.ndarray
    parts: list[int]  # indices of the parts' clips in the recognition batch
    whole: int  # index of the whole recording in the recognition batch


def _main_table(material: speech.Material) -> tuple[str, list[str], Words]:
    clean = material.recording.samples
    seconds = material.recording.seconds
    conditions = [("clean", clean)]
    conditions += [(f"{snr:g} dB SNR", speech.with_noise(clean, snr)) for snr in NOISE_SNR_DB]

    # Cut and time everything first, then recognize the whole recordings and every distinct part at once.
    batch: list[np.ndarray] = []
    rows: list[_Row] = []
    for condition, samples in conditions:
        whole = len(batch)
        batch.append(samples)
        seen: dict[tuple[int, ...], list[int]] = {}
        for detector in DETECTORS:
            cuts = cut_points(samples, detector)
            cpu = speech.cpu_seconds(lambda s=samples, d=detector: cut_points(s, d), TIMING_REPEATS)
            if tuple(cuts) not in seen:
                bounds = [0, *cuts, len(samples)]
                seen[tuple(cuts)] = list(range(len(batch), len(batch) + len(bounds) - 1))
                batch += [samples[a:b] for a, b in pairwise(bounds)]
            flags = speech_flags(samples, detector)
            rows.append(_Row(condition, detector, samples, cuts, cpu, flags, seen[tuple(cuts)], whole))
    transcripts = speech.recognize(batch)
    words = transcripts[rows[0].whole].words  # the clean whole recording's word segmentation

    table_rows, bad_lines = [], []
    for row in rows:
        cuts_s = [c / speech.RATE for c in row.cuts]
        bad = bad_cuts(cuts_s, words)
        bounds = [0.0, *cuts_s, len(row.samples) / speech.RATE]
        in_words, in_pauses = flag_rates(row.flags, words)
        parts_text = " ".join(transcripts[i].text for i in row.parts)
        table_rows.append(
            [
                row.condition,
                row.detector.label,
                len(row.cuts),
                len(bad),
                _ms(worst_margin(cuts_s, words)),
                " ".join(f"{b - a:.1f}" for a, b in pairwise(bounds)),
                f"{100 * in_words:.0f}% / {100 * in_pauses:.0f}%",
                f"{1000 * row.cpu / seconds:.2f}",
                speech.percent(word_errors(material.text, parts_text).rate),
                speech.percent(word_errors(material.text, transcripts[row.whole].text).rate),
            ]
        )
        if bad:
            where = ", ".join(f'"{w}" at {t:.2f} s ({1000 * depth:.0f} ms in)' for t, w, depth in bad)
            bad_lines.append(f"- {row.condition}, {row.detector.label}: {where}")
    headers = [
        "audio",
        "detector",
        "cuts",
        "cuts inside a word",
        "worst cut: ms from a word edge (− inside)",
        "part lengths, s",
        "flagged speech: word time / other time",
        "CPU ms per audio s",
        "WER parts",
        "WER whole",
    ]
    return speech.table(headers, table_rows), bad_lines, words


def _cell(runs: list[list[float]], words: Words) -> str:
    """Bad cuts / all cuts over several runs, and the worst cut's margin."""
    bad = sum(len(bad_cuts(cuts_s, words)) for cuts_s in runs)
    total = sum(len(cuts_s) for cuts_s in runs)
    margins = [m for cuts_s in runs if (m := worst_margin(cuts_s, words)) is not None]
    return f"{bad}/{total}, {_ms(min(margins, default=None))}"


def _scaled(samples: np.ndarray, gain: float) -> np.ndarray:
    return np.clip(np.round(samples * gain), -32768, 32767).astype(np.int16)


def _sweep_table(clean: np.ndarray, words: Words) -> str:
    headers = ["input level", "detector", "clean", *(f"{snr:g} dB SNR" for snr in SWEEP_SNR_DB)]
    peak_gain = 10 ** (HOT_PEAK_DBFS / 20) * 32767 / max(1, int(np.max(np.abs(clean.astype(np.int32)))))
    levels = [
        (f"{QUIET_GAIN_DB:+g} dB (quiet input)", _scaled(clean, 10 ** (QUIET_GAIN_DB / 20))),
        ("as recorded", clean),
        (f"peak at {HOT_PEAK_DBFS:g} dBFS ({20 * np.log10(peak_gain):+.1f} dB)", _scaled(clean, peak_gain)),
    ]
    rows = []
    for level, samples in levels:
        noisy = {
            snr: [speech.with_noise(samples, snr, seed) for seed in range(1, SWEEP_SEEDS + 1)] for snr in SWEEP_SNR_DB
        }
        for detector in (*DETECTORS, *ENERGY_MARGINS):
            row: list[object] = [level.replace("-", "−"), detector.label]
            row.append(_cell([[c / speech.RATE for c in cut_points(samples, detector)]], words))
            for snr in SWEEP_SNR_DB:
                row.append(_cell([[c / speech.RATE for c in cut_points(x, detector)] for x in noisy[snr]], words))
            rows.append(row)
    return speech.table(headers, rows)


def dictation_cuts(samples: np.ndarray) -> tuple[list[int], list[float]]:
    """Where the daemon, as configured (DICTATION_STEPS, its default detector), cuts; and part lengths."""
    splitter = PauseSplitter(speech.RATE, DICTATION_STEPS)
    cuts = [start + len(part) for block in _blocks(samples) for start, part in splitter.feed_timed(block)]
    edges = [0, *cuts, len(samples)]
    return cuts, [(b - a) / speech.RATE for a, b in pairwise(edges)]


def _dictation_table(clean: np.ndarray, words: Words) -> str:
    headers = ["audio", "bad cuts / cuts", "worst cut, ms from a word edge", "longest part", "median part"]
    rows: list[list[object]] = []
    for label, draws in [
        ("clean", [clean]),
        *(
            (f"{snr:g} dB SNR", [speech.with_noise(clean, snr, seed) for seed in range(1, SWEEP_SEEDS + 1)])
            for snr in (20, 10)
        ),
    ]:
        runs = [dictation_cuts(x) for x in draws]
        cuts_s = [[c / speech.RATE for c in cuts] for cuts, _ in runs]
        lengths = [length for _, parts in runs for length in parts]
        cell = _cell(cuts_s, words).split(", ")
        rows.append([label, cell[0], cell[1], f"{max(lengths):.1f} s", f"{float(np.median(lengths)):.1f} s"])
    return speech.table(headers, rows)


def run() -> str:
    human = speech.human()
    material = human or speech.join(speech.flite_sentences(), FLITE_GAPS, "flite sentences joined with pauses")
    seconds = material.recording.seconds
    main, bad_lines, words = _main_table(material)
    sweep = _sweep_table(material.recording.samples, words)
    reference_words = word_errors(material.text, "").reference_words

    lines = ["## Cutting at pauses: energy detector vs webrtcvad", ""]
    if human is None:
        lines += [speech.human_missing_note(), ""]
    lines += [main, ""]
    if bad_lines:
        lines += ["Cuts inside words (depth = distance to the nearer edge of the word):", "", *bad_lines, ""]
    lines += [
        f"Measured on {material.name}, {seconds:.1f} s, {len(words)} words found by pocketsphinx"
        f" ({reference_words} in the reference text; one word is {100 / reference_words:.1f} WER points),"
        " clean and with white noise added at the SNR shown. Each detector classifies 30 ms frames for"
        f" dictate's PauseSplitter (pause {PAUSE_SECONDS} s, parts of at least {MIN_PART_SECONDS:g} s, cut in"
        f" the middle of the pause), fed {1000 * BLOCK_SECONDS:.0f} ms blocks. Word boundaries: pocketsphinx"
        f" {version('pocketsphinx')} word segmentation of the whole clean recording; a cut strictly inside a"
        " word's span is a bad cut. CPU: process time of the whole streaming split (detector and splitter),"
        f" least of {TIMING_REPEATS} runs, per audio second. WER parts: each part recognized on its own, no"
        " previous text, transcripts joined; WER whole: the whole recording as one utterance."
        f" webrtcvad-wheels {version('webrtcvad-wheels')}.",
        "",
        f"Cuts inside words over {SWEEP_SEEDS} draws of the noise at each SNR (cuts only, no recognition):"
        " bad cuts / all cuts, then the worst cut's distance from a word edge in ms (− inside); 0/0 means"
        " the detector heard speech throughout and never cut. The same with the input turned down by"
        f" {-QUIET_GAIN_DB:g} dB and turned up until its peak is at {HOT_PEAK_DBFS:g} dBFS, the noise following"
        " at the same SNR (so quieter or louder in absolute terms)."
        " The energy rows with another margin are dictate's FrameGate with SPEECH_OVER_FLOOR_DB changed from"
        " 15 dB, for comparison; white noise is steady, the easiest case for a floor tracker.",
        "",
        sweep,
        "",
        "### The daemon's cuts as shipped",
        "",
        "WebRTC VAD mode 1 with DICTATION_STEPS "
        + ", ".join(f"a {pause:g} s pause once a part is {length:g} s" for length, pause in DICTATION_STEPS)
        + f" (pauses as the VAD sees them); clean, and {SWEEP_SEEDS} noise draws at each SNR:",
        "",
        _dictation_table(material.recording.samples, words),
        "",
        f"Command: `{COMMAND}`.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
