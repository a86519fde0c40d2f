"""Speech material and recognition shared by the benchmarks.

Material: a recording of real human read speech with its reference text, when present (it lives
outside the repository, see `SPEECH_DIR`), and sentences synthesized with flite, whose text is
known by construction. Recognition: pocketsphinx's bundled en-us model, decoding each clip as one
utterance the way the test server does, spread over a process per core.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dictate.audio import Recording, read_file

RATE = 16000
# The human recording: two_cities_16k.flac, with its reference text quoted in README.md; in a
# shared/speech next to the repository's folder, or where DICTATE_BENCH_SPEECH_DIR says.
_BESIDE = Path(__file__).resolve().parents[2] / "shared" / "speech"
SPEECH_DIR = Path(os.environ.get("DICTATE_BENCH_SPEECH_DIR", str(_BESIDE)))
HUMAN_FILE = "two_cities_16k.flac"

# Dictation-like sentences for flite; digits are avoided so the text is exactly what is spoken.
FLITE_SENTENCES = (
    "Please schedule the meeting for Tuesday afternoon.",
    "The quick brown fox jumps over the lazy dog.",
    "Remember to buy milk, eggs and fresh bread on the way home.",
    "Our quarterly report shows steady growth in every region.",
    "Send the final draft to the whole team before Friday.",
    "The weather was cold and bright when the train finally arrived.",
)


@dataclass(frozen=True)
class Material:
    """A named clip with what is said in it."""

    name: str
    recording: Recording
    text: str


def human() -> Material | None:
    """The human recording and its reference text, or None when the folder is not here."""
    audio, readme = SPEECH_DIR / HUMAN_FILE, SPEECH_DIR / "README.md"
    if not (audio.is_file() and readme.is_file()):
        return None
    quoted = [line[1:].strip() for line in readme.read_text(encoding="utf-8").splitlines() if line.startswith(">")]
    if not quoted:
        raise RuntimeError(f"{readme}: no quoted reference text")
    recording = read_file(audio)
    if recording.rate != RATE:
        raise RuntimeError(f"{audio}: expected {RATE} Hz, got {recording.rate}")
    return Material("human read speech (two_cities_16k.flac)", recording, " ".join(quoted))


def human_missing_note() -> str:
    return f"The human recording ({SPEECH_DIR / HUMAN_FILE}) is not present: flite sentences only."


def flite_sentences() -> list[Material]:
    """Each sentence of FLITE_SENTENCES spoken by flite's slt voice, 16 kHz mono."""
    from tests.rig.sound import make_clip

    if shutil.which("flite") is None:
        raise RuntimeError("flite is not installed (apt-get install flite)")
    with tempfile.TemporaryDirectory(prefix="dictate-bench-") as tmp:
        out = []
        for i, text in enumerate(FLITE_SENTENCES):
            recording = read_file(make_clip(text, Path(tmp) / f"s{i}.wav"))
            out.append(Material(f"flite {i + 1}", recording, text))
        return out


def join(parts: Sequence[Material], gaps: Sequence[float], name: str) -> Material:
    """One clip of `parts` separated by `gaps` seconds of digital silence (cycled)."""
    chunks: list[np.ndarray] = []
    for i, part in enumerate(parts):
        if i:
            chunks.append(np.zeros(int(gaps[(i - 1) % len(gaps)] * RATE), dtype=np.int16))
        chunks.append(part.recording.samples)
    return Material(name, Recording(np.concatenate(chunks), RATE), " ".join(p.text for p in parts))


def with_noise(samples: np.ndarray, snr_db: float, seed: int = 1) -> np.ndarray:
    """Add white Gaussian noise `snr_db` below the mean power of the whole clip (pauses included)."""
    x = samples.astype(np.float64)
    noise_power = float(np.mean(x * x)) / 10 ** (snr_db / 10)
    noise = np.random.default_rng(seed).normal(0.0, np.sqrt(noise_power), len(x))
    return np.clip(np.round(x + noise), -32768, 32767).astype(np.int16)


def cpu_seconds(work: Callable[[], Any], repeats: int = 3) -> float:
    """The least process CPU time of `repeats` runs of `work` (least: the run with no disturbance)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


# ---- recognition ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transcript:
    text: str
    words: tuple[tuple[str, float, float], ...]  # (word, start s, end s), fillers and silences left out


_decoder: Any = None


def _decode(samples: np.ndarray) -> Transcript:
    global _decoder
    from pocketsphinx import Decoder

    if _decoder is None:
        _decoder = Decoder(samprate=RATE, loglevel="FATAL")
    # Feature state (cepstral mean, noise estimate) carries over from the previous utterance and
    # changes the result: reset it, so a transcript does not depend on what the process decoded before.
    _decoder.reinit_feat()
    frame_rate = float(_decoder.config["frate"])
    _decoder.start_utt()
    _decoder.process_raw(np.ascontiguousarray(samples, dtype=np.int16).tobytes(), full_utt=True)
    _decoder.end_utt()
    hyp = _decoder.hyp()
    words = tuple(
        (seg.word.split("(")[0], seg.start_frame / frame_rate, (seg.end_frame + 1) / frame_rate)
        for seg in _decoder.seg()
        if not seg.word.startswith(("<", "[", "+"))
    )
    return Transcript(hyp.hypstr if hyp else "", words)


def recognize(clips: Sequence[np.ndarray], workers: int | None = None) -> list[Transcript]:
    """pocketsphinx on each 16 kHz clip, each decoded as one whole utterance; results in order."""
    workers = workers or min(len(clips), os.cpu_count() or 1)
    if workers <= 1:
        return [_decode(clip) for clip in clips]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_decode, clips))


# ---- output ----------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; the first column left-aligned, the others right-aligned."""
    align = [":--"] + ["--:"] * (len(headers) - 1)
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def percent(rate: float) -> str:
    return f"{100 * rate:.1f}%"
