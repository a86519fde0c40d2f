"""Typing into the focused X window through XTEST, exact for any Unicode: the XKeyboard engine.

X clients turn a key event into a character with their own copy of the keymap. A character
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
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from collections.abc import Iterable, Mapping, Sequence

from Xlib import XK, X, error
from Xlib.ext import xtest

from dictate.errors import DictateError
from dictate.output.x11 import protocol
from dictate.output.x11.display import focused_window_class, keyboard_devices, open_display, pressed
from dictate.output.x11.keymap import (
    KeymapBatch,
    XkbKey,
    borrow_keycodes,
    keysym_for,
    layout_places,
    plan_batches,
)
from dictate.output.x11.protocol import Xkb

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


class XKeyboard:
    """Types text exactly through XTEST: characters of the layout with their own keys, the others by
    binding their keysyms on the XTEST keyboard for the occasion, to keys without symbols first."""

    def __init__(self, display_name: str | None = None, *, restore_after: float = RESTORE_AFTER) -> None:
        self.d = open_display(display_name)
        if not self.d.query_extension("XTEST").present:
            raise DictateError('the X server has no XTEST extension, needed to type; use [output] method = "paste"')
        self.xkb = Xkb(self.d)
        self.xtest_device, self.source_device = keyboard_devices(self.d)
        self.min_kc = self.d.display.info.min_keycode
        self.max_kc = self.d.display.info.max_keycode
        self.release_wait = RELEASE_WAIT
        self.restore_after = restore_after
        self.remap_pause = REMAP_PAUSE
        self._xtest_opcode = self.d.query_extension("XTEST").major_opcode
        self._lock = threading.RLock()
        self._original: list[XkbKey] | None = None  # set while the XTEST keyboard carries our bindings
        self._xtest_keys: list[XkbKey] = []  # what the XTEST keyboard carries, as last read or written
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
                spare = borrow_keycodes(original, self.min_kc, self._usable_keycodes(behaviors), {}, [syms[-1]])
                if not spare:
                    raise DictateError(f"no free keycode to press {keysym_names[-1]} with")
                self._bind(original, {spare[0]: (syms[-1],)})
                codes[-1] = spare[0]
            presses = [self._fake(X.KeyPress, code) for code in codes]
            protocol.send_block(self.d, presses + [self._fake(X.KeyRelease, code) for code in reversed(codes)])
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
            held = pressed(self.d.query_keymap()) & modifier_keys
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

    def _read_original(self) -> tuple[list[XkbKey], set[int]]:
        # Read from the physical keyboard, not the XTEST one: if an earlier run died before restoring,
        # the XTEST keyboard still carries its bindings, and restoring from it would keep them.
        count = self.max_kc - self.min_kc + 1
        keys, behaviors = self.xkb.read_keys(self.source_device, self.min_kc, count)
        self._xtest_keys, _ = self.xkb.read_keys(self.xtest_device, self.min_kc, count)
        return (self._original if self._original is not None else keys), behaviors

    def _plan(self, text: str, original: list[XkbKey], behaviors: set[int]) -> list[KeymapBatch]:
        """The batches that type `text`: layout characters in place, the others bound to borrowed keys."""
        usable = self._usable_keycodes(behaviors)
        places = self._places(original, usable)
        needed = dict.fromkeys(keysym_for(char) for char in text)
        borrowed = borrow_keycodes(original, self.min_kc, usable, places, needed)
        layout: dict[int, tuple[int, bool]] = {}
        for sym, spots in places.items():
            spot = next((spot for spot in spots if spot[0] not in borrowed), None)
            if spot is not None:
                layout[sym] = spot
        if not borrowed and any(sym not in layout for sym in needed):
            raise DictateError("no free keycode to type with (all keys are grabbed or held)")
        return plan_batches(text, borrowed, layout)

    def _places(self, original: Sequence[XkbKey], usable: Sequence[int]) -> dict[int, list[tuple[int, bool]]]:
        """keysym -> every (keycode, with Shift) that types it among the keys we may press, unshifted first,
        read in the current group with the locked modifiers (Num Lock); Caps Lock is off while we type."""
        locked, group = self.xkb.read_state()
        types = self.xkb.read_types(self.xtest_device)
        return layout_places(original, self.min_kc, usable, types, group, locked & ~X.LockMask)

    def _bind(self, original: list[XkbKey], keys: Mapping[int, tuple[int, ...]]) -> None:
        """Make the XTEST keyboard carry the original keys plus `keys`, once the keys typed before have
        been read. Nothing is written when it does already (no keys to bind, nothing left bound)."""
        wanted = [XkbKey.bound(keys[code]) if code in keys else key for code, key in enumerate(original, self.min_kc)]
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
            time.sleep(max(0.0, Xkb.last_change + GRAB_SETTLE - now))
            modifiers = {code for row in self.d.get_modifier_mapping() for code in row}
            candidates = [c for c in range(self.min_kc, self.max_kc + 1) if c not in modifiers]
            self._probed = (time.monotonic(), state, self._ungrabbed(candidates, (state, state | X.ShiftMask)))
        held = pressed(self.d.query_keymap())
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
            start = protocol.send_block(self.d, [protocol.grab_key(root, code, state) for code, state in trials])
            self.d.sync()
        finally:
            self.d.set_error_handler(None)
        refused = {(err.sequence_number - start) % 65536 for err in failures if isinstance(err, error.BadAccess)}
        taken = {trials[index][0] for index in refused if index < len(trials)}
        granted = [trial for index, trial in enumerate(trials) if index not in refused]
        if granted:
            protocol.send_block(self.d, [protocol.ungrab_key(root, code, state) for code, state in granted])
            self.d.sync()
        return [code for code in dict.fromkeys(code for code, _ in trials) if code not in taken]

    def _send_strokes(self, batch: KeymapBatch) -> None:
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
        protocol.send_block(self.d, chunks)
        self.d.flush()
        self._settled_at = time.monotonic() + self.remap_pause + SECONDS_PER_EVENT * len(chunks)

    def _fake(self, kind: int, keycode: int) -> bytes:
        return protocol.fake_input(self._xtest_opcode, kind, keycode)

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
