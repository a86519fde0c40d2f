"""Run a command and measure its peak resident memory, as the kernel counts it.

A process's peak RSS includes what it held before exec, so a child forked straight from pytest (or a
benchmark holding audio) would report its parent's size. A small launcher forks the command instead
and reports the command's own peak.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\npeak-rss-kb {usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""
_MARK = "\npeak-rss-kb "


def run_measured(
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    timeout: float,
    cwd: Path | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `command` to its end; return it (stderr without the measurement) and its peak RSS in MB.
    Raise subprocess.TimeoutExpired after `timeout` seconds."""
    process = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, *command],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        preexec_fn=preexec_fn,
        start_new_session=True,  # so a command that hangs is ended with its launcher
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    stderr, _, peak = stderr.rpartition(_MARK)
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return done, int(peak) / 1024 if peak else 0.0
