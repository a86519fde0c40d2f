"""Key release → last character at the cursor, stage by stage, with a server that answers at once.

What is left is the client's own cost: a 3 s dictation is played into the virtual microphone between
`start` and `stop` (sent on the control socket from this process), the local server answers at once
with a 43-character sentence, and the daemon types it into a Tk window on Xvfb. Outside: from
sending `stop` to the whole sentence in the window (the window mirrors its text every 5 ms). Inside:
the stages the daemon reports with -v for the same dictation.

    python -m bench.release [--repeats 20]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.latency import DaemonUnderTest, clip_of, rig, speech_source
from tests.rig.server import TranscriptionServer

SENTENCE = "Please send the quarterly report by Friday."  # 43 characters
assert len(SENTENCE) == 43
# The daemon's -v line: "release→tail 1 ms, release→request 5 ms, ..." (older builds name fewer stages).
STAGE = re.compile(r"(release→[\w ]+?) (\d+(?:\.\d+)?) ms")


def one(daemon: DaemonUnderTest, mic: object, window: object, clip: Path) -> tuple[float, dict[str, float]]:
    window.clear()  # type: ignore[attr-defined]
    window.activate()  # type: ignore[attr-defined]
    seen = len(daemon.run.stderr_lines)
    daemon.ctl("start")
    mic.play(clip)  # type: ignore[attr-defined]
    released = time.monotonic()
    daemon.ctl("stop")
    want = SENTENCE + " "
    while window.text() != want:  # type: ignore[attr-defined]
        if time.monotonic() - released > 30:
            raise RuntimeError(f"the text never arrived; the window holds {window.text()!r}")  # type: ignore[attr-defined]
        time.sleep(0.0005)
    outside = (time.monotonic() - released) * 1000
    deadline = time.monotonic() + 5
    while True:
        lines = [line for line in daemon.run.stderr_lines[seen:] if "release→" in line]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    stages = {name: float(ms) for name, ms in STAGE.findall(lines[-1])} if lines else {}
    return outside, stages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    outside: list[float] = []
    stages: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source, _name = speech_source(work)
        clip = clip_of(source, 3.0, work / "three.wav")
        with rig(work, fast=False) as (mic, display, window), TranscriptionServer(text=SENTENCE) as server:
            daemon = DaemonUnderTest(work / "d", mic, display, server.base_url, verbose=True)
            try:
                one(daemon, mic, window, clip)  # the first dictation warms what is cold
                for _ in range(args.repeats):
                    total, inside = one(daemon, mic, window, clip)
                    outside.append(total)
                    for name, ms in inside.items():
                        stages.setdefault(name, []).append(ms)
                    print(f"  {total:.0f} ms {inside}", file=sys.stderr, flush=True)
            finally:
                daemon.close()
    lines = [
        "### Key release → last character",
        "",
        f"A 3 s dictation, a server that answers at once with {len(SENTENCE)} characters, typed into a Tk "
        f"window (Tk's own key bindings). Median of {args.repeats} dictations after one to warm up; the "
        "stages are the daemon's own -v timings, each from the release.",
        "",
        "| stage (from the release) | median | 90th percentile |",
        "|---|---:|---:|",
    ]
    for name, values in stages.items():
        lines.append(f"| {name} (daemon) | {statistics.median(values):.1f} ms | {_p90(values):.1f} ms |")
    lines.append(
        f"| last character in the window (outside) | {statistics.median(outside):.1f} ms | {_p90(outside):.1f} ms |"
    )
    print("\n".join(lines))
    return 0


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


if __name__ == "__main__":
    sys.exit(main())
