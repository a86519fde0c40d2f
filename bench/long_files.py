"""Peak memory and time of `dictate transcribe` on long files: silent, and speech with pauses.

Each file is made here: the silent one is a WAV header and a sparse file of zeros; the speech one
repeats a few flite sentences with pauses of 0.5 to 8 s between them. `dictate transcribe` runs as a
subprocess against the rig's server on 127.0.0.1 (canned answers); its peak RSS comes from wait4.

    python -m bench.long_files [--hours 2] [--folder /tmp]
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.rig.server import TranscriptionServer
from tests.rig.sound import make_clip

RATE = 16000
SENTENCES = (
    "the quick brown fox jumps over the lazy dog",
    "please send the report to the whole team before friday",
    "it was the best of times it was the worst of times",
)


def silent_wav(path: Path, seconds: float) -> Path:
    data = int(seconds * RATE) * 2
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + data)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data)
    )
    with path.open("wb") as f:
        f.write(header)
        f.truncate(len(header) + data)  # sparse: no disk used for the zeros
    return path


def speech_wav(path: Path, seconds: float, folder: Path) -> Path:
    clips = [sf.read(make_clip(s, folder / f"clip{i}.wav"), dtype="int16")[0] for i, s in enumerate(SENTENCES)]
    rng = np.random.default_rng(7)
    written = 0
    with sf.SoundFile(path, "w", RATE, 1, subtype="PCM_16") as out:
        while written < seconds * RATE:
            clip = clips[rng.integers(len(clips))]
            pause = np.zeros(int(rng.choice([0.5, 1.0, 2.0, 8.0]) * RATE), dtype=np.int16)
            out.write(clip)
            out.write(pause)
            written += len(clip) + len(pause)
    return path


def measure(path: Path, server: TranscriptionServer, home: Path) -> tuple[int, float, float, str]:
    config = home / "config.toml"
    config.write_text(f'[api]\nbase_url = "{server.base_url}"\n')
    env = {**os.environ, "HOME": str(home), "DICTATE_CONFIG": str(config)}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dictate", "-v", "transcribe", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024, time.monotonic() - started, stderr.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp, TranscriptionServer(text="ok") as server:
        folder = Path(tmp)
        seconds = args.hours * 3600
        files = {
            "silent": silent_wav(folder / "silent.wav", seconds),
            "speech": speech_wav(folder / "speech.wav", seconds, folder),
        }
        print(f"{'file':<8} {'hours':>5} {'exit':>4} {'peak RSS MB':>11} {'seconds':>8}  last line")
        for name, path in files.items():
            code, rss, took, last = measure(path, server, folder)
            print(f"{name:<8} {args.hours:>5g} {code:>4} {rss:>11.0f} {took:>8.1f}  {last}")
        uploads = server.uploads
        if uploads:
            longest = max(u.seconds or 0 for u in uploads)
            sent = sum(len(u.file_bytes) for u in uploads) / 1e6
            print(f"speech: {len(uploads)} uploads, the longest {longest:.0f} s, {sent:.0f} MB in all")


if __name__ == "__main__":
    main()
