"""Terminal helpers for the commands that talk to a person: a status line on stderr, and the keys that
stop a recording."""

from __future__ import annotations

import os
import sys
from typing import Any


class StatusLine:
    """A transient status line on stderr: rewritten in place on a terminal, plain lines otherwise."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._shown = False

    def show(self, text: str) -> None:
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}")
        else:
            self.stream.write(f"dictate: {text}\n")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self._shown = False


class StopKeys:
    """Watch stdin for Enter or Ctrl-D, without echo on a terminal; idle when stdin cannot signal."""

    def __init__(self, fd: int | None = None) -> None:
        self.fd = sys.stdin.fileno() if fd is None and sys.stdin else fd
        self.active = False
        self._saved: Any = None
        self._stopped = False

    def __enter__(self) -> StopKeys:
        import stat

        if self.fd is None or os.name != "posix":
            return self
        try:
            mode = os.fstat(self.fd).st_mode
        except OSError:
            return self
        if os.isatty(self.fd):
            import termios
            import tty

            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd, termios.TCSANOW)
            new = termios.tcgetattr(self.fd)
            new[3] &= ~termios.ECHO
            termios.tcsetattr(self.fd, termios.TCSANOW, new)
            self.active = True
        elif stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            self.active = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None and self.fd is not None:
            import termios

            termios.tcflush(self.fd, termios.TCIFLUSH)  # what was typed meanwhile never reaches the shell
            termios.tcsetattr(self.fd, termios.TCSANOW, self._saved)

    def pressed(self) -> bool:
        """True once Enter or Ctrl-D was pressed (or the pipe on stdin ended)."""
        if not self.active or self._stopped:
            return self._stopped
        import select

        assert self.fd is not None
        while select.select([self.fd], [], [], 0)[0]:
            data = os.read(self.fd, 1024)
            if not data or any(b in data for b in (b"\n", b"\r", b"\x04")):
                self._stopped = True
                break
        return self._stopped
