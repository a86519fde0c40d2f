"""The pure parts of text delivery: session detection, paste keys by window class, keymap planning,
the backend table, and the outputs that only run a command (checked with stand-in tools)."""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dictate import DictateError
from dictate.config import DEFAULT_TERMINAL_CLASSES, OUTPUT_METHODS, OutputConfig
from dictate.keymap import RETURN, Layout, is_character_keysym, keysym_for, plan_batches
from dictate.output import (
    CHORDS,
    METHODS,
    PynputTyping,
    StdoutOutput,
    TmuxOutput,
    WaylandPaste,
    WtypeTyping,
    X11Paste,
    XTestTyping,
    YdotoolTyping,
    choose_output,
    detect_session,
    is_terminal,
    paste_chord,
    split_lines,
)

TERMINALS = list(DEFAULT_TERMINAL_CLASSES)


# ---- sessions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "platform", "kind"),
    [
        ({"DISPLAY": ":0"}, "linux", "x11"),
        ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}, "linux", "x11"),
        ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "linux", "wayland"),  # Xwayland also sets DISPLAY
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-1"}, "linux", "wayland"),
        ({"XDG_SESSION_TYPE": "x11", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":1"}, "linux", "x11"),
        ({}, "linux", "none"),
        ({"TERM": "xterm"}, "linux", "none"),
        ({"DISPLAY": ":0"}, "darwin", "macos"),
        ({}, "win32", "windows"),
    ],
)
def test_detect_session(environ: dict[str, str], platform: str, kind: str) -> None:
    found, why = detect_session(environ, platform)
    assert found == kind
    assert why


def test_session_reason_names_the_display() -> None:
    assert detect_session({"DISPLAY": ":7"}, "linux")[1] == "X11 session (DISPLAY=:7)"


# ---- paste keys by window class ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window_class", "chord"),
    [
        (("xterm", "XTerm"), "shift+insert"),
        (("urxvt", "URxvt"), "shift+insert"),
        (("Alacritty", "Alacritty"), "shift+insert"),
        (("kitty", "kitty"), "shift+insert"),
        (("gnome-terminal-server", "Gnome-terminal"), "shift+insert"),
        (("konsole", "konsole"), "shift+insert"),
        (("foot",), "shift+insert"),
        (("org.wezfurlong.wezterm", "org.wezfurlong.wezterm"), "shift+insert"),
        (("st-256color", "st-256color"), "shift+insert"),
        (("Navigator", "firefox"), "ctrl+v"),
        (("gedit", "Gedit"), "ctrl+v"),
        (("tk", "Tk"), "ctrl+v"),
        (None, "ctrl+v"),
        ((), "ctrl+v"),
    ],
)
def test_paste_chord_by_window_class(window_class: tuple[str, ...] | None, chord: str) -> None:
    assert paste_chord(window_class, "", TERMINALS) == chord


def test_configured_paste_keys_win_over_the_window_class() -> None:
    assert paste_chord(("xterm", "XTerm"), "ctrl+shift+v", TERMINALS) == "ctrl+shift+v"
    assert paste_chord(("Navigator", "firefox"), "shift+insert", TERMINALS) == "shift+insert"


def test_terminal_classes_are_configurable_and_case_insensitive() -> None:
    assert is_terminal(("myterm", "MyTerm"), ["MYTERM"])
    assert not is_terminal(("xterm", "XTerm"), ["kitty"])
    assert paste_chord(("xterm", "XTerm"), "", ["kitty"]) == "ctrl+v"


def test_every_configurable_paste_key_has_a_chord() -> None:
    from dictate.config import PASTE_KEYS

    assert set(CHORDS) == {keys for keys in PASTE_KEYS if keys}
    for chord in CHORDS.values():
        assert chord[-1] in ("v", "Insert")


# ---- keymap planning ------------------------------------------------------------------------------


def test_keysyms_follow_the_x_convention() -> None:
    assert keysym_for("a") == ord("a")
    assert keysym_for("é") == 0xE9  # Latin-1 keysyms equal the code point
    assert keysym_for("—") == 0x01002014  # others are 0x01000000 + code point
    assert keysym_for("😀") == 0x0101F600
    assert keysym_for("\n") == RETURN
    with pytest.raises(ValueError):
        keysym_for("\x1b")


def decode(batches: list, keycodes: list[int], layout: Layout | None = None) -> str:  # type: ignore[type-arg]
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


def xkb_key(types: tuple[int, ...], groups: int, width: int, syms: list[int], info: int = 0) -> Any:
    from dictate.x11 import _Key

    head = struct.pack("=4BBBH", *types, *(0,) * (4 - len(types)), groups | info, width, len(syms))
    return _Key(head + struct.pack(f"={len(syms)}I", *syms), len(syms), b"")


def test_a_key_is_read_through_its_type_and_group() -> None:
    from dictate.x11 import _Type

    shift, lock, mod5 = 1, 2, 0x80
    types = [
        _Type(0, ()),  # ONE_LEVEL
        _Type(shift, ((shift, 1),)),  # TWO_LEVEL
        _Type(shift | lock, ((shift, 1), (lock, 1))),  # ALPHABETIC
        _Type(shift | mod5, ((shift, 1), (mod5, 2), (shift | mod5, 3))),  # FOUR_LEVEL
    ]
    # us,de: group 1 is "y Y", group 2 is "z Z ← ¥" (FOUR_LEVEL).
    key = xkb_key((ALPHABETIC, 3), 2, 4, [ord("y"), ord("Y"), 0, 0, ord("z"), ord("Z"), 0x8FB, 0xA5])
    assert key.keysym(types, 0, 0) == ord("y")
    assert key.keysym(types, 0, shift | 0x10) == ord("Y")  # Num Lock (Mod2) is not looked at
    assert key.keysym(types, 1, shift) == ord("Z")
    assert key.keysym(types, 1, mod5) == 0x8FB
    assert key.keysym(types, 3, 0) == ord("z")  # out of range: wraps by default
    clamped = xkb_key((1, 1), 2, 2, [ord("a"), ord("A"), ord("b"), ord("B")], info=0x40)
    assert clamped.keysym(types, 3, 0) == ord("b")
    redirected = xkb_key((1, 1), 2, 2, [ord("a"), ord("A"), ord("b"), ord("B")], info=0x80)
    assert redirected.keysym(types, 2, shift) == ord("A")  # redirected into group 1
    nothing = xkb_key((0,), 0, 0, [])
    assert nothing.is_free and nothing.keysym(types, 0, 0) == 0
    assert key.is_character and not xkb_key((0,), 1, 1, [0xFF1B]).is_character  # Escape


def test_spare_and_character_keys_are_borrowed_only_when_the_free_ones_are_too_few() -> None:
    from types import SimpleNamespace

    from dictate.x11 import XKeyboard

    free, space, escape = xkb_key((0,), 0, 0, []), xkb_key((0,), 1, 1, [0x20]), xkb_key((0,), 1, 1, [0xFF1B])
    mail, f1 = xkb_key((0,), 1, 1, [0x1008FF19]), xkb_key((0,), 1, 1, [0xFFBE])  # XF86Mail, F1
    original = [free, free] + [xkb_key((1,), 1, 2, [ord(c), ord(c.upper())]) for c in "abc"]
    original += [space, escape, mail, f1]
    usable = list(range(8, 8 + len(original)))  # 8, 9 free; 10 a, 11 b, 12 c; 13 space; 14 Escape; 15 mail; 16 F1
    places = {ord(c): [(10 + i, False)] for i, c in enumerate("abc")} | {0x20: [(13, False)]}
    places |= {ord(c.upper()): [(10 + i, True)] for i, c in enumerate("abc")}
    assert mail.is_spare and not f1.is_spare and not escape.is_spare and not free.is_spare

    def borrow(text: str) -> list[int]:
        needed = dict.fromkeys(keysym_for(c) for c in text)
        return XKeyboard._borrow(SimpleNamespace(min_kc=8), original, usable, places, needed)  # type: ignore[arg-type]

    assert borrow("a éèêë") == [9, 8]  # four fit on the keys without symbols
    # Six do not: keycode 8 is left alone, the mail key is borrowed, then a key typing nothing of the text.
    assert borrow("a éèêëïî") == [9, 15, 11]
    assert borrow("a éèêëïîöü") == [9, 15, 11, 12]
    # Ten: the key of a too, though its a must then be bound as well; never Space, Escape or F1.
    assert borrow("a éèêëïîöüáà") == [9, 15, 11, 12, 10]


def test_newlines_split_lines() -> None:
    assert split_lines("one\ntwo\n") == ["one", "two", ""]
    assert split_lines("single") == ["single"]


# ---- the backend table -----------------------------------------------------------------------------


def test_every_method_has_a_chooser() -> None:
    assert set(METHODS) == set(OUTPUT_METHODS)


def make_tool(folder: Path, name: str, body: str = "") -> Path:
    """A stand-in command that records its arguments (one JSON list per line) in folder/NAME.log."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}.log"
    script = folder / name
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n{body}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def calls(folder: Path, name: str) -> list[list[str]]:
    log = folder / f"{name}.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    return tmp_path / "bin"


def env_with(bin_dir: Path, **extra: str) -> dict[str, str]:
    bin_dir.mkdir(parents=True, exist_ok=True)
    return {"PATH": str(bin_dir), **extra}


def test_stdout_method(bin_dir: Path) -> None:
    output, reason = choose_output(OutputConfig(method="stdout"), env_with(bin_dir))
    assert isinstance(output, StdoutOutput)
    assert reason.startswith("stdout")


def test_tmux_method_needs_tmux(bin_dir: Path) -> None:
    with pytest.raises(DictateError, match=r"^tmux not found: sudo apt-get install tmux$"):
        choose_output(OutputConfig(method="tmux"), env_with(bin_dir))
    make_tool(bin_dir, "tmux")
    output, reason = choose_output(OutputConfig(method="tmux"), env_with(bin_dir, TMUX="/tmp/tmux-0/default,1,0"))
    assert isinstance(output, TmuxOutput)
    assert "/tmp/tmux-0/default" in reason


def test_type_on_x11_uses_xtest_without_connecting(bin_dir: Path) -> None:
    output, reason = choose_output(OutputConfig(method="type"), env_with(bin_dir, DISPLAY=":99"))
    assert isinstance(output, XTestTyping)
    assert reason == "type: X11 session (DISPLAY=:99), XTEST through python-xlib"


def test_paste_on_x11(bin_dir: Path) -> None:
    output, reason = choose_output(OutputConfig(method="paste"), env_with(bin_dir, DISPLAY=":99"))
    assert isinstance(output, X11Paste)
    assert reason.startswith("paste: X11 session (DISPLAY=:99)")


def test_type_on_wayland_prefers_wtype_then_ydotool(bin_dir: Path) -> None:
    env = env_with(bin_dir, WAYLAND_DISPLAY="wayland-0")
    with pytest.raises(DictateError, match=r"^wtype not found: sudo apt-get install wtype"):
        choose_output(OutputConfig(method="type"), env)
    make_tool(bin_dir, "ydotool")
    assert isinstance(choose_output(OutputConfig(method="type"), env)[0], YdotoolTyping)
    make_tool(bin_dir, "wtype")
    output, reason = choose_output(OutputConfig(method="type"), env)
    assert isinstance(output, WtypeTyping)
    assert reason == "type: Wayland session (WAYLAND_DISPLAY=wayland-0), wtype found"


def test_paste_on_wayland_needs_wl_clipboard_and_a_key_tool(bin_dir: Path) -> None:
    env = env_with(bin_dir, WAYLAND_DISPLAY="wayland-0")
    with pytest.raises(DictateError, match=r"^wl-copy not found: sudo apt-get install wl-clipboard$"):
        choose_output(OutputConfig(method="paste"), env)
    make_tool(bin_dir, "wl-copy")
    with pytest.raises(DictateError, match="wtype not found"):
        choose_output(OutputConfig(method="paste"), env)
    make_tool(bin_dir, "wtype")
    output, reason = choose_output(OutputConfig(method="paste"), env)
    assert isinstance(output, WaylandPaste)
    assert reason.endswith("wl-copy and wtype found")


@pytest.mark.parametrize(
    ("environ", "tools", "expected", "start"),
    [
        ({"DISPLAY": ":3"}, [], XTestTyping, "type: X11 session (DISPLAY=:3)"),
        ({"WAYLAND_DISPLAY": "w-1"}, ["wtype", "ydotool", "wl-copy"], WtypeTyping, "type: Wayland"),
        ({"WAYLAND_DISPLAY": "w-1"}, ["ydotool", "wl-copy"], WaylandPaste, "paste: Wayland"),
        ({"WAYLAND_DISPLAY": "w-1"}, ["ydotool"], YdotoolTyping, "type: Wayland"),
        ({"TMUX": "/tmp/t,1,0"}, ["tmux"], TmuxOutput, "tmux:"),
        ({"TMUX": "/tmp/t,1,0"}, [], StdoutOutput, "stdout: no graphical session"),
        ({}, ["tmux"], StdoutOutput, "stdout: no graphical session"),
    ],
)
def test_auto_picks_by_session_and_tools(
    bin_dir: Path, environ: dict[str, str], tools: list[str], expected: type, start: str
) -> None:
    for tool in tools:
        make_tool(bin_dir, tool)
    output, reason = choose_output(OutputConfig(method="auto"), env_with(bin_dir, **environ))
    assert isinstance(output, expected)
    assert reason.startswith(start), reason


def test_auto_on_wayland_without_tools_names_the_package(bin_dir: Path) -> None:
    with pytest.raises(DictateError, match=r"^wtype not found: sudo apt-get install wtype"):
        choose_output(OutputConfig(method="auto"), env_with(bin_dir, WAYLAND_DISPLAY="w-1"))


def test_auto_on_macos_types_with_pynput(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    output, reason = choose_output(OutputConfig(method="auto"), env_with(bin_dir))
    assert isinstance(output, PynputTyping)
    assert reason == "type: macOS, pynput"


def test_errors_are_one_line(bin_dir: Path) -> None:
    for method in ("tmux", "paste", "type"):
        with pytest.raises(DictateError) as caught:
            choose_output(OutputConfig(method=method), env_with(bin_dir))
        assert "\n" not in caught.value.message


# ---- outputs that run a command -------------------------------------------------------------------


def test_stdout_adds_nothing_unless_asked() -> None:
    stream = io.StringIO()
    StdoutOutput(stream).deliver("héllo")
    StdoutOutput(stream, end="\n").deliver(" wörld")
    assert stream.getvalue() == "héllo wörld\n"


def test_tmux_sends_literal_keys_and_never_enter(bin_dir: Path) -> None:
    tmux = make_tool(bin_dir, "tmux")
    output = TmuxOutput(str(tmux))
    output.deliver("-n rm -rf / ; Enter C-m")
    assert calls(bin_dir, "tmux") == [["send-keys", "-l", "--", "-n rm -rf / ; Enter C-m"]]


def test_tmux_failure_is_a_dictate_error(bin_dir: Path) -> None:
    tmux = make_tool(bin_dir, "tmux", "sys.stderr.write('no server running on /tmp/tmux-0/default\\n'); sys.exit(1)")
    with pytest.raises(DictateError, match=r"tmux send-keys: .*tmux failed: no server running"):
        TmuxOutput(str(tmux)).deliver("text")


def test_wtype_reads_the_text_from_stdin(bin_dir: Path) -> None:
    wtype = make_tool(bin_dir, "wtype", "open(sys.argv[0] + '.stdin', 'ab').write(sys.stdin.buffer.read())")
    WtypeTyping(str(wtype)).deliver("-first line\nsecond — 😀")
    assert calls(bin_dir, "wtype") == [["-M", "shift", "-m", "shift", "-s", "60", "-"]]
    assert (bin_dir / "wtype.stdin").read_text() == "-first line\nsecond — 😀"


def test_ydotool_types_lines_with_enter_between(bin_dir: Path) -> None:
    ydotool = make_tool(bin_dir, "ydotool")
    YdotoolTyping(str(ydotool)).deliver("one\ntwo")
    assert calls(bin_dir, "ydotool") == [["type", "--", "one"], ["key", "enter"], ["type", "--", "two"]]


def test_output_module_imports_no_heavy_libraries() -> None:
    code = "import sys, dictate.output; print(sorted(m for m in ('Xlib', 'pynput', 'numpy') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert done.stdout.strip() == "[]"


def test_wayland_paste_keys_per_tool() -> None:
    wtype = WaylandPaste(OutputConfig(), {}, keys_tool="/usr/bin/wtype")
    assert wtype._chord_argv("ctrl+shift+v") == [
        "/usr/bin/wtype", "-M", "shift", "-m", "shift", "-s", "60",
        "-M", "ctrl", "-M", "shift", "-k", "v", "-m", "shift", "-m", "ctrl",
    ]  # fmt: skip
    ydotool = WaylandPaste(OutputConfig(), {}, keys_tool="ydotool")
    assert ydotool._chord_argv("shift+insert") == ["ydotool", "key", "shift+insert"]
    assert ydotool._chord_argv("ctrl+v") == ["ydotool", "key", "ctrl+v"]
