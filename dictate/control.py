"""The control socket: `dictate ctl start|stop|toggle|cancel|status|quit` talks to the running daemon.

For Wayland compositors and window-manager key bindings, where a global key listener cannot see
keys. One Unix socket in the runtime folder (dictate.config.paths.runtime_dir), mode 0600; one line
in, one JSON line out; or, for `follow`, the connection handed to the daemon's status feed
(dictate.statusfeed), which writes a JSON line per change until either side hangs up. Neither side
trusts the other's user: the client sends only to a socket that is ours in a folder that is ours
and private, and the server answers only peers of our uid (SO_PEERCRED), so another user can
neither catch our commands nor send us hers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import stat
import struct
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dictate.config import runtime_dir
from dictate.config.paths import owner_name, private_dir_problem
from dictate.errors import DictateError, describe

log = logging.getLogger("dictate")

COMMANDS = ("start", "stop", "toggle", "cancel", "status", "pause", "resume", "quit", "follow")
QUIT_MARGIN = 10.0  # seconds `ctl quit` waits for the daemon to go beyond the time it said it needs
MAX_LINE = 1024
CLOSE_WAIT = 2.0  # seconds closing the server waits for the answers it is writing
READ_WAIT = 2.0  # seconds a client has to send its whole line
MAX_CLIENTS = 16  # connections answered at once; more are closed at once
ACCEPT_PAUSE = 0.1  # seconds before accepting again after a failed accept


NOTES_COMMANDS = ("pause", "resume")


def socket_path(environ: Mapping[str, str] = os.environ, *, notes: bool = False, create: bool = False) -> Path:
    """The daemon's socket, or that of `dictate notes`, which can run beside it; `create` makes the
    runtime folder when it is the one in the temp folder."""
    return runtime_dir(environ, create=create) / ("dictate-notes.sock" if notes else "dictate.sock")


def check_folder(path: Path) -> None:
    """Refuse a socket path whose folder is not ours and private (a symlink, another user's, open to others)."""
    problem = private_dir_problem(path.parent)
    if problem and problem != "does not exist":
        raise DictateError(
            f"refusing the control socket {path}: its folder {problem}; "
            "set XDG_RUNTIME_DIR to a private folder of yours (mode 0700)"
        )


def socket_problem(path: Path) -> str | None:
    """What makes the file at `path` not our socket, or None when it is one (or there is none)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if not stat.S_ISSOCK(info.st_mode):
        return "is not a socket"
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return f"belongs to {owner_name(info.st_uid)}, not to you"
    return None


class ControlServer:
    """Accept commands on the socket and answer each with `handler(command)` as JSON."""

    def __init__(
        self,
        path: Path,
        handler: Callable[[str], dict[str, Any]],
        follow: Callable[[socket.socket], None] | None = None,
    ) -> None:
        self.path = path
        self.handler = handler
        self.follow = follow  # takes a `follow` connection and keeps it
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._clients = threading.BoundedSemaphore(MAX_CLIENTS)
        self._answering: set[threading.Thread] = set()

    def start(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        check_folder(self.path)
        problem = socket_problem(self.path)
        if problem:
            raise DictateError(f"refusing the control socket {self.path}: it {problem}; remove it and start again")
        if os.path.lexists(self.path):
            if _answers(self.path):
                raise DictateError(
                    f"another dictate daemon is running (control socket {self.path}); "
                    "stop it first, or use `dictate ctl`"
                )
            self.path.unlink()  # left behind by a daemon that died
        self._sock = self._bind()
        self._thread = threading.Thread(target=self._serve, name="dictate-control", daemon=True)
        self._thread.start()

    def _bind(self) -> socket.socket:
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
        return sock

    def keep(self) -> None:
        """Make the socket again when its file is gone (the runtime folder cleaned while the daemon
        runs): else `dictate ctl` finds no daemon, and a second one starts and types every text too."""
        if self._sock is None or os.path.lexists(self.path):
            return
        log.warning("the control socket %s was removed; making it again", self.path)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            check_folder(self.path)
            fresh = self._bind()
        except (OSError, DictateError) as exc:
            log.warning("cannot make the control socket again: %s", describe(exc))
            return
        old, self._sock = self._sock, fresh
        with contextlib.suppress(OSError):
            old.shutdown(socket.SHUT_RDWR)  # the accept waiting on it returns, and goes on with the new one
        old.close()

    def close(self) -> None:
        """Stop accepting, then let the answer being written go out (up to CLOSE_WAIT): the process
        may leave right after this, and a `quit` must not lose its reply to the exit."""
        if self._sock is not None:
            sock, self._sock = self._sock, None
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        deadline = time.monotonic() + CLOSE_WAIT
        for thread in [self._thread, *list(self._answering)]:
            if thread is not None and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _serve(self) -> None:
        while (sock := self._sock) is not None:
            try:
                conn, _ = sock.accept()
            except OSError as exc:
                if self._sock is None:
                    return  # closed
                if sock is not self._sock:
                    continue  # made again (keep)
                log.warning("the control socket cannot take a connection: %s", exc.strerror or exc)
                time.sleep(ACCEPT_PAUSE)  # out of files, say: the next one may pass
                continue
            if not self._clients.acquire(blocking=False):
                conn.close()  # too many at once: a client that never sends holds no one else up
                continue
            try:
                threading.Thread(target=self._answer, args=(conn,), name="dictate-control-client", daemon=True).start()
            except RuntimeError:  # no thread to be had
                self._clients.release()
                conn.close()

    def _answer(self, conn: socket.socket) -> None:
        """Read one command (the whole line within READ_WAIT) and answer it, on a thread of its own."""
        self._answering.add(threading.current_thread())
        kept = False
        try:
            if not _same_user(conn):
                return  # another user's process: no answer at all
            command = _read_line(conn, deadline=time.monotonic() + READ_WAIT).strip()
            if command == "follow" and self.follow is not None:
                self.follow(conn)
                kept = True
                return
            if command not in COMMANDS or command == "follow":
                reply: dict[str, Any] = {"ok": False, "error": f"unknown command {command[:40]!r}"}
            else:
                reply = self.handler(command)
            conn.settimeout(READ_WAIT)
            conn.sendall(json.dumps(reply).encode() + b"\n")
        except (OSError, UnicodeDecodeError):
            pass
        finally:
            if not kept:
                conn.close()
            self._answering.discard(threading.current_thread())
            self._clients.release()


def _read_line(conn: socket.socket, deadline: float | None = None) -> str:
    """One line; with a deadline, the whole of it within that (TimeoutError after), however slowly
    its bytes come."""
    data = b""
    while b"\n" not in data and len(data) < MAX_LINE:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            conn.settimeout(left)
        chunk = conn.recv(MAX_LINE)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].decode()


def _same_user(conn: socket.socket) -> bool:
    """Whether the peer runs as our uid (SO_PEERCRED on Linux; elsewhere the private folder is the guard)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None or not hasattr(os, "getuid"):
        return True
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    except OSError:
        return False
    _pid, uid, _gid = struct.unpack("3i", creds)
    return bool(uid == os.getuid())


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        try:
            probe.connect(str(path))
        except OSError:
            return False
        return True


def connect(path: Path, timeout: float = 5) -> socket.socket:
    """A connection to the daemon (or `dictate notes`) at `path`, after checking the socket is ours;
    DictateError, saying what to do, when nothing listens there."""
    check_folder(path)
    problem = socket_problem(path)
    if problem:
        raise DictateError(
            f"refusing the control socket {path}: it {problem}; nothing was sent: remove it and start the daemon again"
        )
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        if path.name == "dictate-notes.sock":
            raise NotRunning(f"`dictate notes` is not running (nothing listens on {path})") from None
        raise NotRunning(
            f"no dictate daemon is running (nothing listens on {path}); start one with `dictate run` "
            "(or `dictate run --no-hotkey`, or `dictate service start`)"
        ) from None
    except OSError as exc:
        sock.close()
        raise DictateError(f"cannot reach the daemon at {path}: {exc.strerror}") from None
    return sock


class NotRunning(DictateError):
    """Nothing listens on the control socket."""


def send(command: str, path: Path | None = None, timeout: float = 5) -> dict[str, Any]:
    """Send one command to the running daemon and return its reply."""
    path = path or socket_path()
    with connect(path, timeout) as sock:
        try:
            sock.sendall(command.encode() + b"\n")
            line = _read_line(sock)
        except TimeoutError:
            raise DictateError(f"the daemon did not answer within {timeout:g} s") from None
        except (ConnectionResetError, BrokenPipeError):
            line = ""  # it hung up
    if not line:
        raise DictateError(f"the daemon hung up without answering {command!r}; see its log")
    try:
        reply = json.loads(line)
    except ValueError:
        raise DictateError(f"unexpected answer from the daemon: {line[:80]!r}") from None
    return reply if isinstance(reply, dict) else {"ok": False, "error": "unexpected answer"}


def quit_daemon(path: Path) -> dict[str, Any]:
    """Ask the daemon to finish what it holds and exit, then wait until it has (it says how long it
    may take: its wait for the answers in flight); its last reply."""

    reply = send("quit", path)
    if not reply.get("ok"):
        raise DictateError(f"the daemon refused quit: {reply.get('error', 'no reason given')}")
    waited = float(reply.get("wait") or 0) + QUIT_MARGIN
    deadline = time.monotonic() + waited
    while _answers(path):
        if time.monotonic() > deadline:
            raise DictateError(f"the daemon is still running {waited:g} s after quit; see its log")
        time.sleep(0.1)
    return reply
