"""Pure keymap planning: keysyms, strokes and batches, keys read as X clients read them, borrowing."""

from __future__ import annotations

import struct

import pytest

from dictate.output.x11.keymap import (
    RETURN,
    KeymapBatch,
    Layout,
    XkbKey,
    XkbType,
    borrow_keycodes,
    is_character_keysym,
    keysym_for,
    layout_places,
    plan_batches,
)

# ---- keysyms and strokes ---------------------------------------------------------------------------


def test_keysyms_follow_the_x_convention() -> None:
    assert keysym_for("a") == ord("a")
    assert keysym_for("é") == 0xE9  # Latin-1 keysyms equal the code point
    assert keysym_for("—") == 0x01002014  # others are 0x01000000 + code point
    assert keysym_for("😀") == 0x0101F600
    assert keysym_for("\n") == RETURN
    with pytest.raises(ValueError):
        keysym_for("\x1b")


def decode(batches: list[KeymapBatch], keycodes: list[int], layout: Layout | None = None) -> str:
    """What a client would read from the planned strokes."""
    on_layout = {place: sym for sym, place in (layout or {}).items()}
    out = []
    for batch in batches:
        assert set(batch.keys) <= set(keycodes)
        for code, shifted in batch.strokes:
            if code in batch.keys:
                syms = batch.keys[code]
                sym = syms[1] if shifted else syms[0]
            else:
                sym = on_layout[(code, shifted)]
            out.append("\n" if sym == RETURN else chr(sym & 0xFFFFFF if sym > 0xFF else sym))
    return "".join(out)


def test_one_keycode_per_character_when_they_fit() -> None:
    keycodes = list(range(10, 40))
    batches = plan_batches("héllo wörld", keycodes)
    assert len(batches) == 1
    assert not batches[0].needs_shift
    assert all(len(syms) == 1 for syms in batches[0].keys.values())
    assert decode(batches, keycodes) == "héllo wörld"


def test_shift_gives_a_second_character_per_keycode() -> None:
    keycodes = [20, 21, 22]
    batches = plan_batches("abcdef", keycodes)
    assert len(batches) == 1
    assert batches[0].needs_shift
    assert decode(batches, keycodes) == "abcdef"


def test_text_with_more_characters_than_keys_is_split_into_runs() -> None:
    keycodes = [30, 31]
    text = "abc" + "defg" + "hab\n"
    batches = plan_batches(text, keycodes)
    assert [len({s for syms in b.keys.values() for s in syms}) for b in batches] == [3, 4, 4]
    assert decode(batches, keycodes) == text


def test_runs_are_cut_from_the_end_so_the_last_is_the_longest() -> None:
    # Nothing waits for the last batch to be read; every earlier one delays the change after it.
    keycodes = [40]
    batches = plan_batches("c" + "aabbaabba", keycodes)
    assert [len(b.strokes) for b in batches] == [1, 9]
    assert len(plan_batches("aabbaabba" + "c", keycodes)) == 2


def test_planning_the_corpus_round_trips() -> None:
    from tests.rig.corpus import CORPUS

    keycodes = list(range(8, 100))
    assert decode(plan_batches(CORPUS, keycodes), keycodes) == CORPUS


US = {ord(c): (10 + i, False) for i, c in enumerate("abcdefghijklmnopqrstuvwxyz .,")}
US.update({ord(c.upper()): (10 + i, True) for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")})
US[RETURN] = (100, False)


def test_layout_characters_are_typed_with_their_own_keys() -> None:
    batches = plan_batches("a Bé\n", [200], US)
    (batch,) = batches
    assert batch.keys == {200: (0xE9,)}  # only the character off the layout is bound
    assert batch.strokes == ((10, False), (36, False), (11, True), (200, False), (100, False))
    assert batch.needs_shift  # for B
    assert decode(batches, [200], US) == "a Bé\n"


def test_text_on_the_layout_binds_nothing() -> None:
    (batch,) = plan_batches("Plain words.", [], US)
    assert batch.keys == {}
    assert decode([batch], [], US) == "Plain words."


def test_a_character_off_the_layout_needs_a_keycode() -> None:
    with pytest.raises(ValueError):
        plan_batches("café", [], US)


def test_only_characters_off_the_layout_count_towards_batches() -> None:
    keycodes = [200, 201]
    text = "Crème brûlée, naïve café, Ångström, façade, jalapeño"  # è û é ï Å ö ç ñ: 8 off the layout
    batches = plan_batches(text, keycodes, US)
    assert len(batches) == 2  # four per batch on two keys
    assert decode(batches, keycodes, US) == text


def test_planning_the_corpus_with_a_layout_round_trips() -> None:
    from tests.rig.corpus import CORPUS

    keycodes = list(range(200, 219))
    assert decode(plan_batches(CORPUS, keycodes, US), keycodes, US) == CORPUS


def test_character_keysyms() -> None:
    for char in "a~ é€ж😀":
        assert is_character_keysym(keysym_for(char)), char
    assert is_character_keysym(0x6C1)  # Cyrillic_a, a legacy keysym
    for sym in (0, 0xFF1B, 0xFF09, 0xFF0D, 0xFF08, 0xFFFF, 0xFF51, 0xFFC6, 0xFFE1, 0xFFE5, 0xFE03, 0xFE51, 0xFFB1):
        assert not is_character_keysym(sym), hex(sym)  # Escape, Tab, Return, ..., dead_acute, KP_1
    assert not is_character_keysym(0x1008FF11)  # XF86AudioLowerVolume


# ---- reading a key as X clients do ----------------------------------------------------------------

ALPHABETIC = 2
SHIFT, LOCK, MOD5 = 1, 2, 0x80
TYPES = [
    XkbType(0, ()),  # ONE_LEVEL
    XkbType(SHIFT, ((SHIFT, 1),)),  # TWO_LEVEL
    XkbType(SHIFT | LOCK, ((SHIFT, 1), (LOCK, 1))),  # ALPHABETIC
    XkbType(SHIFT | MOD5, ((SHIFT, 1), (MOD5, 2), (SHIFT | MOD5, 3))),  # FOUR_LEVEL
]


def xkb_key(
    types: tuple[int, ...], groups: int, width: int, syms: list[int], info: int = 0, actions: bytes = b""
) -> XkbKey:
    head = struct.pack("=4BBBH", *types, *(0,) * (4 - len(types)), groups | info, width, len(syms))
    return XkbKey(head + struct.pack(f"={len(syms)}I", *syms), len(syms), actions)


def test_a_key_is_read_through_its_type_and_group() -> None:
    # us,de: group 1 is "y Y", group 2 is "z Z ← ¥" (FOUR_LEVEL).
    key = xkb_key((ALPHABETIC, 3), 2, 4, [ord("y"), ord("Y"), 0, 0, ord("z"), ord("Z"), 0x8FB, 0xA5])
    assert key.keysym(TYPES, 0, 0) == ord("y")
    assert key.keysym(TYPES, 0, SHIFT | 0x10) == ord("Y")  # Num Lock (Mod2) is not looked at
    assert key.keysym(TYPES, 1, SHIFT) == ord("Z")
    assert key.keysym(TYPES, 1, MOD5) == 0x8FB
    assert key.keysym(TYPES, 3, 0) == ord("z")  # out of range: wraps by default
    clamped = xkb_key((1, 1), 2, 2, [ord("a"), ord("A"), ord("b"), ord("B")], info=0x40)
    assert clamped.keysym(TYPES, 3, 0) == ord("b")
    redirected = xkb_key((1, 1), 2, 2, [ord("a"), ord("A"), ord("b"), ord("B")], info=0x80)
    assert redirected.keysym(TYPES, 2, SHIFT) == ord("A")  # redirected into group 1
    nothing = xkb_key((0,), 0, 0, [])
    assert nothing.is_free and nothing.keysym(TYPES, 0, 0) == 0
    assert key.is_character and not xkb_key((0,), 1, 1, [0xFF1B]).is_character  # Escape


def test_a_bound_key_gives_its_second_keysym_with_shift() -> None:
    one, two = XkbKey.bound([0xE9]), XkbKey.bound([0xE9, 0x01002014])
    assert one.keysyms == (0xE9,) and one.keysym(TYPES, 0, SHIFT) == 0xE9
    assert two.keysym(TYPES, 0, 0) == 0xE9 and two.keysym(TYPES, 0, SHIFT) == 0x01002014
    assert not one.has_actions and one.is_character


# ---- which keys type what, and which are borrowed ----------------------------------------------------

FREE, SPACE, ESCAPE = xkb_key((0,), 0, 0, []), xkb_key((0,), 1, 1, [0x20]), xkb_key((0,), 1, 1, [0xFF1B])
MAIL, F1 = xkb_key((0,), 1, 1, [0x1008FF19]), xkb_key((0,), 1, 1, [0xFFBE])  # XF86Mail, F1
# 8, 9 free; 10 a, 11 b, 12 c; 13 space; 14 Escape; 15 mail; 16 F1
KEYS = [FREE, FREE] + [xkb_key((1,), 1, 2, [ord(c), ord(c.upper())]) for c in "abc"] + [SPACE, ESCAPE, MAIL, F1]
USABLE = list(range(8, 8 + len(KEYS)))


def test_places_are_the_keys_typing_each_keysym_unshifted_first() -> None:
    places = layout_places(KEYS, 8, USABLE, TYPES, 0, 0)
    assert places[ord("a")] == [(10, False)] and places[ord("C")] == [(12, True)]
    assert places[0x20] == [(13, False)] and places[0xFF1B] == [(14, False)]
    assert 0 not in places  # keys without symbols type nothing
    with_action = xkb_key((1,), 1, 2, [ord("x"), ord("X")], actions=b"\x01" + b"\0" * 15)
    assert ord("x") not in layout_places([with_action], 8, [8], TYPES, 0, 0)  # pressing it would act
    assert ord("b") not in layout_places(KEYS, 8, [10, 12], TYPES, 0, 0)  # only usable keys


def test_spare_and_character_keys_are_borrowed_only_when_the_free_ones_are_too_few() -> None:
    places = {ord(c): [(10 + i, False)] for i, c in enumerate("abc")} | {0x20: [(13, False)]}
    places |= {ord(c.upper()): [(10 + i, True)] for i, c in enumerate("abc")}
    assert MAIL.is_spare and not F1.is_spare and not ESCAPE.is_spare and not FREE.is_spare

    def borrow(text: str) -> list[int]:
        return borrow_keycodes(KEYS, 8, USABLE, places, dict.fromkeys(keysym_for(c) for c in text))

    assert borrow("a éèêë") == [9, 8]  # four fit on the keys without symbols
    # Six do not: keycode 8 is left alone, the mail key is borrowed, then a key typing nothing of the text.
    assert borrow("a éèêëïî") == [9, 15, 11]
    assert borrow("a éèêëïîöü") == [9, 15, 11, 12]
    # Ten: the key of a too, though its a must then be bound as well; never Space, Escape or F1.
    assert borrow("a éèêëïîöüáà") == [9, 15, 11, 12, 10]
