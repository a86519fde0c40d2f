"""The status feed for desktop bars: `dictate ctl status --follow [--json]`.

The daemon (and `dictate notes`) keeps a `Feed`: every change of its status is sent at once, one
JSON line, to each follower connected on the control socket; a follower that does not read is
dropped, never waited for. `bar_line` turns a status into what waybar's and polybar's custom modules
read: with --json one object with `text`, `alt`, `class` and `tooltip` per line (waybar's
`return-type = json`), else the text alone (polybar's `tail = true`).
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import os
import select
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dictate.errors import DictateError

log = logging.getLogger("dictate")

# The classes a bar can style, in the order they win when several hold.
STATES = ("stopped", "paused", "recording", "transcribing", "error", "idle")


MAX_FOLLOWERS = 64  # status bars and scripts following the daemon at once


class Feed:
    """The latest status, sent to every follower when it changes."""

    def __init__(self) -> None:
        self._followers: list[socket.socket] = []
        self._last: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def follow(self, conn: socket.socket) -> None:
        """Take a follower's connection: it gets the current status now, then every change. Those
        that hung up since are let go first (an idle daemon publishes nothing that would find them),
        and past MAX_FOLLOWERS the oldest goes: followers cannot use up the daemon's files."""
        conn.setblocking(False)
        with self._lock:
            for gone in [c for c in self._followers if _hung_up(c)]:
                self._followers.remove(gone)
                gone.close()
            while len(self._followers) >= MAX_FOLLOWERS:
                self._followers.pop(0).close()
            if self._last is not None and not _send(conn, self._last):
                conn.close()
                return
            self._followers.append(conn)

    def publish(self, status: Callable[[], dict[str, Any]]) -> None:
        """Send the status to every follower, unless it is what they had last. `status` is read under
        the feed's lock, so of threads that change the state and then publish, the last to publish
        sends what holds now, never an older reading. Never blocks: a follower whose socket is full
        (it stopped reading) or closed is dropped."""
        with self._lock:
            now = status()
            if now == self._last:
                return
            self._last = dict(now)
            for conn in list(self._followers):
                if not _send(conn, now):
                    self._followers.remove(conn)
                    conn.close()

    def close(self) -> None:
        with self._lock:
            for conn in self._followers:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._followers.clear()


def _hung_up(conn: socket.socket) -> bool:
    """Whether a follower closed its end (it never sends anything after `follow`)."""
    try:
        return conn.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False  # nothing to read: still there
    except OSError:
        return True


def _send(conn: socket.socket, status: dict[str, Any]) -> bool:
    data = json.dumps(status).encode() + b"\n"
    try:
        sent = conn.send(data)
    except OSError:  # BlockingIOError (full), BrokenPipeError, ConnectionResetError
        return False
    return sent == len(data)


def activity(status: dict[str, Any] | None) -> str:
    """The one state a bar shows for a status (None: no daemon answers)."""
    if status is None:
        return "stopped"
    state = status.get("state")
    if state == "paused":
        return "paused"
    if state in ("recording", "listening"):
        return "recording"
    if status.get("queued"):
        return "transcribing"
    if status.get("error"):
        return "error"
    return "idle"


def bar_line(status: dict[str, Any] | None, *, notes: bool = False) -> dict[str, str]:
    """What a waybar or polybar custom module shows for a status: `text`, `alt`, `class`, `tooltip`."""
    state = activity(status)
    status = status or {}
    queued = int(status.get("queued") or 0)
    what = "dictate notes" if notes else "dictate"
    text = {"transcribing": f"transcribing {queued}" if queued > 1 else "transcribing", "stopped": "off"}
    details = []
    if state == "stopped":
        details.append(f"{what} is not running")
    else:
        details.append(f"{what}: {state}")
        if queued:
            details.append(f"{queued} being transcribed")
        if "delivered" in status:
            details.append(f"{status['delivered']} delivered")
        if status.get("error"):  # a server's words: escaped, as waybar reads the tooltip as Pango markup
            details.append("last error: " + html.escape(str(status["error"]), quote=False))
    return {"text": text.get(state, state), "alt": state, "class": state, "tooltip": "; ".join(details)}


def render(status: dict[str, Any] | None, *, as_json: bool, notes: bool = False) -> str:
    """One line of the feed (without its newline)."""
    line = bar_line(status, notes=notes)
    return json.dumps(line, ensure_ascii=False) if as_json else line["text"]


# ---- the follower: `dictate ctl status --follow` ---------------------------------------------------

RECONNECT_POLL = 0.5  # seconds between looks for a daemon that is not running


def follow(
    path: Path,
    write: Callable[[str], None],
    *,
    as_json: bool,
    notes: bool = False,
    say: Callable[[str], None] = log.info,
    out_fd: int | None = None,
) -> None:
    """Write one line per change of the status of the daemon at `path`, for ever: when it stops, say
    so (and write the "stopped" line), wait for it, and follow the next one. Ends with
    KeyboardInterrupt (Ctrl-C) or BrokenPipeError (the reader of `out_fd` went away)."""
    from dictate import control

    shown: list[str] = []  # the last line written

    def show(status: dict[str, Any] | None) -> None:
        line = render(status, as_json=as_json, notes=notes)
        if not shown or shown[0] != line:
            write(line)
            shown[:] = [line]

    what = "`dictate notes`" if notes else "the daemon"
    connected: bool | None = None  # None: not tried yet
    while True:
        try:
            sock = control.connect(path)
        except control.NotRunning:
            if connected is not False:
                show(None)
                say(
                    f"{what} stopped; waiting for it to start again"
                    if connected
                    else f"{what} is not running; waiting for it to start"
                )
                connected = False
            _wait(None, RECONNECT_POLL, out_fd)
            continue
        with sock:
            sock.sendall(b"follow\n")
            if connected is False:
                say(f"{what} is running again")
            connected = True
            _read_feed(sock, show, out_fd)


def _read_feed(sock: socket.socket, show: Callable[[dict[str, Any] | None], None], out_fd: int | None) -> None:
    """Show each status the daemon sends until it hangs up."""
    buffer = b""
    while True:
        _wait(sock, None, out_fd)
        try:
            data = sock.recv(65536)
        except OSError:
            return
        if not data:
            return
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                status = json.loads(line)
            except ValueError:
                continue
            if not isinstance(status, dict):
                continue
            if status.get("ok") is False:  # a daemon from before --follow
                raise DictateError(f"the daemon cannot be followed ({status.get('error')}); restart it")
            show(status)
        if len(buffer) > MAX_STATUS:
            raise DictateError("the daemon sent a status line too long to be one")


MAX_STATUS = 64 * 1024


def _wait(sock: socket.socket | None, timeout: float | None, out_fd: int | None) -> None:
    """Wait until `sock` has data (or hangs up), or `timeout` passes; BrokenPipeError as soon as the
    reader of `out_fd` (a pipe or socket) goes away, even while nothing changes."""
    poller = select.poll()
    if sock is not None:
        poller.register(sock, select.POLLIN)
    watched = out_fd if out_fd is not None and _is_pipe(out_fd) else None
    if watched is not None:
        poller.register(watched, 0)  # POLLERR and POLLHUP are reported without being asked for
    for fd, events in poller.poll(None if timeout is None else int(timeout * 1000)):
        if fd == watched and events & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
            raise BrokenPipeError("the reader went away")


def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
