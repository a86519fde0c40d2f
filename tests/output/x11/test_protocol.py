"""The hand-packed requests: their length fields must match their size, or the server misreads the stream."""

from __future__ import annotations

import struct

from dictate.output.x11.protocol import fake_input, grab_key, ungrab_key

KEY_PRESS, KEY_RELEASE = 2, 3


def test_fake_input_is_nine_words_of_one_key_event() -> None:
    request = fake_input(132, KEY_PRESS, 38)
    assert len(request) == 4 * 9
    opcode, minor, length, kind, keycode = struct.unpack_from("=BBHBB", request)
    assert (opcode, minor, length, kind, keycode) == (132, 2, 9, KEY_PRESS, 38)
    assert request[6:] == bytes(30)  # time 0 (now), root None, at 0,0


def test_grab_and_ungrab_key_carry_window_key_and_modifiers() -> None:
    grab = grab_key(0x1E5, 38, 0x11)
    assert len(grab) == 4 * 4
    assert struct.unpack("=BBHIHBBB3x", grab) == (33, 0, 4, 0x1E5, 0x11, 38, 1, 1)
    ungrab = ungrab_key(0x1E5, 38, 0x11)
    assert len(ungrab) == 4 * 3
    assert struct.unpack("=BBHIH2x", ungrab) == (34, 38, 3, 0x1E5, 0x11)
