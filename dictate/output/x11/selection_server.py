"""Serving X selections: own them on a connection of our own and answer requests for their contents."""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from Xlib import X, Xatom, error
from Xlib.protocol import event as xevent
from Xlib.protocol import request

from dictate.errors import DictateError
from dictate.output.x11.selection import CHUNK, Contents, SelectionWindow


class SelectionServer:
    """Owns selections on its own connection and serves their contents from a thread.

    `fetched` is set once a requestor has received a data target (not just the list of targets);
    `owns(name)` tells whether a selection is still ours (another client may have taken it since).
    """

    def __init__(self, display_name: str | None, selections: Mapping[str, Contents]) -> None:
        self._display_name = display_name
        self._contents = dict(selections)
        self.fetched = threading.Event()
        self.last_request = 0.0
        self._owned: set[str] = set()
        self._commands: list[Callable[[], None]] = []
        self._wake_r, self._wake_w = os.pipe()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._win: SelectionWindow | None = None
        self._transfers: dict[tuple[int, int], tuple[str, int, bytes, int]] = {}
        self._stamp = X.CurrentTime

    # -- control, from any thread --

    def start(self) -> SelectionServer:
        self._thread = threading.Thread(target=self._run, name="dictate-selection", daemon=True)
        self._thread.start()
        self._ready.wait(5)
        if self._error is not None:
            raise DictateError(f"could not take the X selection: {self._error}")
        if not self._ready.is_set():
            raise DictateError("could not take the X selection: the X server did not answer")
        return self

    def owns(self, selection: str) -> bool:
        return selection in self._owned

    def release(self, selection: str) -> None:
        """Give up `selection` if we still own it (the selection becomes empty)."""
        done = threading.Event()

        def act() -> None:
            if selection in self._owned and self._win is not None:
                win = self._win
                request.SetSelectionOwner(
                    display=win.d.display, window=X.NONE, selection=win.atom(selection), time=X.CurrentTime
                )
                win.d.flush()
                self._owned.discard(selection)
            done.set()

        self._call(act)
        done.wait(2)

    def wait_fetched(self, timeout: float, quiet: float = 0.15) -> bool:
        """Wait until a data target was fetched and no request came for `quiet` seconds (or `timeout`
        more seconds passed: a client that keeps reading must not keep the user's clipboard away);
        False when nothing was fetched within `timeout`."""
        if not self.fetched.wait(timeout):
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() - self.last_request < quiet and time.monotonic() < deadline:
            time.sleep(quiet / 3)
        return True

    def stop(self) -> None:
        self._call(None)
        if self._thread is not None:
            self._thread.join(3)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def serve_until_lost(self, on_ready: Callable[[bool], None]) -> None:
        """Serve in the calling thread until every selection has been taken by someone else.

        on_ready(True) is called once the selections are ours, on_ready(False) if they could not be taken.
        """
        self._run(on_ready)

    # -- the serving thread --

    def _call(self, command: Callable[[], None] | None) -> None:
        self._commands.append(command if command is not None else self._quit)
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _quit(self) -> None:
        self._owned.clear()
        self._transfers.clear()

    def _run(self, on_ready: Callable[[bool], None] | None = None) -> None:
        try:
            win = self._win = SelectionWindow(self._display_name)
            stamp = win.server_time()
            self._stamp = stamp
            for name in self._contents:
                win.window.set_selection_owner(win.atom(name), stamp)
                if win.d.get_selection_owner(win.atom(name)) == win.window:
                    self._owned.add(name)
            if not self._owned:
                raise RuntimeError("another client kept the selection")
        except Exception as exc:
            self._error = exc
            self._ready.set()
            if on_ready is not None:
                on_ready(False)
            if self._win is not None:
                self._win.close()
            return
        self._ready.set()
        if on_ready is not None:
            on_ready(True)
        try:
            while self._owned or self._transfers:
                while win.d.pending_events():
                    self._handle(win, win.d.next_event())
                while self._commands:
                    self._commands.pop(0)()
                if not (self._owned or self._transfers):
                    break
                ready, _, _ = select.select([win.d.fileno(), self._wake_r], [], [], 1.0)
                if self._wake_r in ready:
                    os.read(self._wake_r, 64)
        finally:
            win.close()

    def _handle(self, win: SelectionWindow, ev: Any) -> None:
        if ev.type == X.SelectionClear:
            self._owned.discard(win.name(ev.atom))
        elif ev.type == X.SelectionRequest:
            self.last_request = time.monotonic()
            self._answer(win, ev)
        elif ev.type == X.PropertyNotify and ev.state == X.PropertyDelete:
            self._continue_incr(win, ev.window, ev.atom)

    def _answer(self, win: SelectionWindow, ev: Any) -> None:
        selection = win.name(ev.selection)
        target = win.name(ev.target)
        prop = ev.property if ev.property != X.NONE else ev.target  # obsolete requestors pass None
        requestor_id = _resource_id(ev.requestor)
        requestor = win.d.create_resource_object("window", requestor_id)
        contents = self._contents.get(selection, {}) if selection in self._owned else {}
        catch = error.CatchError(error.BadWindow, error.BadAtom, error.BadAlloc, error.BadMatch)
        answered = True
        if not contents:
            answered = False
        elif target == "TARGETS":
            atoms = [win.atom(n) for n in ("TARGETS", "TIMESTAMP", *contents)]
            requestor.change_property(prop, Xatom.ATOM, 32, atoms, onerror=catch)
        elif target == "TIMESTAMP":
            requestor.change_property(prop, Xatom.INTEGER, 32, [self._stamp], onerror=catch)
        elif target in contents:
            kind, fmt, value = contents[target]
            if fmt == 8 and len(value) > CHUNK:
                requestor.change_attributes(event_mask=X.PropertyChangeMask, onerror=catch)
                requestor.change_property(prop, win.atom("INCR"), 32, [len(value)], onerror=catch)
                self._transfers[(requestor_id, prop)] = (kind, fmt, value, 0)
            else:
                requestor.change_property(prop, win.atom(kind), fmt, value, onerror=catch)
                self.fetched.set()
        else:
            answered = False
        notify = xevent.SelectionNotify(
            time=ev.time, requestor=requestor_id, selection=ev.selection, target=ev.target,
            property=prop if answered else X.NONE,
        )  # fmt: skip
        requestor.send_event(notify, event_mask=0, onerror=catch)
        win.d.flush()

    def _continue_incr(self, win: SelectionWindow, window: Any, prop: int) -> None:
        key = (_resource_id(window), prop)
        if key not in self._transfers:
            return
        kind, fmt, value, sent = self._transfers[key]
        chunk = value[sent : sent + CHUNK]
        catch = error.CatchError(error.BadWindow)
        window.change_property(prop, win.atom(kind), fmt, chunk, onerror=catch)
        win.d.flush()
        self.last_request = time.monotonic()
        if chunk:
            self._transfers[key] = (kind, fmt, value, sent + len(chunk))
        else:
            del self._transfers[key]
            self.fetched.set()


def _resource_id(value: Any) -> int:
    """python-xlib gives resource fields of events as objects or as plain ids."""
    return int(getattr(value, "id", value))
