"""Pure planning for typing through the X keymap: characters -> keysyms -> (keycode, shifted) strokes.

X11 clients turn a key press into a character with their own copy of the keymap, refreshed only when
the server announces a change. A character the keyboard layout already produces is typed with its
own key, as the user would. Any other character needs a keysym bound to some keycode: every such
keysym is bound in one change, clients see it, those keycodes are pressed, and the keymap is put back
later. This module decides the strokes and the bindings, and which keys may be borrowed for them,
from the keys as XKB describes them; dictate.output.x11.keyboard talks to the server.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

RETURN = 0xFF0D
TAB = 0xFF09
SPACE = 0x20
SHIFT_MASK = 1  # X's ShiftMask
ONE_LEVEL = 0  # canonical XKB key type indices (fixed by the protocol)
TWO_LEVEL = 1


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


def is_spare_keysym(sym: int) -> bool:
    """Whether a keysym is a vendor key (XF86 launch and media keys and the like) or F13 to F35."""
    return sym >= 0x10000000 or 0xFFCA <= sym <= 0xFFE0


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


# ---- keys as XKB describes them ----------------------------------------------------------------


@dataclass(frozen=True)
class XkbType:
    """An XKB key type: the modifiers it looks at, and the level each combination of them selects."""

    mask: int
    levels: tuple[tuple[int, int], ...]  # (modifiers, level) of each active map entry

    def level(self, mods: int) -> int:
        wanted = mods & self.mask
        return next((level for entry_mods, level in self.levels if entry_mods == wanted), 0)


@dataclass(frozen=True)
class XkbKey:
    """One key's XKB symbols and actions, in wire format, so it can be written back unchanged."""

    symbols: bytes  # xkbSymMapWireDesc (4 type indices, group info, width, count) followed by the keysyms
    nsyms: int
    actions: bytes  # nsyms actions of 8 bytes each, or nothing

    @classmethod
    def bound(cls, keysyms: Sequence[int]) -> XkbKey:
        """A key with one group producing keysyms[0], or keysyms[0] / keysyms[1] with Shift; no actions."""
        kind = ONE_LEVEL if len(keysyms) == 1 else TWO_LEVEL
        head = struct.pack("=4BBBH", kind, 0, 0, 0, 1, len(keysyms), len(keysyms))
        return cls(head + struct.pack(f"={len(keysyms)}I", *keysyms), len(keysyms), b"")

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
        return bool(syms) and all(is_spare_keysym(sym) for sym in syms) and not self.has_actions

    @property
    def is_character(self) -> bool:
        """A key that only types characters: no function key, keypad, modifier, lock or media key."""
        syms = [sym for sym in self.keysyms if sym]
        return bool(syms) and all(is_character_keysym(sym) for sym in syms) and not self.has_actions

    def keysym(self, types: Sequence[XkbType], group: int, mods: int) -> int:
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


# ---- which keys type what, and which may be borrowed ----------------------------------------------

# keysym -> every (keycode, with Shift) that types it, unshifted first.
Places = Mapping[int, Sequence[tuple[int, bool]]]


def layout_places(
    keys: Sequence[XkbKey], first: int, usable: Sequence[int], types: Sequence[XkbType], group: int, mods: int
) -> dict[int, list[tuple[int, bool]]]:
    """keysym -> every (keycode, with Shift) that types it among the `usable` keys, unshifted first.

    `keys` are the keymap from keycode `first` on; the level a key gives is worked out as clients do
    it, from the key's type for `group` and the modifiers `mods` (locked ones, such as Num Lock). Keys
    with actions are left out: pressing one would change the keyboard's state.
    """
    places: dict[int, list[tuple[int, bool]]] = {}
    for shifted in (False, True):
        for code in usable:
            key = keys[code - first]
            if key.has_actions:
                continue
            sym = key.keysym(types, group, mods | (SHIFT_MASK if shifted else 0))
            if sym and (code, False) not in places.get(sym, ()):
                places.setdefault(sym, []).append((code, shifted))
    return places


def borrow_keycodes(
    keys: Sequence[XkbKey], first: int, usable: Sequence[int], places: Places, needed: Iterable[int]
) -> list[int]:
    """The keycodes to bind the keysyms `needed` off the layout to, two per key with Shift.

    Keys without symbols, highest first (xdotool takes its scratch key from the lowest). When they
    are too few, rather than changing the keymap in the middle of the text (a target that stalls
    reads keys typed before a change with the keymap after it), spare keys are borrowed too: the
    vendor keys (XF86 launch, media and the like; about 95 on the evdev map) and F13 up, then keys
    that only type characters, first those typing nothing of the text, then those typing one of its
    characters. The lowest key without symbols is then left alone, so that xdotool and the like can
    still bind what they need. Keys with any other symbol are never borrowed, nor Space, which
    shortcuts use: a process killed before it restores leaves its bindings behind, and Escape,
    Return or F1 gone from the XTEST keyboard would break every other user of XTEST. Only `usable`
    keys are borrowed (the caller leaves out keys another client grabbed, such as a desktop's media
    keys); `keys` are the keymap from keycode `first` on.
    """
    free = sorted((code for code in usable if keys[code - first].is_free), reverse=True)
    needed = list(needed)
    off_layout = sum(1 for sym in needed if sym not in places)
    if off_layout <= 2 * len(free):
        return free
    borrowed = free[:-1]
    spare = [code for code in usable if keys[code - first].is_spare]
    borrowed += spare[: max(0, (off_layout + 1) // 2 - len(borrowed))]
    taken = set(borrowed)
    provides: dict[int, set[int]] = {}  # key -> the text's keysyms it types
    for sym in needed:
        for code, _ in places.get(sym, ()):
            provides.setdefault(code, set()).add(sym)

    def cost(code: int) -> int:
        """How many of the text's keysyms no other key left would type, were `code` borrowed."""
        return sum(all(c in taken or c == code for c, _ in places[sym]) for sym in provides.get(code, ()))

    pairs = ((code, keys[code - first]) for code in usable)
    candidates = [code for code, key in pairs if key.is_character and SPACE not in key.keysyms]
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
