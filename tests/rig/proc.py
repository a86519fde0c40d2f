"""Run `dictate` as a user would: a separate process, its own environment, stdout and stderr apart."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dictate_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "dictate", *args]


def run(
    args: list[str], env: Mapping[str, str], *, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        dictate_cmd(*args), env=dict(env), input=input, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


class Running:
    """A dictate process in the background whose stderr lines can be awaited."""

    def __init__(self, args: list[str], env: Mapping[str, str], *, stdin: int | None = subprocess.PIPE) -> None:
        self.proc = subprocess.Popen(
            dictate_cmd(*args),
            env=dict(env),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.stderr_lines: list[str] = []
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)
            self._lines.put(line)

    def wait_for_stderr(self, needle: str, timeout: float = 20) -> str:
        """Block until a stderr line contains `needle`; fail with everything seen so far."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.stderr_lines:
                if needle in line:
                    return line
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and self._lines.empty() and not self._reader.is_alive()):
                raise AssertionError(f"no stderr line with {needle!r}; stderr so far:\n{''.join(self.stderr_lines)}")
            with contextlib.suppress(queue.Empty):
                self._lines.get(timeout=min(left, 0.2))

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        """Wait for exit (stdin stays open: its end would stop a recording); return (code, stdout, stderr)."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"dictate did not exit within {timeout} s; stderr:\n{''.join(self.stderr_lines)}"
            ) from None
        out = self.proc.stdout.read() if self.proc.stdout else ""
        self._reader.join(timeout=5)
        if self.proc.stdin:
            self.proc.stdin.close()
        return code, out, "".join(self.stderr_lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def clean_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A user environment with private config, data and runtime folders and no inherited keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DICTATE_", "OPENAI_", "XDG_", "PULSE_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_RUNTIME_DIR=str(home / "run"),
        PYTHONUNBUFFERED="1",
    )
    (home / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    env.update(extra or {})
    return env
