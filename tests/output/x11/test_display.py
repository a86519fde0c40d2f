"""Reading the server's key bit vector."""

from __future__ import annotations

from dictate.output.x11.display import pressed


def test_pressed_keycodes_from_the_keymap_bits() -> None:
    keymap = [0] * 32
    keymap[4] |= 1 << 5  # keycode 37, Control_L
    keymap[6] |= 1 << 2  # keycode 50, Shift_L
    keymap[31] |= 1 << 7  # keycode 255
    assert pressed(keymap) == {37, 50, 255}
    assert pressed([0] * 32) == set()
