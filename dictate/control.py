"""The control socket: `dictate ctl start|stop|toggle|cancel|status` talks to the running daemon.

For Wayland compositors and window-manager key bindings, where a global key listener cannot see
keys. One Unix socket in $XDG_RUNTIME_DIR, mode 0600; one line in, one JSON line out.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dictate.config import runtime_dir
from dictate.errors import DictateError

COMMANDS = ("start", "stop", "toggle", "cancel", "status", "pause", "resume")
MAX_LINE = 1024


NOTES_COMMANDS = ("pause", "resume")


def socket_path(environ: Mapping[str, str] = os.environ, *, notes: bool = False) -> Path:
    """The daemon's socket, or that of `dictate notes`, which can run beside it."""
    return runtime_dir(environ) / ("dictate-notes.sock" if notes else "dictate.sock")


class ControlServer:
    """Accept commands on the socket and answer each with `handler(command)` as JSON."""

    def __init__(self, path: Path, handler: Callable[[str], dict[str, Any]]) -> None:
        self.path = path
        self.handler = handler
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_symlink():
            if _answers(self.path):
                raise DictateError(
                    f"another dictate daemon is running (control socket {self.path}); "
                    "stop it first, or use `dictate ctl`"
                )
            self.path.unlink()  # left behind by a daemon that died
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # created 0600: no window in which others could connect
        try:
            sock.bind(str(self.path))
        except OSError as exc:
            sock.close()
            raise DictateError(f"cannot create the control socket {self.path}: {exc.strerror}") from None
        finally:
            os.umask(old)
        sock.listen(8)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="dictate-control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._sock is not None:
            sock, self._sock = self._sock, None
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def _serve(self) -> None:
        while self._sock is not None:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    line = _read_line(conn)
                    command = line.strip()
                    if command not in COMMANDS:
                        reply: dict[str, Any] = {"ok": False, "error": f"unknown command {command[:40]!r}"}
                    else:
                        reply = self.handler(command)
                    conn.sendall(json.dumps(reply).encode() + b"\n")
                except (OSError, UnicodeDecodeError):
                    continue


def _read_line(conn: socket.socket) -> str:
    data = b""
    while b"\n" not in data and len(data) < MAX_LINE:
        chunk = conn.recv(MAX_LINE)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].decode()


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        try:
            probe.connect(str(path))
        except OSError:
            return False
        return True


def send(command: str, path: Path | None = None, timeout: float = 5) -> dict[str, Any]:
    """Send one command to the running daemon and return its reply."""
    path = path or socket_path()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            if path.name == "dictate-notes.sock":
                raise DictateError(f"`dictate notes` is not running (nothing listens on {path})") from None
            raise DictateError(
                f"no dictate daemon is running (nothing listens on {path}); start one with `dictate run` "
                "(or `dictate run --no-hotkey`)"
            ) from None
        except OSError as exc:
            raise DictateError(f"cannot reach the daemon at {path}: {exc.strerror}") from None
        sock.sendall(command.encode() + b"\n")
        try:
            line = _read_line(sock)
        except TimeoutError:
            raise DictateError(f"the daemon did not answer within {timeout:g} s") from None
    try:
        reply = json.loads(line)
    except ValueError:
        raise DictateError(f"unexpected answer from the daemon: {line[:80]!r}") from None
    return reply if isinstance(reply, dict) else {"ok": False, "error": "unexpected answer"}
