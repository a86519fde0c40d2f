"""X selections (the clipboard): what a text offers, and reading every format a selection holds.

`read_selection` copies every target a selection offers (INCR transfers included), so that a paste can
put the user's clipboard back exactly as it was.
"""

from __future__ import annotations

import contextlib
import select
import time
from typing import Any

from Xlib import X, Xatom

from dictate.output.x11.display import open_display

# target name -> (type name, format, value): bytes when format is 8, else a tuple of integers.
Contents = dict[str, tuple[str, int, Any]]

# Targets that describe the selection or act on it rather than hold its data.
_META_TARGETS = frozenset(
    {"TARGETS", "MULTIPLE", "TIMESTAMP", "SAVE_TARGETS", "DELETE", "INSERT_SELECTION", "INSERT_PROPERTY"}
)
CHUNK = 128 * 1024
_MAX_BYTES = 64 * 1024 * 1024


def text_contents(text: str) -> Contents:
    """What a text selection offers: UTF-8 under every common name, Latin-1 STRING when it fits."""
    data = text.encode("utf-8")
    contents: Contents = {
        "UTF8_STRING": ("UTF8_STRING", 8, data),
        "text/plain;charset=utf-8": ("text/plain;charset=utf-8", 8, data),
        "TEXT": ("UTF8_STRING", 8, data),
    }
    try:
        latin = text.encode("latin-1")
    except UnicodeEncodeError:
        pass
    else:
        contents["STRING"] = ("STRING", 8, latin)
        contents["text/plain"] = ("text/plain", 8, latin)
    return contents


class SelectionWindow:
    """A hidden window on its own connection: the place selection data is sent to or served from."""

    def __init__(self, display_name: str | None) -> None:
        self.d = open_display(display_name)
        root = self.d.screen().root
        self.window = root.create_window(0, 0, 1, 1, 0, X.CopyFromParent, event_mask=X.PropertyChangeMask)
        self._atoms: dict[int, str] = {}

    def atom(self, name: str) -> int:
        return int(self.d.intern_atom(name))

    def name(self, atom: int) -> str:
        if atom not in self._atoms:
            self._atoms[atom] = self.d.get_atom_name(atom)
        return self._atoms[atom]

    def next_event(self, deadline: float) -> Any | None:
        """The next event, or None once `deadline` (time.monotonic) has passed."""
        while not self.d.pending_events():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            select.select([self.d.fileno()], [], [], left)
        return self.d.next_event()

    def server_time(self) -> int:
        """A current server timestamp (ICCCM: never own a selection at CurrentTime)."""
        prop = self.atom("_DICTATE_TIME")
        self.window.change_property(prop, Xatom.STRING, 8, b"")
        deadline = time.monotonic() + 2
        while (ev := self.next_event(deadline)) is not None:
            if ev.type == X.PropertyNotify and ev.atom == prop:
                return int(ev.time)
        return X.CurrentTime

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.d.close()


def read_selection(display_name: str | None, selection: str, timeout: float = 1.0) -> Contents | None:
    """Every data target `selection` offers, or None when nobody owns it."""
    win = SelectionWindow(display_name)
    try:
        sel = win.atom(selection)
        if win.d.get_selection_owner(sel) == X.NONE:
            return None
        offered = _convert(win, sel, win.atom("TARGETS"), timeout)
        contents: Contents = {}
        if offered is None or offered[1] != 32:
            # An owner that cannot list its targets is asked for text, the one thing every owner has.
            names = ["UTF8_STRING", "STRING"]
        else:
            names = [win.name(atom) for atom in offered[2] if atom]
        total = 0
        for name in dict.fromkeys(names):
            if name in _META_TARGETS:
                continue
            got = _convert(win, sel, win.atom(name), timeout)
            if got is None:
                continue
            type_atom, fmt, value = got
            total += len(value) * max(fmt // 8, 1)
            if total > _MAX_BYTES:
                break
            contents[name] = (win.name(type_atom) if type_atom else name, fmt, value)
        return contents
    finally:
        win.close()


def _convert(win: SelectionWindow, sel: int, target: int, timeout: float) -> tuple[int, int, Any] | None:
    prop = win.atom("_DICTATE_SELECTION")
    win.window.convert_selection(sel, target, prop, X.CurrentTime)
    win.d.flush()
    deadline = time.monotonic() + timeout
    while True:
        ev = win.next_event(deadline)
        if ev is None:
            return None
        if ev.type == X.SelectionNotify and ev.selection == sel and ev.target == target:
            break
    if ev.property == X.NONE:
        return None
    reply = win.window.get_full_property(prop, X.AnyPropertyType, sizehint=CHUNK // 4)
    win.window.delete_property(prop)
    win.d.flush()
    if reply is None:
        return None
    if reply.property_type == win.atom("INCR"):
        return _read_incr(win, prop, deadline)
    return reply.property_type, reply.format, _value(reply.format, reply.value)


def _read_incr(win: SelectionWindow, prop: int, deadline: float) -> tuple[int, int, Any] | None:
    """Receive an INCR transfer: the owner writes chunks, we delete each, an empty chunk ends it."""
    parts: list[Any] = []
    kind, fmt = 0, 8
    while True:
        ev = win.next_event(deadline)
        if ev is None:
            return None
        if ev.type != X.PropertyNotify or ev.atom != prop or ev.state != X.PropertyNewValue:
            continue
        reply = win.window.get_full_property(prop, X.AnyPropertyType, sizehint=CHUNK // 4)
        win.window.delete_property(prop)
        win.d.flush()
        if reply is None:
            continue
        deadline = time.monotonic() + 1.0  # each chunk restarts the clock
        value = _value(reply.format, reply.value)
        if not value:
            break
        kind, fmt = reply.property_type, reply.format
        parts.append(value)
    if fmt == 8:
        return kind, 8, b"".join(parts)
    return kind, fmt, tuple(v for part in parts for v in part)


def _value(fmt: int, value: Any) -> Any:
    if fmt == 8:
        return bytes(value) if not isinstance(value, str) else value.encode("latin-1")
    return tuple(int(v) for v in value)
