"""Pure planning for typing through the X keymap: characters -> keysyms -> (keycode, shifted) strokes.

X11 clients turn a key press into a character with their own copy of the keymap, refreshed only when
the server announces a change. A character the keyboard layout already produces is typed with its
own key, as the user would. Any other character needs a keysym bound to some keycode: every such
keysym is bound in one change, clients see it, those keycodes are pressed, and the keymap is put back
later. This module decides the strokes and the bindings; dictate.x11 talks to the server.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
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


def is_character_keysym(sym: int) -> bool:
    """Whether a keysym stands for a printable character (Latin-1, the legacy script blocks, Unicode).

    Everything from 0xFE00 to 0xFFFF is a key with a function (Escape, Return, Tab, arrows, F-keys,
    keypad, modifiers, locks, dead keys), and keysyms from 0x10000000 up are vendor keys (XF86 media
    keys and the like).
    """
    return 0x20 <= sym <= 0x7E or 0xA0 <= sym < 0xFE00 or 0x01000100 <= sym <= 0x0110FFFF


# Where a keysym can be typed without binding it: keysym -> (keycode, with Shift).
Layout = Mapping[int, tuple[int, bool]]


@dataclass(frozen=True)
class KeymapBatch:
    """One keymap (the layout plus `keys`) and the key strokes typed with it.

    `keys` binds a keycode to one keysym (any modifier state gives it) or two (the second with Shift);
    it is empty when every character of the batch is on the layout. `strokes` are (keycode, shifted)
    in text order.
    """

    keys: dict[int, tuple[int, ...]]
    strokes: tuple[tuple[int, bool], ...]

    @property
    def needs_shift(self) -> bool:
        return any(shifted for _, shifted in self.strokes)


def plan_batches(text: str, keycodes: Sequence[int], layout: Layout | None = None) -> list[KeymapBatch]:
    """Strokes for `text`: its characters on the layout typed in place, the others bound to `keycodes`,
    with as few keymap changes as possible.

    Every keysym to bind gets its own keycode while there are enough; beyond that a keycode carries a
    second keysym reached with Shift. A text with more such characters than two per keycode is cut
    into consecutive batches, each typed after its own keymap change. Each change waits until the
    keys of the batch before it have been read, and nothing waits for the last batch: the cuts are
    made from the end, so that the last batch is as long as it can be. `keycodes` must not hold a
    key the layout strokes use.
    """
    layout = layout or {}
    assert not {code for code, _ in layout.values()} & set(keycodes), "a layout key cannot be borrowed"
    capacity = 2 * len(keycodes)
    syms = [keysym_for(char) for char in text]
    cuts = [len(syms)]
    distinct: set[int] = set()
    for index in range(len(syms) - 1, -1, -1):
        sym = syms[index]
        if sym in layout or sym in distinct:
            continue
        if not capacity:
            raise ValueError(f"no keycodes to bind {text[index]!r} to")
        if len(distinct) == capacity:
            cuts.append(index + 1)
            distinct = set()
        distinct.add(sym)
    cuts.append(0)
    cuts.reverse()
    batches = []
    for start, end in itertools.pairwise(cuts):
        segment = syms[start:end]
        if segment:
            bound = [sym for sym in dict.fromkeys(segment) if sym not in layout]
            batches.append(_bind(segment, bound, keycodes, layout))
    return batches


def _bind(segment: list[int], syms: list[int], keycodes: Sequence[int], layout: Layout) -> KeymapBatch:
    count = len(keycodes)
    slot: dict[int, tuple[int, bool]] = dict(layout)
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
