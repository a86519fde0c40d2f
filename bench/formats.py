"""Upload formats compared: bytes per audio second, encode CPU time, and the word error rate of a
recognizer (pocketsphinx) on the audio decoded back from each format.

    python -m bench.formats
"""

from __future__ import annotations

import ctypes.util
import io
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import soundfile as sf

from bench import speech
from bench.wer import Errors, word_errors
from dictate.audio import Recording, decode, encode, resample

COMMAND = "python -m bench.formats"
NOISE_SNR_DB = (20.0, 10.0)
# soundfile's compression_level for Opus; libsndfile maps it onto the bitrate (0 highest, 1 lowest).
OPUS_LEVELS = (0.95, 0.98)
ENCODE_REPEATS = 3


@dataclass(frozen=True)
class Variant:
    label: str
    encode: Callable[[Recording], bytes]


def _dictate_format(fmt: str) -> Callable[[Recording], bytes]:
    return lambda recording: encode(recording, fmt).data


def _opus_level(level: float) -> Callable[[Recording], bytes]:
    def run(recording: Recording) -> bytes:
        buf = io.BytesIO()
        sf.write(buf, recording.samples, recording.rate, format="OGG", subtype="OPUS", compression_level=level)
        return buf.getvalue()

    return run


VARIANTS = (
    Variant("wav (PCM16)", _dictate_format("wav")),
    Variant("flac", _dictate_format("flac")),
    Variant("ogg/Opus, as dictate encodes it", _dictate_format("ogg")),
    *(Variant(f"ogg/Opus, compression_level={level}", _opus_level(level)) for level in OPUS_LEVELS),
)


def _decoded(data: bytes) -> np.ndarray:
    recording = decode(data)
    return resample(recording.samples, recording.rate, speech.RATE)


@dataclass
class _Measured:
    """One variant on one clip: size, encode time, and which decoded clip to recognize."""

    bytes: int
    seconds: float
    encode_cpu: float | None
    clip: int  # index into the clips sent to the recognizer


class _Clips:
    """Clips to recognize, each sent once: bit-exact copies share the original's transcript."""

    def __init__(self) -> None:
        self.items: list[np.ndarray] = []

    def add(self, samples: np.ndarray, same_as: int | None = None) -> int:
        if same_as is not None and np.array_equal(samples, self.items[same_as]):
            return same_as
        self.items.append(samples)
        return len(self.items) - 1


def _measure(recording: Recording, clips: _Clips, timed: bool) -> dict[str, _Measured]:
    original = clips.add(recording.samples)
    out = {}
    for variant in VARIANTS:
        data = variant.encode(recording)
        cpu = speech.cpu_seconds(lambda v=variant: v.encode(recording), ENCODE_REPEATS) if timed else None
        out[variant.label] = _Measured(len(data), recording.seconds, cpu, clips.add(_decoded(data), same_as=original))
    return out


def _opus_options(recording: Recording) -> list[list[object]]:
    """What soundfile's Opus options do with this libsndfile: output size, or the error raised."""
    rows: list[list[object]] = []

    def attempt(label: str, **options: object) -> None:
        buf = io.BytesIO()
        try:
            sf.write(buf, recording.samples, recording.rate, format="OGG", subtype="OPUS", **options)  # type: ignore[arg-type]
        except Exception as exc:
            rows.append([label, f"error: {type(exc).__name__}: {str(exc).split('(')[0].strip()}"])
            return
        rows.append([label, f"{8 * len(buf.getvalue()) / recording.seconds / 1000:.1f} kbit/s"])

    attempt("no options")
    for level in (0.0, 0.5, 0.9, 0.95, 0.98, 1.0):
        attempt(f"compression_level={level}", compression_level=level)
    for mode in ("CONSTANT", "AVERAGE", "VARIABLE"):
        attempt(f"bitrate_mode={mode}", bitrate_mode=mode)
        attempt(f"bitrate_mode={mode}, compression_level=0.95", bitrate_mode=mode, compression_level=0.95)
    return rows


_SYSTEM_LIB_TIMING = """
import io, sys, time
sys.modules["_soundfile_data"] = None  # skip the library bundled in the wheel: load the system one
import soundfile as sf
samples, rate = sf.read(sys.argv[1], dtype="int16")
best = float("inf")
for _ in range(int(sys.argv[2])):
    start = time.process_time()
    sf.write(io.BytesIO(), samples, rate, format="OGG", subtype="OPUS")
    best = min(best, time.process_time() - start)
print(sf.__libsndfile_version__, best * 1000 * rate / len(samples))
"""


def _system_lib_opus(recording: Recording) -> str | None:
    """Opus encode CPU per audio second with the operating system's libsndfile, when it has one."""
    if ctypes.util.find_library("sndfile") is None:
        return None
    with tempfile.TemporaryDirectory(prefix="dictate-bench-") as tmp:
        path = Path(tmp) / "clip.wav"
        sf.write(path, recording.samples, recording.rate, subtype="PCM_16")
        done = subprocess.run(
            [sys.executable, "-c", _SYSTEM_LIB_TIMING, str(path), str(ENCODE_REPEATS)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0 or len(done.stdout.split()) != 2:
        return None
    lib_version, ms = done.stdout.split()
    return f"the system's libsndfile {lib_version} encodes the default Opus in {float(ms):.1f} ms CPU per audio second"


def _ms(seconds: float | None, audio_seconds: float) -> str:
    if seconds is None:
        return "–"
    ms = 1000 * seconds / audio_seconds
    return f"{ms:.2f}" if ms < 1 else f"{ms:.1f}"


def _lib_origin() -> str:
    bundled = "_soundfile_data" in str(getattr(sf, "_snd", ""))
    return "bundled in the soundfile wheel" if bundled else "from the system"


def run() -> str:
    human = speech.human()
    flite = speech.flite_sentences()
    clips = _Clips()

    # Encode (timed first, before the recognizers load the cores), then recognize every clip at once.
    human_runs: list[tuple[str, dict[str, _Measured]]] = []
    if human is not None:
        human_runs.append(("clean", _measure(human.recording, clips, timed=True)))
        for snr in NOISE_SNR_DB:
            noisy = Recording(speech.with_noise(human.recording.samples, snr), speech.RATE)
            human_runs.append((f"{snr:g} dB SNR", _measure(noisy, clips, timed=False)))
    flite_runs = [_measure(m.recording, clips, timed=True) for m in flite]
    probe = human.recording if human is not None else flite[0].recording
    options = _opus_options(probe)
    system_lib = _system_lib_opus(probe)
    transcripts = speech.recognize(clips.items)

    lines = [
        "## Upload formats: size, encode cost, recognition",
        "",
        "dictate uploads FLAC by default ([audio] format): lossless, so recognition is the same as WAV's, at",
        "about half the bytes for almost no CPU; it falls back to WAV for a server that refuses FLAC. Opus is",
        "smaller still but costs far more CPU per audio second and changes what the recognizer hears.",
        "",
    ]
    if human is not None:
        headers = ["format", *(f"bytes/s {name}" for name, _ in human_runs), "encode CPU ms/s"]
        headers += [f"WER {name}" for name, _ in human_runs]
        rows = []
        for variant in VARIANTS:
            measured = [runs[variant.label] for _, runs in human_runs]
            row: list[object] = [variant.label]
            row += [f"{m.bytes / m.seconds:.0f}" for m in measured]
            row.append(_ms(measured[0].encode_cpu, measured[0].seconds))
            row += [speech.percent(word_errors(human.text, transcripts[m.clip].text).rate) for m in measured]
            rows.append(row)
        words = word_errors(human.text, "").reference_words
        lines += [
            f"Human read speech, {human.recording.seconds:.1f} s, {words} reference words (one word is"
            f" {100 / words:.1f} WER points); noise is white, added at the SNR shown:",
            "",
            speech.table(headers, rows),
            "",
        ]
    else:
        lines += [speech.human_missing_note(), ""]

    total_seconds = sum(m.recording.seconds for m in flite)
    flite_words = sum(word_errors(m.text, "").reference_words for m in flite)
    rows = []
    for variant in VARIANTS:
        measured = [runs[variant.label] for runs in flite_runs]
        errors = sum(
            (word_errors(m.text, transcripts[r.clip].text) for m, r in zip(flite, measured, strict=True)), Errors()
        )
        cpu = sum(r.encode_cpu or 0.0 for r in measured)
        size = sum(r.bytes for r in measured)
        rows.append(
            [variant.label, f"{size / total_seconds:.0f}", _ms(cpu, total_seconds), speech.percent(errors.rate)]
        )
    lines += [
        f"{len(flite)} flite sentences, {total_seconds:.1f} s in all, each encoded as its own file,"
        f" {flite_words} reference words (one word is {100 / flite_words:.1f} WER points):",
        "",
        speech.table(["format", "bytes/s", "encode CPU ms/s", "WER"], rows),
        "",
        "What soundfile's Opus options do (on the first clip above):",
        "",
        speech.table(["sf.write options, format OGG, subtype OPUS", "result"], options),
        "",
    ]
    if system_lib:
        lines += [f"Opus encode cost depends on the libsndfile/libopus build: {system_lib}.", ""]
    lines.append(
        "Measured: bytes per audio second of each file as encoded in memory; encode CPU time per audio"
        f" second (process time, least of {ENCODE_REPEATS} runs); word error rate of pocketsphinx"
        f" {version('pocketsphinx')} (bundled en-us model, each file decoded back to 16 kHz and recognized"
        " as one utterance) against the known text. "
        f"soundfile {sf.__version__}, libsndfile {sf.__libsndfile_version__} ({_lib_origin()}). "
        f"Command: `{COMMAND}`."
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
