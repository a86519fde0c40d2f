"""X11 through python-xlib: typing with XTEST, the focused window's class, and selections (clipboard).

Imported only by the X11 output backends, so `import dictate.output` never loads Xlib.

Typing. X clients turn a key event into a character with their own copy of the keymap. A character
the layout already types (in the current group, with or without Shift) is typed with its own key, as
the user would. Any other needs its keysym bound to a keycode. xdotool binds each to a scratch keycode,
one at a time, and must pause after each change; without the pause the client looks the key up after
the keymap has moved on and the character is lost. Here the keysyms are bound together, in one XKB
SetMap covering the whole keycode range, on the XTEST keyboard only: the physical keyboard keeps its
own map, so a key the user presses is still read right, and the server switches the core keymap back
on its own when they do.

Keys without any symbol are borrowed first (19 on the default evdev map), two keysyms each with
Shift. A text that needs more also borrows spare keys: vendor keys (XF86 launch and media keys, 95 on
the evdev map) and F13 up, then keys that only type characters (not Space), those typing nothing of
the text first. A keymap change in the middle of a text is exact only if the target has read every
key typed before it, which a target that stalls for a moment has not; only when even that is not
enough is the text typed in batches, each after its own keymap change. Keys with any other symbol
(Escape, Return, Tab, BackSpace, arrows, F1-F12, keypad, modifiers, locks) are never borrowed: a
process killed before it restores leaves its bindings behind, and such a key missing from the XTEST
keyboard would be missed by every client that uses XTEST (xdotool, scripts, the daemon's own cancel
key). Keys that another client grabbed are neither borrowed nor pressed, or the grabber would
receive the characters. The borrowed keys are restored from the physical keyboard's map once the
target has surely read the events (the restore itself is a keymap change), and at exit; whatever a
killed process left on the XTEST keyboard is put back by the next run that types.

Selections. `read_selection` copies every target a selection offers (INCR included) so a paste can put
the user's clipboard back exactly; `SelectionServer` serves contents (INCR for large ones) and reports
when a data target was fetched; `hold_selections` hands contents to a detached helper process
(`python -m dictate.x11 hold`) that keeps serving after we exit, as xclip does.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from Xlib import XK, X, Xatom, display, error
from Xlib.ext import xinput, xtest
from Xlib.protocol import event as xevent
from Xlib.protocol import request, rq

from dictate import DictateError
from dictate.keymap import KeymapBatch, is_character_keysym, keysym_for, plan_batches

# A keymap change must wait until the target has read the key events typed with the previous one:
# a client looks a key up in the keymap it holds when it reads the event, and re-reads the keymap as
# soon as it learns of a change. Nothing tells us when a client is done, so changes wait this long
# plus this much per key event sent before (Tk's Text widget reads about 3 keys per millisecond here).
# Only texts with more characters off the layout than the borrowable keys hold need a second change.
REMAP_PAUSE = 0.05
SECONDS_PER_EVENT = 0.001
# How long to wait for modifier keys still held (the hotkey) before releasing them ourselves.
RELEASE_WAIT = 0.5
# The borrowed keys are restored this long after a keymap change may be made (the pause above after the
# last key event). The margin is for a target that stalls: it would read the keys typed after the
# restore and lose every character bound for them (with a 1 s stall, all of them without the margin).
RESTORE_AFTER = 1.0
GRAB_PROBE_TTL = 30.0
# After any keymap change, window managers and hotkey daemons drop their key grabs and grab again by
# keysym. Grabs are only looked at once they have had this long to settle, or a key they are about
# to grab again would look free.
GRAB_SETTLE = 0.25


def open_display(name: str | None = None) -> display.Display:
    """Connect to the X server, or raise DictateError naming the display."""
    try:
        return display.Display(name)
    except Exception as exc:  # Xlib raises several unrelated types here
        shown = name or os.environ.get("DISPLAY") or "(DISPLAY not set)"
        raise DictateError(f"cannot open X display {shown}: {exc}") from None


# ---- XKB requests python-xlib does not provide ---------------------------------------------------

_KEY_TYPES = 1 << 0
_KEY_SYMS = 1 << 1
_KEY_ACTIONS = 1 << 4
_KEY_BEHAVIORS = 1 << 5
_USE_CORE_KBD = 0x100
_SPACE = 0x20
_TWO_LEVEL = 1  # canonical key type indices (fixed by the XKB protocol)
_ONE_LEVEL = 0


class _XkbUseExtension(rq.ReplyRequest):
    _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(0), rq.RequestLength(), rq.Card16("major"), rq.Card16("minor"))
    _reply = rq.Struct(
        rq.ReplyCode(), rq.Bool("supported"), rq.Card16("sequence_number"), rq.ReplyLength(),
        rq.Card16("major"), rq.Card16("minor"), rq.Pad(20),
    )  # fmt: skip


class _XkbGetMap(rq.ReplyRequest):
    _request = rq.Struct(
        rq.Card8("opcode"), rq.Opcode(8), rq.RequestLength(), rq.Card16("device"),
        rq.Card16("full"), rq.Card16("partial"), rq.Pad(2),  # firstType, nTypes
        rq.Card8("first_keysym"), rq.Card8("n_keysyms"), rq.Card8("first_key_act"), rq.Card8("n_key_acts"),
        rq.Card8("first_key_behavior"), rq.Card8("n_key_behaviors"),
        rq.Pad(10),  # virtualMods, explicit, modmap, vmodmap ranges, pad
    )  # fmt: skip
    _reply = rq.Struct(
        rq.ReplyCode(), rq.Card8("device"), rq.Card16("sequence_number"), rq.ReplyLength(), rq.Pad(2),
        rq.Card8("min_keycode"), rq.Card8("max_keycode"), rq.Card16("present"),
        rq.Card8("first_type"), rq.Card8("n_types"), rq.Card8("total_types"),
        rq.Card8("first_keysym"), rq.Card16("total_syms"), rq.Card8("n_keysyms"),
        rq.Card8("first_key_act"), rq.Card16("total_acts"), rq.Card8("n_key_acts"),
        rq.Card8("first_key_behavior"), rq.Card8("n_key_behaviors"), rq.Card8("total_key_behaviors"),
        rq.Pad(12),  # explicit, modmap, vmodmap counts, pad, virtualMods
        rq.Binary("body"),
    )  # fmt: skip


class _XkbSetMap(rq.Request):
    _request = rq.Struct(
        rq.Card8("opcode"), rq.Opcode(9), rq.RequestLength(), rq.Card16("device"),
        rq.Card16("present"), rq.Card16("flags"), rq.Card8("min_keycode"), rq.Card8("max_keycode"),
        rq.Pad(2),  # firstType, nTypes
        rq.Card8("first_keysym"), rq.Card8("n_keysyms"), rq.Card16("total_syms"),
        rq.Card8("first_key_act"), rq.Card8("n_key_acts"), rq.Card16("total_acts"),
        rq.Pad(14),  # behaviors, explicit, modmap, vmodmap ranges, virtualMods
        rq.Binary("body"),
    )  # fmt: skip


class _XkbGetState(rq.ReplyRequest):
    _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(4), rq.RequestLength(), rq.Card16("device"), rq.Pad(2))
    _reply = rq.Struct(
        rq.ReplyCode(), rq.Card8("device"), rq.Card16("sequence_number"), rq.ReplyLength(),
        rq.Card8("mods"), rq.Card8("base_mods"), rq.Card8("latched_mods"), rq.Card8("locked_mods"),
        rq.Card8("group"), rq.Card8("locked_group"), rq.Int16("base_group"), rq.Int16("latched_group"),
        rq.Pad(14),  # compat and grab states, pointer buttons
    )  # fmt: skip


class _XkbLatchLockState(rq.Request):
    _request = rq.Struct(
        rq.Card8("opcode"), rq.Opcode(5), rq.RequestLength(), rq.Card16("device"),
        rq.Card8("affect_locks"), rq.Card8("locks"), rq.Pad(8),
    )  # fmt: skip


@dataclass(frozen=True)
class _Type:
    """An XKB key type: the modifiers it looks at, and the level each combination of them selects."""

    mask: int
    levels: tuple[tuple[int, int], ...]  # (modifiers, level) of each active map entry

    def level(self, mods: int) -> int:
        wanted = mods & self.mask
        return next((level for entry_mods, level in self.levels if entry_mods == wanted), 0)


@dataclass(frozen=True)
class _Key:
    """One key's XKB symbols and actions, in wire format, so it can be written back unchanged."""

    symbols: bytes  # xkbSymMapWireDesc (4 type indices, group info, width, count) followed by the keysyms
    nsyms: int
    actions: bytes  # nsyms actions of 8 bytes each, or nothing

    @property
    def keysyms(self) -> tuple[int, ...]:
        return struct.unpack_from(f"={self.nsyms}I", self.symbols, 8)

    @property
    def has_actions(self) -> bool:
        return any(self.actions[index] for index in range(0, len(self.actions), 8))  # type 0 is NoAction

    @property
    def is_free(self) -> bool:
        """A key with no symbols and no actions: what a crash may leave bound without harm."""
        return not any(self.keysyms) and not self.has_actions

    @property
    def is_spare(self) -> bool:
        """A key with only vendor keysyms (XF86 launch and media keys) or F13 up, and no actions."""
        syms = [sym for sym in self.keysyms if sym]
        return bool(syms) and all(_is_spare_keysym(sym) for sym in syms) and not self.has_actions

    @property
    def is_character(self) -> bool:
        """A key that only types characters: no function key, keypad, modifier, lock or media key."""
        syms = [sym for sym in self.keysyms if sym]
        return bool(syms) and all(is_character_keysym(sym) for sym in syms) and not self.has_actions

    def keysym(self, types: Sequence[_Type], group: int, mods: int) -> int:
        """The keysym a client reads from this key in `group` with `mods` set (as XkbTranslateKeyCode)."""
        info, width = self.symbols[4], self.symbols[5]
        groups = info & 0x0F
        if not groups or not width:
            return 0
        if group >= groups:
            if info & 0xC0 == 0x40:  # clamp into range
                group = groups - 1
            elif info & 0xC0 == 0x80:  # redirect into a group
                group = (info >> 4) & 0x03
                group = group if group < groups else 0
            else:  # wrap into range
                group %= groups
        type_index = self.symbols[group]
        level = types[type_index].level(mods) if type_index < len(types) else 0
        return self.keysyms[group * width + level] if level < width else 0


def _is_spare_keysym(sym: int) -> bool:
    return sym >= 0x10000000 or 0xFFCA <= sym <= 0xFFE0  # vendor keysyms; F13 to F35


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _bound_key(keysyms: Sequence[int]) -> _Key:
    """A key with one group producing keysyms[0], or keysyms[0] / keysyms[1] with Shift; no actions."""
    kind = _ONE_LEVEL if len(keysyms) == 1 else _TWO_LEVEL
    head = struct.pack("=4BBBH", kind, 0, 0, 0, 1, len(keysyms), len(keysyms))
    return _Key(head + struct.pack(f"={len(keysyms)}I", *keysyms), len(keysyms), b"")


class _Xkb:
    last_change: ClassVar[float] = 0.0  # time.monotonic() of our latest keymap change, on any connection

    def __init__(self, d: display.Display) -> None:
        ext = d.query_extension("XKEYBOARD")
        if not ext.present:
            raise DictateError('the X server has no XKEYBOARD extension; use [output] method = "paste"')
        self.d = d
        self.opcode = ext.major_opcode
        reply = _XkbUseExtension(display=d.display, opcode=self.opcode, major=1, minor=0)
        if not reply.supported:
            raise DictateError('the X server refused XKEYBOARD 1.0; use [output] method = "paste"')

    def read_keys(self, device: int, first: int, count: int) -> tuple[list[_Key], set[int]]:
        """The symbols and actions of keys first..first+count-1, and the keycodes with a behavior."""
        reply = _XkbGetMap(
            display=self.d.display, opcode=self.opcode, device=device, full=0,
            partial=_KEY_SYMS | _KEY_ACTIONS | _KEY_BEHAVIORS,
            first_keysym=first, n_keysyms=count, first_key_act=first, n_key_acts=count,
            first_key_behavior=first, n_key_behaviors=count,
        )  # fmt: skip
        body, offset = bytes(reply.body), 0
        heads: list[tuple[bytes, int]] = []
        for _ in range(reply.n_keysyms):
            (nsyms,) = struct.unpack_from("=H", body, offset + 6)
            size = 8 + 4 * nsyms
            heads.append((body[offset : offset + size], nsyms))
            offset += size
        counts = body[offset : offset + reply.n_key_acts]
        offset += len(_pad4(counts))
        keys = []
        for (symbols, nsyms), acts in zip(heads, counts, strict=True):
            keys.append(_Key(symbols, nsyms, body[offset : offset + 8 * acts]))
            offset += 8 * acts
        behaviors = {body[offset + 4 * i] for i in range(reply.total_key_behaviors)}
        return keys, behaviors

    def read_types(self, device: int) -> list[_Type]:
        """The key types of a device, indexed as the keys' type indices refer to them."""
        reply = _XkbGetMap(
            display=self.d.display, opcode=self.opcode, device=device, full=_KEY_TYPES, partial=0,
            first_keysym=0, n_keysyms=0, first_key_act=0, n_key_acts=0, first_key_behavior=0, n_key_behaviors=0,
        )  # fmt: skip
        body, offset = bytes(reply.body), 0
        types = []
        for _ in range(reply.n_types):
            # xkbKeyTypeWireDesc: mask, real mods, virtual mods, levels, map entries, preserve, pad
            mask, _, _, _, entries, preserve = struct.unpack_from("=BBHBB?x", body, offset)
            offset += 8
            levels = []
            for _ in range(entries):
                # xkbKTMapEntryWireDesc: active, mask, level, real mods, virtual mods, pad
                active, entry_mask, level = struct.unpack_from("=?BB", body, offset)
                offset += 8
                if active:
                    levels.append((entry_mask, level))
            offset += 4 * entries if preserve else 0
            types.append(_Type(mask, tuple(levels)))
        return types

    def read_state(self) -> tuple[int, int]:
        """(locked modifiers, effective group) of the core keyboard."""
        reply = _XkbGetState(display=self.d.display, opcode=self.opcode, device=_USE_CORE_KBD)
        return int(reply.locked_mods), int(reply.group)

    def write_keys(self, device: int, first: int, keys: Sequence[_Key], min_kc: int, max_kc: int) -> None:
        _Xkb.last_change = time.monotonic()
        counts = bytes(len(key.actions) // 8 for key in keys)
        body = b"".join(key.symbols for key in keys) + _pad4(counts) + b"".join(key.actions for key in keys)
        _XkbSetMap(
            display=self.d.display, opcode=self.opcode, device=device, present=_KEY_SYMS | _KEY_ACTIONS,
            flags=0, min_keycode=min_kc, max_keycode=max_kc, first_keysym=first, n_keysyms=len(keys),
            total_syms=sum(key.nsyms for key in keys), first_key_act=first, n_key_acts=len(keys),
            total_acts=sum(counts), body=body,
        )  # fmt: skip

    def set_locked(self, mask: int, locked: bool) -> None:
        _XkbLatchLockState(
            display=self.d.display, opcode=self.opcode, device=_USE_CORE_KBD, affect_locks=mask,
            locks=mask if locked else 0,
        )  # fmt: skip


# ---- typing --------------------------------------------------------------------------------------


_GRAB_KEY = struct.Struct("=BBHIHBBB3x")  # GrabKey: owner-events, window, modifiers, key, async, async
_UNGRAB_KEY = struct.Struct("=BBHIH2x")  # UngrabKey: key, window, modifiers


class _Raw:
    """A pre-encoded request for Display.send_request (XTEST events are sent by the thousand)."""

    __slots__ = ("_binary", "_serial")

    def __init__(self, binary: bytes) -> None:
        self._binary = binary
        self._serial = 0


class XKeyboard:
    """Types text exactly through XTEST: characters of the layout with their own keys, the others by
    binding their keysyms on the XTEST keyboard for the occasion, to keys without symbols first."""

    def __init__(
        self,
        display_name: str | None = None,
        *,
        release_wait: float = RELEASE_WAIT,
        restore_after: float = RESTORE_AFTER,
        remap_pause: float = REMAP_PAUSE,
    ) -> None:
        self.d = open_display(display_name)
        if not self.d.query_extension("XTEST").present:
            raise DictateError('the X server has no XTEST extension, needed to type; use [output] method = "paste"')
        self.xkb = _Xkb(self.d)
        self.xtest_device, self.source_device = _keyboards(self.d)
        self.min_kc = self.d.display.info.min_keycode
        self.max_kc = self.d.display.info.max_keycode
        self.release_wait = release_wait
        self.restore_after = restore_after
        self.remap_pause = remap_pause
        self._xtest_opcode = self.d.query_extension("XTEST").major_opcode
        self._lock = threading.RLock()
        self._original: list[_Key] | None = None  # set while the XTEST keyboard carries our bindings
        self._xtest_keys: list[_Key] = []  # what the XTEST keyboard carries, as last read or written
        self._timer: threading.Timer | None = None
        self._probed: tuple[float, int, list[int]] | None = None  # (when, state, ungrabbed keycodes)
        self._settled_at = 0.0  # time.monotonic() after which the keys typed so far have surely been read
        atexit.register(self.close)

    # -- public --

    def type(self, text: str, *, max_keymaps: int | None = None) -> bool:
        """Type `text` ("\\n" as Return) into the focused window. With `max_keymaps`, a text that would
        take more keymaps than that (more characters off the layout than the keys it may borrow hold)
        is not typed at all, and False is returned."""
        if not text:
            return True
        with self._lock:
            self._cancel_restore()
            self.release_modifiers()
            original, behaviors = self._read_original()
            batches = self._plan(text, original, behaviors)
            if max_keymaps is not None and len(batches) > max_keymaps:
                self._schedule_restore()
                return False
            locked = self._pointer_state() & X.LockMask
            if locked:  # Xlib upper-cases every keysym while Caps Lock is on
                self.xkb.set_locked(X.LockMask, False)
            try:
                for batch in batches:
                    self._bind(original, batch.keys)
                    self._send_strokes(batch)
                self.d.sync()
            finally:
                if locked:
                    self.xkb.set_locked(X.LockMask, True)
                    self.d.sync()
                self._schedule_restore()
            return True

    def press_chord(self, keysym_names: Sequence[str]) -> None:
        """Press modifiers and a key together (["Control_L", "v"]) and release them, modifiers cleared first."""
        with self._lock:
            self.restore()
            self.release_modifiers()
            syms = [XK.string_to_keysym(name) for name in keysym_names]
            if 0 in syms:
                raise ValueError(f"unknown key name in {keysym_names!r}")
            codes = [self.d.keysym_to_keycode(sym) for sym in syms]
            if not all(codes[:-1]):
                raise DictateError(f"no keycode for a modifier in {'+'.join(keysym_names)}")
            if not codes[-1]:
                original, behaviors = self._read_original()
                spare = self._borrow(original, self._usable_keycodes(behaviors), {}, [syms[-1]])
                if not spare:
                    raise DictateError(f"no free keycode to press {keysym_names[-1]} with")
                self._bind(original, {spare[0]: (syms[-1],)})
                codes[-1] = spare[0]
            presses = [self._fake(X.KeyPress, code) for code in codes]
            self._send_block(presses + [self._fake(X.KeyRelease, code) for code in reversed(codes)])
            self.d.sync()
            self._settled_at = time.monotonic() + self.remap_pause + SECONDS_PER_EVENT * 2 * len(codes)
            self._schedule_restore()

    def release_modifiers(self) -> None:
        """Wait up to release_wait for held modifier keys to come up, then release the rest ourselves.

        With Ctrl still down from the hotkey, a typed "v" would be Ctrl+V. Locks (Caps Lock) are not
        touched here. A released key is not pressed again afterwards: re-pressing a key the user let go
        of meanwhile would leave it stuck.
        """
        modifier_keys = {code for index, row in enumerate(self.d.get_modifier_mapping()) if index != 1 for code in row}
        modifier_keys.discard(0)
        deadline = time.monotonic() + self.release_wait
        while True:
            held = _pressed(self.d.query_keymap()) & modifier_keys
            if not held or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        for code in sorted(held):
            xtest.fake_input(self.d, X.KeyRelease, code)
        if held:
            self.d.sync()

    def focused_class(self) -> tuple[str, str] | None:
        with self._lock:
            return focused_window_class(self.d)

    def restore(self) -> None:
        """Put the XTEST keyboard's original keys back, as soon as the keys typed have been read."""
        with self._lock:
            self._cancel_restore()
            if self._original is not None:
                time.sleep(max(0.0, self._settled_at - time.monotonic()))
                self.xkb.write_keys(self.xtest_device, self.min_kc, self._original, self.min_kc, self.max_kc)
                self.d.sync()
                self._xtest_keys = self._original
                self._original = None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.restore()
        with contextlib.suppress(Exception):
            self.d.close()
        atexit.unregister(self.close)

    # -- internals --

    def _read_original(self) -> tuple[list[_Key], set[int]]:
        # Read from the physical keyboard, not the XTEST one: if an earlier run died before restoring,
        # the XTEST keyboard still carries its bindings, and restoring from it would keep them.
        count = self.max_kc - self.min_kc + 1
        keys, behaviors = self.xkb.read_keys(self.source_device, self.min_kc, count)
        self._xtest_keys, _ = self.xkb.read_keys(self.xtest_device, self.min_kc, count)
        return (self._original if self._original is not None else keys), behaviors

    def _plan(self, text: str, original: list[_Key], behaviors: set[int]) -> list[KeymapBatch]:
        """The batches that type `text`: layout characters in place, the others bound to borrowed keys."""
        usable = self._usable_keycodes(behaviors)
        places = self._places(original, usable)
        needed = dict.fromkeys(keysym_for(char) for char in text)
        borrowed = self._borrow(original, usable, places, needed)
        layout: dict[int, tuple[int, bool]] = {}
        for sym, spots in places.items():
            spot = next((spot for spot in spots if spot[0] not in borrowed), None)
            if spot is not None:
                layout[sym] = spot
        if not borrowed and any(sym not in layout for sym in needed):
            raise DictateError("no free keycode to type with (all keys are grabbed or held)")
        return plan_batches(text, borrowed, layout)

    def _places(self, original: Sequence[_Key], usable: Iterable[int]) -> dict[int, list[tuple[int, bool]]]:
        """keysym -> every (keycode, with Shift) that types it among the keys we may press, unshifted first.

        The level a key gives is worked out as clients do it, from the key's type for the current
        group and the locked modifiers (Num Lock); Caps Lock is off while we type. Keys with actions are
        left alone: pressing one would change the keyboard's state.
        """
        locked, group = self.xkb.read_state()
        mods = locked & ~X.LockMask
        types = self.xkb.read_types(self.xtest_device)
        keys = [(code, original[code - self.min_kc]) for code in usable]
        places: dict[int, list[tuple[int, bool]]] = {}
        for shifted in (False, True):
            for code, key in keys:
                if key.has_actions:
                    continue
                sym = key.keysym(types, group, mods | (X.ShiftMask if shifted else 0))
                if sym and (code, False) not in places.get(sym, ()):
                    places.setdefault(sym, []).append((code, shifted))
        return places

    def _borrow(
        self,
        original: Sequence[_Key],
        usable: Sequence[int],
        places: Mapping[int, Sequence[tuple[int, bool]]],
        needed: Iterable[int],
    ) -> list[int]:
        """The keycodes to bind the keysyms off the layout to, two per key with Shift.

        Keys without symbols, highest first (xdotool takes its scratch key from the lowest). When they
        are too few, rather than changing the keymap in the middle of the text (a target that stalls
        reads keys typed before a change with the keymap after it), spare keys are borrowed too: the
        vendor keys (XF86 launch, media and the like; about 95 on the evdev map) and F13 up, then keys
        that only type characters, first those typing nothing of the text, then those typing one of its
        characters. The lowest key without symbols is then left alone, so that xdotool and the like can
        still bind what they need. Keys with any other symbol are never borrowed, nor Space, which
        shortcuts use: a process killed before it restores leaves its bindings behind, and Escape,
        Return or F1 gone from the XTEST keyboard would break every other user of XTEST. A key grabbed
        by another client (a desktop's media keys) is never borrowed at all.
        """
        free = sorted((code for code in usable if original[code - self.min_kc].is_free), reverse=True)
        needed = list(needed)
        off_layout = sum(1 for sym in needed if sym not in places)
        if off_layout <= 2 * len(free):
            return free
        borrowed = free[:-1]
        spare = [code for code in usable if original[code - self.min_kc].is_spare]
        borrowed += spare[: max(0, (off_layout + 1) // 2 - len(borrowed))]
        taken = set(borrowed)
        provides: dict[int, set[int]] = {}  # key -> the text's keysyms it types
        for sym in needed:
            for code, _ in places.get(sym, ()):
                provides.setdefault(code, set()).add(sym)

        def cost(code: int) -> int:
            """How many of the text's keysyms no other key left would type, were `code` borrowed."""
            return sum(all(c in taken or c == code for c, _ in places[sym]) for sym in provides.get(code, ()))

        keys = ((code, original[code - self.min_kc]) for code in usable)
        candidates = [code for code, key in keys if key.is_character and _SPACE not in key.keysyms]
        short = off_layout - 2 * len(borrowed)
        while short > 0 and candidates:
            code = min(candidates, key=cost)
            price = cost(code)
            if price >= 2:
                break
            candidates.remove(code)
            borrowed.append(code)
            taken.add(code)
            short -= 2 - price
        return borrowed

    def _bind(self, original: list[_Key], keys: Mapping[int, tuple[int, ...]]) -> None:
        """Make the XTEST keyboard carry the original keys plus `keys`, once the keys typed before have
        been read. Nothing is written when it does already (no keys to bind, nothing left bound)."""
        wanted = [_bound_key(keys[code]) if code in keys else key for code, key in enumerate(original, self.min_kc)]
        if wanted != self._xtest_keys:
            self.d.sync()
            time.sleep(max(0.0, self._settled_at - time.monotonic()))
            self.xkb.write_keys(self.xtest_device, self.min_kc, wanted, self.min_kc, self.max_kc)
            self._xtest_keys = wanted
        self._original = original if keys else None

    def _usable_keycodes(self, behaviors: set[int]) -> list[int]:
        """Keycodes we may press or rebind: not a modifier, no behavior (lock, overlay), not held, not grabbed."""
        state = self._pointer_state() & 0xFF & ~(X.LockMask | X.ShiftMask)
        now = time.monotonic()
        if self._probed is None or self._probed[1] != state or now - self._probed[0] > GRAB_PROBE_TTL:
            time.sleep(max(0.0, _Xkb.last_change + GRAB_SETTLE - now))
            modifiers = {code for row in self.d.get_modifier_mapping() for code in row}
            candidates = [c for c in range(self.min_kc, self.max_kc + 1) if c not in modifiers]
            self._probed = (time.monotonic(), state, self._ungrabbed(candidates, (state, state | X.ShiftMask)))
        held = _pressed(self.d.query_keymap())
        return [code for code in self._probed[2] if code not in behaviors and code not in held]

    def _ungrabbed(self, keycodes: Iterable[int], states: Sequence[int]) -> list[int]:
        """The keycodes no other client grabbed on the root window in any of `states`.

        A grab cannot be listed, but trying the same grab fails with BadAccess when someone holds it.
        Hundreds of GrabKey requests go out as one block; the errors name them by sequence number.
        """
        root = self.d.screen().root.id
        trials = [(code, state) for code in keycodes for state in states]
        failures: list[error.XError] = []
        self.d.set_error_handler(lambda err, request=None: failures.append(err))
        try:
            start = self._send_block([_GRAB_KEY.pack(33, 0, 4, root, state, code, 1, 1) for code, state in trials])
            self.d.sync()
        finally:
            self.d.set_error_handler(None)
        refused = {(err.sequence_number - start) % 65536 for err in failures if isinstance(err, error.BadAccess)}
        taken = {trials[index][0] for index in refused if index < len(trials)}
        granted = [trial for index, trial in enumerate(trials) if index not in refused]
        if granted:
            self._send_block([_UNGRAB_KEY.pack(34, code, 3, root, state) for code, state in granted])
            self.d.sync()
        return [code for code in dict.fromkeys(code for code, _ in trials) if code not in taken]

    def _send_block(self, requests: Sequence[bytes]) -> int:
        """Queue pre-encoded requests as one block; return the sequence number of the first."""
        block = _Raw(b"".join(requests))
        self.d.display.send_request(block, False)
        self._advance_serial(len(requests) - 1)
        return block._serial

    def _send_strokes(self, batch: KeymapBatch) -> int:
        shift = self.d.keysym_to_keycode(XK.XK_Shift_L) if batch.needs_shift else 0
        if batch.needs_shift and not shift:
            raise DictateError("no Shift_L key in the keymap, needed to type these characters")
        chunks: list[bytes] = []
        shifted = False
        for code, with_shift in batch.strokes:
            if with_shift != shifted:
                chunks.append(self._fake(X.KeyPress if with_shift else X.KeyRelease, shift))
                shifted = with_shift
            chunks.append(self._fake(X.KeyPress, code))
            chunks.append(self._fake(X.KeyRelease, code))
        if shifted:
            chunks.append(self._fake(X.KeyRelease, shift))
        # python-xlib encodes a request in tens of microseconds; thousands of identical 36-byte XTEST
        # requests are cheaper to encode here and hand over as one block.
        self._send_block(chunks)
        self.d.flush()
        self._settled_at = time.monotonic() + self.remap_pause + SECONDS_PER_EVENT * len(chunks)
        return len(chunks)

    def _fake(self, kind: int, keycode: int) -> bytes:
        # XTEST FakeInput: opcode, minor 2, length 9 words, type, detail, pad, time 0 (now), root, pad, x, y, pad
        return struct.pack("=BBHBBxxII8xhh8x", self._xtest_opcode, 2, 9, kind, keycode, 0, 0, 0, 0)

    def _advance_serial(self, extra: int) -> None:
        # send_request counted one request; the block holds `extra` more, and replies are matched by number.
        protocol = self.d.display
        protocol.request_queue_lock.acquire()
        try:
            protocol.request_serial = (protocol.request_serial + extra) % 65536
        finally:
            protocol.request_queue_lock.release()

    def _pointer_state(self) -> int:
        return int(self.d.screen().root.query_pointer().mask)

    def _schedule_restore(self) -> None:
        """Restore once the keys typed have surely been read (and restore_after more seconds of quiet)."""
        self._cancel_restore()
        if self._original is None:
            return
        delay = max(0.0, self._settled_at - time.monotonic()) + self.restore_after
        self._timer = threading.Timer(delay, self.restore)
        self._timer.daemon = True
        self._timer.start()

    def _cancel_restore(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _keyboards(d: display.Display) -> tuple[int, int]:
    """(XTEST keyboard id, a physical keyboard id to read the user's keymap from) for the core keyboard."""
    try:
        devices = d.xinput_query_device(xinput.AllDevices).devices
    except Exception as exc:
        raise DictateError(f"the X server did not list its input devices (XInput 2): {exc}") from None
    masters = [dev for dev in devices if dev.use == xinput.MasterKeyboard]
    slaves = [dev for dev in devices if dev.use == xinput.SlaveKeyboard]
    master = next((dev for dev in masters if dev.name == "Virtual core keyboard"), masters[0] if masters else None)
    if master is None:
        raise DictateError("the X server reports no keyboard")
    attached = [dev for dev in slaves if dev.attachment == master.deviceid]
    xtest_dev = next((dev for dev in attached if "XTEST" in dev.name), None)
    if xtest_dev is None:
        raise DictateError("the X server has no XTEST keyboard")
    physical = [dev for dev in attached if "XTEST" not in dev.name]
    # Power and video buttons register as keyboards too; prefer a device named like a keyboard.
    physical.sort(key=lambda dev: ("keyboard" not in dev.name.lower(), dev.deviceid))
    return xtest_dev.deviceid, (physical[0].deviceid if physical else master.deviceid)


def _pressed(keymap: Sequence[int]) -> set[int]:
    return {8 * index + bit for index, byte in enumerate(keymap) for bit in range(8) if byte & (1 << bit)}


def focused_window_class(d: display.Display) -> tuple[str, str] | None:
    """WM_CLASS (instance, class) of the window with the input focus, or None."""
    focus = d.get_input_focus().focus
    if isinstance(focus, int) or focus is None:
        return None  # None or PointerRoot
    root = d.screen().root
    try:
        window = focus
        while window is not None and window.id != root.id:
            found = window.get_wm_class()
            if found:
                return (found[0], found[1])
            window = window.query_tree().parent
        # Some window managers focus their frame: look below it instead.
        pending, depth = [focus], 0
        while pending and depth < 3:
            children = [child for w in pending for child in w.query_tree().children]
            for child in children:
                found = child.get_wm_class()
                if found:
                    return (found[0], found[1])
            pending, depth = children, depth + 1
    except error.XError:
        return None
    return None


# ---- selections ----------------------------------------------------------------------------------

# target name -> (type name, format, value): bytes when format is 8, else a tuple of integers.
Contents = dict[str, tuple[str, int, Any]]

# Targets that describe the selection or act on it rather than hold its data.
_META_TARGETS = frozenset(
    {"TARGETS", "MULTIPLE", "TIMESTAMP", "SAVE_TARGETS", "DELETE", "INSERT_SELECTION", "INSERT_PROPERTY"}
)
_CHUNK = 128 * 1024
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


class _Window:
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
    win = _Window(display_name)
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


def _convert(win: _Window, sel: int, target: int, timeout: float) -> tuple[int, int, Any] | None:
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
    reply = win.window.get_full_property(prop, X.AnyPropertyType, sizehint=_CHUNK // 4)
    win.window.delete_property(prop)
    win.d.flush()
    if reply is None:
        return None
    if reply.property_type == win.atom("INCR"):
        return _read_incr(win, prop, deadline)
    return reply.property_type, reply.format, _value(reply.format, reply.value)


def _read_incr(win: _Window, prop: int, deadline: float) -> tuple[int, int, Any] | None:
    """Receive an INCR transfer: the owner writes chunks, we delete each, an empty chunk ends it."""
    parts: list[Any] = []
    kind, fmt = 0, 8
    while True:
        ev = win.next_event(deadline)
        if ev is None:
            return None
        if ev.type != X.PropertyNotify or ev.atom != prop or ev.state != X.PropertyNewValue:
            continue
        reply = win.window.get_full_property(prop, X.AnyPropertyType, sizehint=_CHUNK // 4)
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


class SelectionServer:
    """Owns selections on its own connection and serves their contents from a thread.

    `fetched` is set once a requestor has received a data target (not just the list of targets);
    `lost(name)` tells whether another client has taken a selection since.
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
        self._win: _Window | None = None
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
            win = self._win = _Window(self._display_name)
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

    def _handle(self, win: _Window, ev: Any) -> None:
        if ev.type == X.SelectionClear:
            self._owned.discard(win.name(ev.atom))
        elif ev.type == X.SelectionRequest:
            self.last_request = time.monotonic()
            self._answer(win, ev)
        elif ev.type == X.PropertyNotify and ev.state == X.PropertyDelete:
            self._continue_incr(win, ev.window, ev.atom)

    def _answer(self, win: _Window, ev: Any) -> None:
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
            if fmt == 8 and len(value) > _CHUNK:
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

    def _continue_incr(self, win: _Window, window: Any, prop: int) -> None:
        key = (_resource_id(window), prop)
        if key not in self._transfers:
            return
        kind, fmt, value, sent = self._transfers[key]
        chunk = value[sent : sent + _CHUNK]
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


def hold_selections(display_name: str | None, selections: Mapping[str, Contents], timeout: float = 5.0) -> None:
    """Hand selection contents to a detached helper process that serves them after we are gone."""
    payload = {
        name: {target: [kind, fmt, base64.b64encode(v).decode() if fmt == 8 else list(v)]
               for target, (kind, fmt, v) in contents.items()}
        for name, contents in selections.items()
    }  # fmt: skip
    env = dict(os.environ)
    if display_name:
        env["DISPLAY"] = display_name
    helper = subprocess.Popen(
        [sys.executable, "-m", "dictate.x11", "hold"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, env=env, start_new_session=True, close_fds=True,
    )  # fmt: skip
    assert helper.stdin is not None and helper.stdout is not None
    try:
        helper.stdin.write(json.dumps(payload).encode())
        helper.stdin.close()
        ready, _, _ = select.select([helper.stdout], [], [], timeout)
        line = helper.stdout.readline() if ready else b""
    finally:
        helper.stdout.close()
    if line.strip() != b"ready":
        with contextlib.suppress(OSError):
            helper.kill()
        raise DictateError("the clipboard helper did not start; the previous clipboard was not restored")


def _hold_main() -> int:
    payload = json.loads(sys.stdin.buffer.read())
    selections = {
        name: {target: (kind, fmt, base64.b64decode(v) if fmt == 8 else tuple(v))
               for target, (kind, fmt, v) in contents.items()}
        for name, contents in payload.items()
    }  # fmt: skip
    server = SelectionServer(None, selections)
    taken = []

    def announce(ok: bool) -> None:
        taken.append(ok)
        sys.stdout.write("ready\n" if ok else "failed\n")
        sys.stdout.flush()
        sys.stdout.close()

    server.serve_until_lost(announce)
    return 0 if taken == [True] else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["hold"]:
        sys.exit(_hold_main())
    sys.exit(f"usage: {sys.executable} -m dictate.x11 hold  (selection contents as JSON on stdin)")
