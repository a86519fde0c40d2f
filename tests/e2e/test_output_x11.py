"""Text delivery on a real (virtual) X display: what arrives in a Tk window and an xterm, and what the
clipboard holds afterwards. No timing is asserted here; bench/output_speed.py measures speed."""

from __future__ import annotations

import queue
import random
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from typing import IO, Any

import pytest
from Xlib.protocol import rq

from dictate.config import OutputConfig
from dictate.output import choose_output, close_output
from dictate.output.x11 import X11Paste, XTestTyping
from dictate.output.x11.keymap import keysym_for
from dictate.text import process
from tests.rig.corpus import CORPUS
from tests.rig.display import ClipboardOwner, TkTarget, VirtualDisplay, XtermTarget, XtestKeymap

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
    keyboard.restore_after = 600.0  # hold the borrowed keys until restore() below
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


def test_borrowed_keys_go_back_by_themselves(
    tk_window: TkTarget, xdisplay: VirtualDisplay, typing: XTestTyping
) -> None:
    keymap = XtestKeymap(xdisplay)
    try:
        typing.deliver(RICH)
        assert tk_window.wait_for(RICH) == RICH
        deadline = time.monotonic() + 20
        while keymap.differences() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert keymap.differences() == {}
    finally:
        keymap.close()


def test_plain_text_leaves_the_keymap_alone(tk_window: TkTarget, xdisplay: VirtualDisplay, typing: XTestTyping) -> None:
    # Characters of the layout are typed with their own keys: nothing to bind, nothing to put back.
    keymap = XtestKeymap(xdisplay)
    writes = spy_on_keymap_writes(typing)
    try:
        typing.deliver(ASCII_TEXT)
        assert tk_window.wait_for(ASCII_TEXT) == ASCII_TEXT
        assert writes == []
        assert keymap.differences() == {}
    finally:
        keymap.close()


# ---- only keys without symbols are borrowed ----------------------------------------------------------

ASCII_TEXT = "Hello from the test server. Plain ASCII: (1 + 2) * 3 = 9; [x] {y} <z> ~`'\"|?"
# Characters off the US layout, interleaved with characters on it.
RICH = "Grüße aus Köln — “quotes”, 你好世界, émoji 😀 🇩🇪, ½ ≠ ∞ ✓ and ASCII."


def spy_on_keymap_writes(typing: XTestTyping) -> list[list[Any]]:
    """Every keymap the keyboard writes on the XTEST device from now on."""
    keyboard = typing.keyboard()
    writes: list[list[Any]] = []
    write = keyboard.xkb.write_keys

    def recording(device: int, first: int, keys: Sequence[Any], min_kc: int, max_kc: int) -> None:
        writes.append(list(keys))
        write(device, first, keys, min_kc, max_kc)

    keyboard.xkb.write_keys = recording  # type: ignore[method-assign]
    return writes


@pytest.mark.parametrize("distinct", [57, 400], ids=["fits-with-spare-keys", "needs-batches"])
def test_more_characters_than_free_keys_arrive_exactly(
    tk_window: TkTarget, xdisplay: VirtualDisplay, typing: XTestTyping, distinct: int
) -> None:
    keymap = XtestKeymap(xdisplay)
    source = keymap.source()
    keymap.close()
    free = [code for code, key in enumerate(source, keymap.first) if key.is_free]
    characters = {code for code, key in enumerate(source, keymap.first) if key.is_character}
    spare = {code for code, key in enumerate(source, keymap.first) if key.is_spare}
    assert 2 * len(free) < distinct, "the default keymap has fewer keys without symbols than that"
    # CJK characters off the layout, between layout characters typed in place.
    text = "".join(chr(0x4E00 + 37 * index) + " ,."[index % 3] for index in range(distinct))
    space = {code for code, key in enumerate(source, keymap.first) if 0x20 in key.keysyms}
    writes = spy_on_keymap_writes(typing)
    typing.deliver(text)
    assert tk_window.wait_for(text) == text
    typing.keyboard().restore()
    assert (len(writes) == 2) == (distinct == 57)  # one keymap and the restore, or several keymaps
    for keys in writes:
        changed = {code for code, (old, new) in enumerate(zip(source, keys, strict=True), keymap.first) if old != new}
        assert changed <= set(free) | spare | characters  # never Escape, Tab, F1-F12, a modifier...
        assert not changed & space
        if distinct == 57:
            assert not changed & characters  # keys without symbols and spare keys were enough
        assert min(free) not in changed  # the lowest key without symbols is left for xdotool


TYPIST = """
import sys, time
from dictate.output.x11.keyboard import XKeyboard
keyboard = XKeyboard(restore_after=600)  # keeps the borrowed keys until it is killed
keyboard.type(sys.stdin.read())
print("typed", flush=True)
time.sleep(600)
"""

LISTENER = """
import sys
from pynput import keyboard
with keyboard.Listener(on_press=lambda key: print(key, flush=True)) as listener:
    listener.wait()
    print("ready", flush=True)
    sys.stdin.read()
"""


class Lines:
    """The lines a child process prints, as they come."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.strip())

    def next(self, timeout: float = 10) -> str:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            return "(nothing within the timeout)"


# RICH fits on the keys without symbols; the corpus (253 characters off the layout) borrows spare and
# character keys as well. Before, the corpus took Escape, Tab and the F-keys too.
@pytest.mark.parametrize(
    "text", ["Hello from the test server. ", RICH, CORPUS], ids=["layout-only", "free-keys", "spare-and-character-keys"]
)
def test_a_typist_killed_before_restoring_leaves_the_keyboard_usable(
    tk_window: TkTarget, xdisplay: VirtualDisplay, text: str
) -> None:
    keymap = XtestKeymap(xdisplay)
    typist = subprocess.Popen([sys.executable, "-c", TYPIST], env=xdisplay.run_env(), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    listener: subprocess.Popen[str] | None = None
    assert typist.stdin is not None and typist.stdout is not None
    try:
        typist.stdin.write(text)
        typist.stdin.close()
        assert Lines(typist.stdout).next() == "typed"
        assert tk_window.wait_for(text) == text
        left = keymap.differences()
        assert bool(left) == (text != "Hello from the test server. ")  # killed while keys are borrowed
        assert all(key.is_free or key.is_spare or key.is_character for key in left.values())
        time.sleep(0.3)
        typist.kill()
        typist.wait(10)

        # The daemon's hotkey and cancel key are read by a pynput Listener from keys sent through XTEST.
        listener = subprocess.Popen([sys.executable, "-c", LISTENER], env=xdisplay.run_env(),
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert listener.stdout is not None
        heard = Lines(listener.stdout)
        assert heard.next(20) == "ready"
        xdisplay.xdotool("key", "Escape", "Tab", "F9")
        assert [heard.next() for _ in range(3)] == ["Key.esc", "Key.tab", "Key.f9"]

        tk_window.clear()
        tk_window.activate()
        xdisplay.xdotool("type", "--", ASCII_TEXT)
        assert tk_window.wait_for(ASCII_TEXT) == ASCII_TEXT
    finally:
        typist.kill()
        typist.wait(10)
        if listener is not None:
            assert listener.stdin is not None
            listener.stdin.close()
            try:
                listener.wait(10)
            except subprocess.TimeoutExpired:
                listener.kill()
        keymap.put_back()
        keymap.close()


EXITING_TYPIST = """
import sys
from dictate.output.x11.keyboard import XKeyboard
XKeyboard(restore_after=600).type(sys.stdin.read())
"""


def test_borrowed_keys_go_back_when_the_typist_exits(tk_window: TkTarget, xdisplay: VirtualDisplay) -> None:
    done = subprocess.run([sys.executable, "-c", EXITING_TYPIST], env=xdisplay.run_env(), input=RICH, text=True,
                          capture_output=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert tk_window.wait_for(RICH) == RICH
    keymap = XtestKeymap(xdisplay)
    try:
        assert keymap.differences() == {}
    finally:
        keymap.close()


# ---- characters typed in place under other layouts ----------------------------------------------------


class _LockGroup(rq.Request):
    _request = rq.Struct(
        rq.Card8("opcode"), rq.Opcode(5), rq.RequestLength(), rq.Card16("device"), rq.Card8("affect_locks"),
        rq.Card8("locks"), rq.Bool("lock_group"), rq.Card8("group"), rq.Pad(6),
    )  # fmt: skip


def lock_group(xdisplay: VirtualDisplay, group: int) -> None:
    """Lock the keyboard group, as a layout switcher does (XkbLatchLockState)."""
    from dictate.output.x11.display import open_display
    from dictate.output.x11.protocol import USE_CORE_KBD, Xkb

    d = open_display(xdisplay.name)
    try:
        xkb = Xkb(d)
        _LockGroup(display=d.display, opcode=xkb.opcode, device=USE_CORE_KBD, affect_locks=0, locks=0,
                   lock_group=True, group=group)  # fmt: skip
        d.sync()
    finally:
        d.close()


@pytest.fixture
def us_and_german_layouts(xdisplay: VirtualDisplay) -> Iterator[None]:
    """The layouts us and de, with de (the second group) active and Num Lock on."""
    subprocess.run(["setxkbmap", "-layout", "us,de"], env=xdisplay.run_env(), check=True)
    lock_group(xdisplay, 1)
    xdisplay.xdotool("key", "Num_Lock")
    try:
        yield
    finally:
        xdisplay.xdotool("key", "Num_Lock")
        lock_group(xdisplay, 0)
        subprocess.run(["setxkbmap", "-layout", "us"], env=xdisplay.run_env(), check=True)


def test_layout_keys_are_read_in_the_active_group(
    us_and_german_layouts: None, tk_window: TkTarget, xdisplay: VirtualDisplay, typing: XTestTyping
) -> None:
    # German: y and z swapped, umlauts and ß on their own keys, @ € { } | only with AltGr (so bound).
    text = "Zürich, Größe: yz ZY äöüß ÄÖÜ — @ € {x} | 7 / 8 = 0,875 ✓"
    keymap = XtestKeymap(xdisplay)
    source = keymap.source()
    keymap.close()
    writes = spy_on_keymap_writes(typing)
    typing.deliver(text)
    assert tk_window.wait_for(text) == text
    bound = {sym for keys in writes for old, new in zip(source, keys, strict=True) if old != new for sym in new.keysyms}
    assert {keysym_for(c) for c in "@€{}|"} <= bound
    assert not bound & {keysym_for(c) for c in "äöüßÄÖÜyzZY"}  # typed with the layout's own keys


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


def test_auto_types_what_fits_one_keymap_and_pastes_the_rest(
    tk_window: TkTarget, xdisplay: VirtualDisplay, x_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dictate.output.x11 import selection

    served: list[str] = []  # every text put on a selection to paste it
    offer = selection.text_contents
    monkeypatch.setattr(selection, "text_contents", lambda text: served.append(text) or offer(text))
    output, reason = choose_output(OutputConfig(method="auto"), x_env)
    assert isinstance(output, XTestTyping) and "pasted" in reason
    keymap = XtestKeymap(xdisplay)
    previous = "the user's clipboard – keep me ✓".encode()
    owner = ClipboardOwner(xdisplay, previous)
    try:
        output.deliver(RICH)  # fits: typed, the clipboard is never touched
        assert tk_window.wait_for(RICH) == RICH
        assert served == []
        # 400 distinct CJK characters cannot all be bound at once: pasted, and the clipboard put back.
        rich = "".join(chr(0x4E00 + 37 * index) + " ,."[index % 3] for index in range(400))
        tk_window.clear()
        tk_window.activate()
        output.deliver(rich)
        assert tk_window.wait_for(rich) == rich
        assert served == [rich]
        assert xdisplay.read_clipboard("UTF8_STRING") == previous
        assert keymap.differences() == {}  # the keys RICH borrowed went back before the paste keys
    finally:
        owner.stop()
        keymap.close()
        close_output(output)


def test_paste_method_on_x11(x_env: dict[str, str]) -> None:
    output, reason = choose_output(OutputConfig(method="paste"), x_env)
    assert isinstance(output, X11Paste)
    assert reason.startswith("paste: X11")
