"""Measure press -> first captured sample, in a fresh process (PortAudio reads its devices at import).

Prints JSON: open_per_press_ms (open a stream at each press, as dictate does) and kept_open_ms (a
stream already running: the wait from a press to the next block).
"""

from __future__ import annotations

import json
import random
import sys
import time

from dictate.microphone import Recorder


def open_per_press(repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        pressed = time.monotonic()
        with Recorder(rate=16000) as recorder:
            while recorder.read(timeout=1) is None:
                pass
            assert recorder.first_block_at is not None
            out.append((recorder.first_block_at - pressed) * 1000)
        time.sleep(0.05)
    return out


def kept_open(repeats: int) -> list[float]:
    out = []
    with Recorder(rate=16000) as recorder:
        for _ in range(repeats):
            time.sleep(random.uniform(0.05, 0.15))
            while recorder.read(timeout=0) is not None:
                pass  # what arrived before the press
            pressed = time.monotonic()
            recorder.read(timeout=1)
            out.append((time.monotonic() - pressed) * 1000)
    return out


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    print(json.dumps({"open_per_press_ms": open_per_press(n), "kept_open_ms": kept_open(n)}))
