"""Peak memory and time of `dictate transcribe` on long files: silent, and speech with pauses.

Each file is made here: the silent one is a WAV header and a sparse file of zeros; the speech one
repeats a few flite sentences with pauses of 0.5 to 8 s between them. `dictate transcribe` runs as a
subprocess against the rig's server on 127.0.0.1 (canned answers); tests/rig/memory.py reads its peak RSS.

    python -m bench.long_files [--hours 2] [--folder /tmp]
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.rig.memory import run_measured
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
    done, peak_mb = run_measured([sys.executable, "-m", "dictate", "-v", "transcribe", str(path)], env, timeout=3600)
    lines = done.stderr.strip().splitlines() or [f"(stdout: {done.stdout[:60]!r})"]
    return done.returncode, peak_mb, time.monotonic() - started, lines[-1]


def run(hours: float, folder: Path | None) -> str:
    rows = []
    with tempfile.TemporaryDirectory(dir=folder) as tmp, TranscriptionServer(text="ok") as server:
        where = Path(tmp)
        seconds = hours * 3600
        files = {
            "silence": silent_wav(where / "silent.wav", seconds),
            "speech with pauses": speech_wav(where / "speech.wav", seconds, where),
        }
        for name, path in files.items():
            before = len(server.uploads)
            code, rss, took, _last = measure(path, server, where)
            uploads = server.uploads[before:]
            longest = max((u.seconds or 0 for u in uploads), default=0)
            sent = sum(len(u.file_bytes) for u in uploads) / 1e6
            audio = sum(u.seconds or 0 for u in uploads)
            rows.append(
                f"| {name} | {hours:g} h | {code} | {rss:.0f} | {took:.1f} | {len(uploads)} | {audio:.0f} | "
                f"{longest:.0f} | {sent:.0f} |"
            )
    return "\n".join(
        [
            "## Long files: memory of `dictate transcribe`",
            "",
            "Files are read, gated and sent in blocks: memory does not grow with the length of the file, only "
            "with the part being sent (at most ten minutes of audio). A file without speech is not sent.",
            "",
            "| file | length | exit | peak RSS MB | seconds | uploads | audio sent, s | longest upload, s | MB sent |",
            "| :-- | --: | --: | --: | --: | --: | --: | --: | --: |",
            *rows,
            "",
            "Measured: peak resident memory of the `dictate transcribe` process (its own, not the launcher's) "
            "against the rig's server on 127.0.0.1 answering at once; the silent file is a sparse WAV of zeros, "
            "the speech file repeats flite sentences with pauses of 0.5 to 8 s (about 45% of it speech). "
            "Command: `python -m bench.long_files`.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()
    print(run(args.hours, args.folder))


if __name__ == "__main__":
    main()
