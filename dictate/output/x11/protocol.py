"""X requests that python-xlib does not offer, or offers too slowly: the one module that reaches into
python-xlib's internals (its request classes, its protocol object and request counter).

python-xlib has no XKB requests, so GetMap, SetMap, GetState and LatchLockState are declared here
with its request-building classes, and `Xkb` reads and writes keys in XKB wire format. python-xlib
also encodes every request through generic code, tens of microseconds each, while typing a text sends
thousands of XTEST FakeInput requests and probing grabs sends hundreds of GrabKey and UngrabKey: those
are packed here by hand and handed over as one block (`send_block`).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from typing import ClassVar

from Xlib import display
from Xlib.protocol import rq

from dictate.errors import DictateError
from dictate.output.x11.keymap import XkbKey, XkbType

USE_CORE_KBD = 0x100  # the device id that means the core keyboard
_KEY_TYPES = 1 << 0
_KEY_SYMS = 1 << 1
_KEY_ACTIONS = 1 << 4
_KEY_BEHAVIORS = 1 << 5


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


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


class Xkb:
    """The XKEYBOARD requests we need, on one connection."""

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

    def read_keys(self, device: int, first: int, count: int) -> tuple[list[XkbKey], set[int]]:
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
            keys.append(XkbKey(symbols, nsyms, body[offset : offset + 8 * acts]))
            offset += 8 * acts
        behaviors = {body[offset + 4 * i] for i in range(reply.total_key_behaviors)}
        return keys, behaviors

    def read_types(self, device: int) -> list[XkbType]:
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
            types.append(XkbType(mask, tuple(levels)))
        return types

    def read_state(self) -> tuple[int, int]:
        """(locked modifiers, effective group) of the core keyboard."""
        reply = _XkbGetState(display=self.d.display, opcode=self.opcode, device=USE_CORE_KBD)
        return int(reply.locked_mods), int(reply.group)

    def write_keys(self, device: int, first: int, keys: Sequence[XkbKey], min_kc: int, max_kc: int) -> None:
        Xkb.last_change = time.monotonic()
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
            display=self.d.display, opcode=self.opcode, device=USE_CORE_KBD, affect_locks=mask,
            locks=mask if locked else 0,
        )  # fmt: skip


# ---- pre-encoded requests ------------------------------------------------------------------------

_GRAB_KEY = struct.Struct("=BBHIHBBB3x")  # GrabKey: owner-events, window, modifiers, key, async, async
_UNGRAB_KEY = struct.Struct("=BBHIH2x")  # UngrabKey: key, window, modifiers
_FAKE_INPUT = struct.Struct("=BBHBBxxII8xhh8x")  # XTEST FakeInput: type, detail, time, root, x, y


def grab_key(root: int, keycode: int, modifiers: int) -> bytes:
    """GrabKey of `keycode` with `modifiers` on window `root`, owner events off, both modes async."""
    return _GRAB_KEY.pack(33, 0, 4, root, modifiers, keycode, 1, 1)


def ungrab_key(root: int, keycode: int, modifiers: int) -> bytes:
    """UngrabKey of `keycode` with `modifiers` on window `root`."""
    return _UNGRAB_KEY.pack(34, keycode, 3, root, modifiers)


def fake_input(xtest_opcode: int, kind: int, keycode: int) -> bytes:
    """XTEST FakeInput (minor opcode 2, 9 words) of a key event `kind` at time 0, which means now."""
    return _FAKE_INPUT.pack(xtest_opcode, 2, 9, kind, keycode, 0, 0, 0, 0)


class _Raw:
    """A pre-encoded request, in the shape Display.send_request takes: its bytes, and a serial to set."""

    __slots__ = ("_binary", "_serial")

    def __init__(self, binary: bytes) -> None:
        self._binary = binary
        self._serial = 0


def send_block(d: display.Display, requests: Sequence[bytes]) -> int:
    """Queue pre-encoded requests as one block; return the sequence number of the first.

    send_request counts one request, so the counter is moved on past the others: replies and errors
    are matched to requests by that number.
    """
    block = _Raw(b"".join(requests))
    protocol = d.display
    protocol.send_request(block, False)
    protocol.request_queue_lock.acquire()
    try:
        protocol.request_serial = (protocol.request_serial + len(requests) - 1) % 65536
    finally:
        protocol.request_queue_lock.release()
    return block._serial
