"""Text delivery on a real (virtual) X display: what arrives in a Tk window and an xterm, and what the
clipboard holds afterwards. No timing is asserted here; bench/output_speed.py measures speed."""

from __future__ import annotations

import random
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator

import pytest

from dictate.config import OutputConfig
from dictate.output import X11Paste, XTestTyping, choose_output, close_output
from dictate.textproc import process
from tests.rig.corpus import CORPUS
from tests.rig.display import ClipboardOwner, TkTarget, VirtualDisplay, XtermTarget

pytestmark = pytest.mark.rig


@pytest.fixture
def typing(xdisplay: VirtualDisplay) -> Iterator[XTestTyping]:
    output = XTestTyping(xdisplay.name)
    yield output
    output.close()


def paste_output(xdisplay: VirtualDisplay, **options: object) -> X11Paste:
    return X11Paste(OutputConfig(**options), xdisplay.name)  # type: ignore[arg-type]


@pytest.fixture
def pasting(xdisplay: VirtualDisplay) -> Iterator[X11Paste]:
    output = paste_output(xdisplay)
    yield output
    close_output(output)


def make_png(width: int, height: int, seed: int = 7) -> bytes:
    """A valid RGB PNG of noise (incompressible, so it stays large enough for INCR transfers)."""
    rng = random.Random(seed)
    rows = b"".join(b"\0" + rng.randbytes(3 * width) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")


# ---- typing ----------------------------------------------------------------------------------------


def test_type_delivers_mixed_unicode_exactly(tk_window: TkTarget, typing: XTestTyping) -> None:
    typing.deliver(CORPUS)
    assert tk_window.wait_for(CORPUS) == CORPUS


def test_consecutive_typing_joins_up(tk_window: TkTarget, typing: XTestTyping) -> None:
    parts = ["Grüße aus Köln — ", "日本語 😀 ", "done."]
    for part in parts:
        typing.deliver(part)
    assert tk_window.wait_for("".join(parts)) == "".join(parts)


def test_type_into_xterm_delivers_mixed_unicode_exactly(xterm_window: XtermTarget, typing: XTestTyping) -> None:
    typing.deliver(CORPUS)
    assert xterm_window.wait_for(CORPUS.encode()).decode() == CORPUS


def test_held_ctrl_does_not_corrupt_typing(tk_window: TkTarget, xdisplay: VirtualDisplay, typing: XTestTyping) -> None:
    text = "held ctrl: still plain text ✓"
    xdisplay.xdotool("keydown", "ctrl")
    try:
        typing.deliver(text)
    finally:
        xdisplay.xdotool("keyup", "ctrl")
    assert tk_window.wait_for(text) == text


def test_caps_lock_does_not_change_typed_text(
    tk_window: TkTarget, xdisplay: VirtualDisplay, typing: XTestTyping
) -> None:
    text = "Mixed Case, ß and é stay as they are"
    xdisplay.xdotool("key", "Caps_Lock")
    try:
        typing.deliver(text)
        assert tk_window.wait_for(text) == text
        assert "Caps Lock:   on" in subprocess.run(["xset", "q"], env=xdisplay.run_env(), capture_output=True,
                                                    text=True).stdout  # fmt: skip
    finally:
        xdisplay.xdotool("key", "Caps_Lock")


def test_newline_is_typed_as_return_only_when_allowed(xterm_window: XtermTarget, typing: XTestTyping) -> None:
    spoken = "line one\nline two"
    typing.deliver(process(spoken, allow_newlines=False))
    assert xterm_window.wait_for(b"line one line two") == b"line one line two"

    xterm_window.clear()
    typing.deliver(process(spoken, allow_newlines=True))
    assert xterm_window.wait_for(b"line one\rline two") == b"line one\rline two"


def test_keys_grabbed_by_another_client_are_not_borrowed(
    tk_window: TkTarget, xdisplay: VirtualDisplay, typing: XTestTyping
) -> None:
    # A client holding passive grabs (as a screenshot tool or a media-key daemon does) would receive
    # the key events of any grabbed keycode we bound a character to.
    grabber = subprocess.Popen(
        [sys.executable, "-c", GRABBER], env=xdisplay.run_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert grabber.stdout is not None and grabber.stdin is not None
    assert grabber.stdout.readline().strip() == "grabbed"
    try:
        typing.deliver(CORPUS)
        assert tk_window.wait_for(CORPUS) == CORPUS
    finally:
        grabber.stdin.close()
        stolen = grabber.stdout.read().strip()
        grabber.wait(10)
    assert stolen == "0"


GRABBER = """
import select, sys
from Xlib import X, display
d = display.Display()
root = d.screen().root
modifiers = {code for row in d.get_modifier_mapping() for code in row}
for code in range(8, 120):
    if code not in modifiers:
        for state in (0, X.ShiftMask):
            root.grab_key(code, state, False, X.GrabModeAsync, X.GrabModeAsync)
d.sync()
print("grabbed", flush=True)
stolen = 0
while True:
    ready, _, _ = select.select([sys.stdin, d.fileno()], [], [], 0.1)
    while d.pending_events():
        stolen += d.next_event().type == X.KeyPress
    if sys.stdin in ready and not sys.stdin.read():
        break
print(stolen)
"""


def test_keymap_is_put_back_after_typing(tk_window: TkTarget, typing: XTestTyping) -> None:
    keyboard = typing.keyboard()
    count = keyboard.max_kc - keyboard.min_kc + 1
    before = keyboard.xkb.read_keys(keyboard.xtest_device, keyboard.min_kc, count)
    core_before = keyboard.d.get_keyboard_mapping(keyboard.min_kc, count)
    typing.deliver(CORPUS)
    assert tk_window.wait_for(CORPUS) == CORPUS
    assert keyboard.xkb.read_keys(keyboard.xtest_device, keyboard.min_kc, count) != before  # borrowed meanwhile
    keyboard.restore()
    assert keyboard.xkb.read_keys(keyboard.xtest_device, keyboard.min_kc, count) == before
    assert keyboard.xkb.read_keys(keyboard.source_device, keyboard.min_kc, count) == before
    assert keyboard.d.get_keyboard_mapping(keyboard.min_kc, count) == core_before


# ---- pasting ---------------------------------------------------------------------------------------


def test_paste_delivers_mixed_unicode_exactly(tk_window: TkTarget, pasting: X11Paste) -> None:
    pasting.deliver(CORPUS)
    assert tk_window.wait_for(CORPUS) == CORPUS


def test_paste_into_xterm_arrives_exactly(xterm_window: XtermTarget, pasting: X11Paste) -> None:
    # xterm is a terminal by its WM_CLASS, so the paste keys are Shift+Insert (Ctrl+V would type ^V).
    pasting.deliver(CORPUS)
    assert xterm_window.wait_for(CORPUS.encode()).decode() == CORPUS


def test_paste_restores_the_previous_text(tk_window: TkTarget, xdisplay: VirtualDisplay, pasting: X11Paste) -> None:
    previous = "the user's clipboard – keep me ✓".encode()
    owner = ClipboardOwner(xdisplay, previous)
    try:
        pasting.deliver("pasted words")
        assert tk_window.wait_for("pasted words") == "pasted words"
        assert xdisplay.read_clipboard("UTF8_STRING") == previous
    finally:
        owner.stop()


def test_paste_restores_an_image(tk_window: TkTarget, xdisplay: VirtualDisplay, pasting: X11Paste) -> None:
    image = make_png(300, 400)  # ~360 KB: both reading it and serving it back go through INCR
    owner = ClipboardOwner(xdisplay, image, target="image/png")
    try:
        pasting.deliver("text over an image")
        assert tk_window.wait_for("text over an image") == "text over an image"
        assert "image/png" in xdisplay.clipboard_targets()
        assert xdisplay.read_clipboard("image/png") == image
    finally:
        owner.stop()


def test_paste_restores_every_format(tk_window: TkTarget, xdisplay: VirtualDisplay, pasting: X11Paste) -> None:
    tk_window.own_clipboard({"UTF8_STRING": "plain version", "text/html": "<b>rich</b> version"})
    tk_window.activate()
    pasting.deliver("pasted")
    assert tk_window.wait_for("pasted") == "pasted"
    assert xdisplay.read_clipboard("UTF8_STRING") == b"plain version"
    assert xdisplay.read_clipboard("text/html") == b"<b>rich</b> version"


def test_paste_leaves_an_empty_clipboard_empty(
    tk_window: TkTarget, xdisplay: VirtualDisplay, pasting: X11Paste
) -> None:
    pasting.deliver("nothing was copied before")
    assert tk_window.wait_for("nothing was copied before") == "nothing was copied before"
    assert xdisplay.read_clipboard("UTF8_STRING") is None


def test_paste_keeps_the_text_when_restoring_is_off(tk_window: TkTarget, xdisplay: VirtualDisplay) -> None:
    output = paste_output(xdisplay, restore_clipboard=False)
    try:
        output.deliver("stays on the clipboard")
    finally:
        close_output(output)
    assert tk_window.wait_for("stays on the clipboard") == "stays on the clipboard"
    assert xdisplay.read_clipboard("UTF8_STRING") == b"stays on the clipboard"


def test_held_ctrl_does_not_corrupt_pasting(
    xterm_window: XtermTarget, xdisplay: VirtualDisplay, pasting: X11Paste
) -> None:
    # Ctrl held with Shift+Insert would be Ctrl+Shift+Insert, which xterm does not paste with.
    xdisplay.xdotool("keydown", "ctrl")
    try:
        pasting.deliver("pasted despite ctrl")
    finally:
        xdisplay.xdotool("keyup", "ctrl")
    assert xterm_window.wait_for(b"pasted despite ctrl") == b"pasted despite ctrl"


def test_paste_keeps_newlines_in_the_text(tk_window: TkTarget, pasting: X11Paste) -> None:
    text = process("first line\nsecond line", allow_newlines=True)
    pasting.deliver(text)
    assert tk_window.wait_for(text) == "first line\nsecond line"


# ---- choosing ---------------------------------------------------------------------------------------


def test_auto_types_through_xtest_on_x11(x_env: dict[str, str]) -> None:
    output, reason = choose_output(OutputConfig(method="auto"), x_env)
    assert isinstance(output, XTestTyping)
    assert "X11" in reason and x_env["DISPLAY"] in reason


def test_paste_method_on_x11(x_env: dict[str, str]) -> None:
    output, reason = choose_output(OutputConfig(method="paste"), x_env)
    assert isinstance(output, X11Paste)
    assert reason.startswith("paste: X11")
