"""Pure planning for typing through a borrowed keymap: characters -> keysyms -> (keycode, level) slots.

X11 clients turn a key press into a character with their own copy of the keymap, refreshed only when
the server announces a change. Typing arbitrary Unicode therefore means: bind every needed keysym to
some keycode in one change, let clients see it, press those keycodes, and put the keymap back later.
This module decides the bindings; dictate.x11 talks to the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RETURN = 0xFF0D
TAB = 0xFF09


def keysym_for(char: str) -> int:
    """The X keysym that produces `char`: Latin-1 keysyms equal the code point, others are 0x01000000 + it."""
    if char == "\n":
        return RETURN
    if char == "\t":
        return TAB
    code = ord(char)
    if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF:
        return code
    if code < 0x20 or 0x7F <= code < 0xA0:
        raise ValueError(f"control character U+{code:04X} cannot be typed")
    return 0x01000000 | code


@dataclass(frozen=True)
class KeymapBatch:
    """One keymap change and the key strokes typed with it.

    `keys` binds a keycode to one keysym (any modifier state gives it) or two (the second with Shift).
    `strokes` are (keycode, shifted) in text order.
    """

    keys: dict[int, tuple[int, ...]]
    strokes: tuple[tuple[int, bool], ...]

    @property
    def needs_shift(self) -> bool:
        return any(len(syms) > 1 for syms in self.keys.values())


def plan_batches(text: str, keycodes: Sequence[int]) -> list[KeymapBatch]:
    """Bind the text's keysyms to `keycodes`, as few keymap changes as possible.

    Every distinct keysym gets its own keycode while there are enough; beyond that a keycode carries a
    second keysym reached with Shift. A text with more distinct characters than two per keycode is cut
    into consecutive batches, each typed after its own keymap change.
    """
    if not keycodes:
        raise ValueError("no keycodes to bind")
    capacity = 2 * len(keycodes)
    batches: list[KeymapBatch] = []
    segment: list[int] = []
    distinct: dict[int, None] = {}
    for char in text:
        sym = keysym_for(char)
        if sym not in distinct and len(distinct) == capacity:
            batches.append(_bind(segment, list(distinct), keycodes))
            segment, distinct = [], {}
        distinct.setdefault(sym)
        segment.append(sym)
    if segment:
        batches.append(_bind(segment, list(distinct), keycodes))
    return batches


def _bind(segment: list[int], syms: list[int], keycodes: Sequence[int]) -> KeymapBatch:
    count = len(keycodes)
    slot: dict[int, tuple[int, bool]] = {}
    keys: dict[int, tuple[int, ...]] = {}
    for index, sym in enumerate(syms):
        keycode = keycodes[index % count]
        if index < count:
            slot[sym] = (keycode, False)
            keys[keycode] = (sym,)
        else:
            slot[sym] = (keycode, True)
            keys[keycode] = (*keys[keycode], sym)
    return KeymapBatch(keys=keys, strokes=tuple(slot[sym] for sym in segment))
