"""Shell completion's cost: what each way of completing adds to every start of `dictate`, and what one
press of Tab costs.

- shtab (what dictate ships): `dictate completion bash` writes a static script once; a Tab runs only
  shell code, and nothing is imported at start-up.
- argcomplete (the other well-kept library): the program itself runs at every Tab (Python started,
  the CLI imported, the parser built), and `import argcomplete` sits at the top of every start.

    python -m bench.completion
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from bench.speech import table

COMMAND = "python -m bench.completion"
RUNS = 20


def timed(args: list[str], env: dict[str, str] | None = None) -> float:
    """Median wall-clock milliseconds of RUNS runs of `args` (one warm-up run first)."""
    subprocess.run(args, check=True, capture_output=True, env=env)
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    py = sys.executable
    bare = timed([py, "-c", "pass"])
    start = timed([py, "-m", "dictate", "--version"])
    parser = timed([py, "-c", "from dictate.cli.parser import build_parser; build_parser()"])
    rows = [
        ["Python alone", f"{bare:.0f}"],
        ["`dictate --version` (as shipped: nothing for completion)", f"{start:.0f}"],
        ["one Tab with argcomplete: the CLI imported and the parser built", f"{parser:.0f}"],
    ]
    try:
        import argcomplete  # noqa: F401  (only measured, never a dependency)
    except ImportError:
        rows.append(["`import argcomplete` at every start", "not installed here"])
    else:
        with_import = timed([py, "-c", "import argcomplete"])
        rows.append(["`import argcomplete` at every start", f"+{with_import - bare:.0f}"])
    script = timed([py, "-m", "dictate", "completion", "bash"], env={**os.environ, "NO_COLOR": "1"})
    rows.append(["`dictate completion bash` (shtab, once, at install)", f"{script:.0f}"])
    print("## Shell completion: start-up and Tab\n")
    print(f"Median of {RUNS} runs, wall-clock ms, on the machine above. A Tab with shtab runs no Python.\n")
    print(table(["what", "ms"], rows))
    print(f"\nCommand: `{COMMAND}`.")


if __name__ == "__main__":
    main()
