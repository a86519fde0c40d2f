"""Run every benchmark and write docs/benchmarks.md.

    python -m bench.run            (about 30 minutes on 2 cores)

Each section runs in its own process (PortAudio reads the devices once per process; each section
starts its own virtual microphone, display and local server), and prints Markdown.
"""

from __future__ import annotations

import datetime
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = [
    ("bench.latency", []),
    ("bench.release", []),
    ("bench.output_speed", ["--repeat", "3"]),
    ("bench.formats", []),
    ("bench.segmenting", []),
    ("bench.resampling", []),
    ("bench.long_files", []),
    ("bench.text", []),
    ("bench.local", []),
    ("bench.completion", []),
    ("bench.big_spool", []),
]


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = (
        len([line for line in cpuinfo.read_text().splitlines() if line.startswith("processor")])
        if cpuinfo.exists()
        else 0
    )
    return f"{cpu}, {cores} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main() -> int:
    parts = [
        "# Benchmarks",
        "",
        f"Made by `python -m bench.run` on {datetime.date.today():%Y-%m-%d}: {machine()}. The rig is the "
        "test rig: a PulseAudio virtual microphone fed with speech, Xvfb with openbox and a Tk window, "
        "and a local OpenAI-compatible server on 127.0.0.1 that answers at once or after a set delay "
        "per audio second. Numbers, not assertions: tests check correctness, this file records speed.",
    ]
    failed = []
    for module, args in SECTIONS:
        print(f"running {module} …", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            failed.append(module)
            parts.append(f"\n## {module}\n\nFailed to run:\n\n```\n{done.stderr[-2000:]}\n```")
            continue
        parts.append("\n" + done.stdout.strip())
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(parts) + "\n")
    print(f"wrote docs/benchmarks.md{'; failed: ' + ', '.join(failed) if failed else ''}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
