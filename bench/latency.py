"""What a dictating person feels: release -> text, press -> first sample, and the daemon at rest.

The real rig: a private PulseAudio virtual microphone fed with speech, an Xvfb display with a Tk
window that receives the typed text, the daemon driven through `dictate ctl`, and a local server
that answers at once or after a delay per audio second (a stand-in for a server's compute time).
Release -> text is measured outside the daemon, from the moment `dictate ctl stop` is sent to the
moment the whole text is in the window, and inside it (the history's timings).

    python -m bench.latency
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf

from dictate import control
from tests.rig import proc
from tests.rig.display import TkTarget, VirtualDisplay
from tests.rig.server import TranscriptionServer
from tests.rig.sound import VirtualMic, make_clip

HUMAN = Path(__file__).resolve().parents[2] / "shared" / "speech" / "two_cities_16k.flac"
SENTENCES = [
    "it was a bright cold day in april and the clocks were striking thirteen",
    "the meeting starts at nine and we should bring the quarterly figures",
    "please remind me to call the dentist tomorrow afternoon",
    "the quick brown fox jumps over the lazy dog near the river bank",
    "we are going to need a bigger boat for the trip next summer",
    "send the draft to the team and ask for comments by friday",
]
TEXT = "Benchmark transcript."


def speech_source(workdir: Path) -> tuple[np.ndarray, str]:
    """Natural speech to cut clips from: the human recording when present, else flite sentences."""
    if HUMAN.exists():
        audio, rate = sf.read(HUMAN, dtype="int16")
        assert rate == 16000
        return audio, "a human reading (shared/speech/two_cities_16k.flac)"
    parts = []
    for i, sentence in enumerate(SENTENCES):
        data, _ = sf.read(make_clip(sentence, workdir / f"s{i}.wav"), dtype="int16")
        parts += [data, np.zeros(8000, dtype=np.int16)]
    return np.concatenate(parts), "flite sentences with 0.5 s pauses"


def clip_of(source: np.ndarray, seconds: float, path: Path) -> Path:
    """`seconds` of speech, repeating the source as needed."""
    need = int(seconds * 16000)
    audio = np.tile(source, need // len(source) + 1)[:need]
    sf.write(path, audio, 16000, subtype="PCM_16")
    return path


@contextmanager
def rig(workdir: Path, *, fast: bool = True) -> Iterator[tuple[VirtualMic, VirtualDisplay, TkTarget]]:
    with ExitStack() as stack:
        mic = VirtualMic(workdir / "mic").start()
        stack.callback(mic.stop)
        display = VirtualDisplay(workdir / "x").start()
        stack.callback(display.stop)
        (workdir / "tk").mkdir(parents=True, exist_ok=True)
        window = TkTarget(display, workdir / "tk", fast=fast).start()
        stack.callback(window.stop)
        yield mic, display, window


class DaemonUnderTest:
    def __init__(
        self,
        workdir: Path,
        mic: VirtualMic,
        display: VirtualDisplay,
        base_url: str,
        extra: str = "",
        *,
        api: str = "",
        verbose: bool = False,
    ) -> None:
        self.home = workdir / "home"
        self.env = proc.clean_env(self.home, {**mic.env, "DISPLAY": display.name})
        config = self.home / ".config" / "dictate" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            f'[api]\nbase_url = "{base_url}"\n{api}[output]\nmethod = "type"\n'
            f"[feedback]\nsounds = false\nnotify = false\n{extra}"
        )
        self.run = proc.Running([*(["-v"] if verbose else []), "run", "--no-hotkey"], self.env, stdin=None)
        self.run.wait_for_stderr("ready", timeout=30)

    def ctl(self, action: str) -> None:
        """Send a control command from this process (a `dictate ctl` process would add its start-up)."""
        reply = control.send(action, Path(self.env["XDG_RUNTIME_DIR"]) / "dictate.sock")
        if not reply.get("ok"):
            raise RuntimeError(f"{action}: {reply}; daemon stderr: {''.join(self.run.stderr_lines)[-2000:]}")

    def history(self) -> list[dict[str, object]]:
        return json.loads(proc.run(["history", "--json", "--limit", "1"], self.env).stdout)

    def close(self) -> None:
        self.run.proc.terminate()
        self.run.finish(timeout=30)


def release_to_text(daemon: DaemonUnderTest, mic: VirtualMic, window: TkTarget, clip: Path) -> tuple[float, float]:
    """One dictation: (ms from `ctl stop` to the whole text in the window, the daemon's own ms).

    The server answers every part with the same sentence, so the text is that sentence once per part;
    it is complete when the window has held it unchanged for a while."""
    window.clear()
    window.activate()
    daemon.ctl("start")
    mic.play(clip)
    released = time.monotonic()
    daemon.ctl("stop")
    seen, changed = "", released
    while True:
        now, text = time.monotonic(), window.text()
        if text != seen:
            seen, changed = text, now
        elif text.endswith(TEXT + " ") and now - changed > 1.0:
            break
        if now - released > 60:
            raise RuntimeError(f"no complete text after 60 s; window holds {text!r}")
        time.sleep(0.002)
    outside = (changed - released) * 1000
    inside = float(daemon.history()[0]["release_to_delivery_ms"] or 0)  # type: ignore[arg-type]
    return outside, inside


# (server seconds per audio second, incremental transcription, dictation lengths in seconds)
PLAN = [
    (0.0, True, (2, 10, 60)),  # client overhead: an instant server
    (0.1, True, (2, 4, 10, 45, 60)),  # a server that needs 0.1 s per audio second
    (0.1, False, (4, 45)),  # the same, the whole recording sent at release (as peers do)
]


def bench_release_to_text(plan: list[tuple[float, bool, tuple[int, ...]]] = PLAN) -> str:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source, source_name = speech_source(work)
        with rig(work) as (mic, display, window):
            for delay, incremental, lengths in plan:
                with TranscriptionServer(text=TEXT, delay_per_second=delay) as server:
                    flag = "true" if incremental else "false"
                    daemon = DaemonUnderTest(
                        work / f"d{delay}{flag}", mic, display, server.base_url, f"[audio]\nincremental = {flag}\n"
                    )
                    try:
                        for seconds in lengths:
                            clip = clip_of(source, seconds, work / f"clip{seconds}.wav")
                            repeats = 3 if seconds <= 10 else 2
                            results = [release_to_text(daemon, mic, window, clip) for _ in range(repeats)]
                            print(f"  {delay=} {incremental=} {seconds=}: {results}", file=sys.stderr, flush=True)
                            outside = statistics.median(r[0] for r in results)
                            inside = statistics.median(r[1] for r in results)
                            rows.append((delay, incremental, seconds, outside, inside, len(server.uploads) / repeats))
                            server.received.clear()
                    finally:
                        daemon.close()
    lines = [
        "### Release → text in the window",
        "",
        f"Dictations of {source_name} played into the virtual microphone between `start` and `stop` "
        "(sent on the control socket), typed into a Tk window on Xvfb; the local server answers each "
        "upload after the delay shown. Median of 3 dictations up to 10 s, of 2 above. Measured "
        "outside: from sending `stop` to the complete text in the window. The daemon's own figure is "
        "its history's release → delivered.",
        "",
        "| server time per audio second | incremental | dictation | release → text (outside) | "
        "release → text (daemon) | uploads per dictation |",
        "|---|---|---|---|---|---|",
    ]
    for delay, incremental, seconds, outside, inside, uploads in rows:
        lines.append(
            f"| {delay:g} s | {'yes' if incremental else 'no'} | {seconds:g} s | {outside:.0f} ms | "
            f"{inside:.0f} ms | {uploads:.1f} |"
        )
    by = {(d, i, s): o for d, i, s, o, _, _ in rows}
    if all(k in by for k in [(0.1, True, 45), (0.1, True, 4), (0.1, False, 45), (0.1, False, 4)]):
        lines += [
            "",
            f"With 0.1 s of server time per audio second, a 45 s dictation waits "
            f"{by[(0.1, True, 45)] / by[(0.1, True, 4)]:.2f}× as long as a 4 s one "
            f"({by[(0.1, True, 45)]:.0f} ms vs {by[(0.1, True, 4)]:.0f} ms); sending the whole recording at "
            f"release it waits {by[(0.1, False, 45)] / by[(0.1, False, 4)]:.2f}× as long "
            f"({by[(0.1, False, 45)]:.0f} ms vs {by[(0.1, False, 4)]:.0f} ms).",
        ]
    return "\n".join(lines)


def bench_first_sample(repeats: int = 50) -> str:
    """Opening the input stream at each press against a stream kept open, through PortAudio -> PulseAudio."""
    with tempfile.TemporaryDirectory() as tmp:
        mic = VirtualMic(Path(tmp) / "mic").start()
        try:
            script = Path(__file__).with_name("first_sample_probe.py")
            env = proc.clean_env(Path(tmp) / "home", mic.env)
            out = subprocess.run(
                [sys.executable, str(script), str(repeats)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                cwd=proc.ROOT,
            ).stdout
        finally:
            mic.stop()
    result = json.loads(out)
    opened, kept = result["open_per_press_ms"], result["kept_open_ms"]
    return "\n".join(
        [
            "### Press → first sample",
            "",
            f"{repeats} presses each, PortAudio's default device routed to PulseAudio, 16 kHz mono.",
            "",
            "| microphone | median | 95th percentile | max |",
            "|---|---|---|---|",
            f"| opened at each press (the default) | {statistics.median(opened):.1f} ms | "
            f"{np.percentile(opened, 95):.1f} ms | {max(opened):.1f} ms |",
            f"| kept open, next block after the press | {statistics.median(kept):.1f} ms | "
            f"{np.percentile(kept, 95):.1f} ms | {max(kept):.1f} ms |",
        ]
    )


def bench_idle(seconds: float = 30) -> str:
    """CPU and memory of the waiting daemon with its key listener on an X display, and --help time."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with rig(work) as (mic, display, _window), TranscriptionServer(text=TEXT) as server:
            env = proc.clean_env(work / "home", {**mic.env, "DISPLAY": display.name})
            config = work / "home" / ".config" / "dictate" / "config.toml"
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(f'[api]\nbase_url = "{server.base_url}"\n[feedback]\nsounds = false\n')
            daemon = proc.Running(["run"], env, stdin=None)
            daemon.wait_for_stderr("ready", timeout=30)
            time.sleep(3)
            pid = daemon.proc.pid
            ticks = _cpu_ticks(pid)
            time.sleep(seconds)
            cpu = (_cpu_ticks(pid) - ticks) / _clock_ticks() / seconds * 100
            rss = _rss_mb(pid)
            daemon.proc.terminate()
            daemon.finish(timeout=30)
        help_ms = []
        for _ in range(10):
            started = time.perf_counter()
            subprocess.run(proc.dictate_cmd("--help"), capture_output=True, check=True, cwd=proc.ROOT)
            help_ms.append((time.perf_counter() - started) * 1000)
    return "\n".join(
        [
            "### At rest",
            "",
            "| measure | value |",
            "|---|---|",
            f"| daemon CPU while waiting ({seconds:g} s, key listener on) | {cpu:.2f} % of one core |",
            f"| daemon resident memory | {rss:.0f} MB |",
            f"| `dictate --help` (median of 10, whole process) | {statistics.median(help_ms):.0f} ms |",
        ]
    )


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run() -> str:
    return "\n\n".join(["## Latency", bench_release_to_text(), bench_first_sample(), bench_idle()])


if __name__ == "__main__":
    print(run())
