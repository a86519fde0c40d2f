"""Wayland outputs checked with stand-in tools: wtype, ydotool, the paste keys per tool, sway's focused app."""

from __future__ import annotations

from pathlib import Path

from dictate.config import OutputConfig
from dictate.output.wayland import WaylandPaste, WtypeTyping, YdotoolTyping, _sway_focused_app
from tests.output.tools import calls, env_with, make_tool


def test_wtype_reads_the_text_from_stdin(bin_dir: Path) -> None:
    wtype = make_tool(bin_dir, "wtype", "open(sys.argv[0] + '.stdin', 'ab').write(sys.stdin.buffer.read())")
    WtypeTyping(str(wtype)).deliver("-first line\nsecond — 😀")
    assert calls(bin_dir, "wtype") == [["-M", "shift", "-m", "shift", "-s", "60", "-"]]
    assert (bin_dir / "wtype.stdin").read_text() == "-first line\nsecond — 😀"


def test_ydotool_types_lines_with_enter_between(bin_dir: Path) -> None:
    ydotool = make_tool(bin_dir, "ydotool")
    YdotoolTyping(str(ydotool)).deliver("one\ntwo")
    assert calls(bin_dir, "ydotool") == [["type", "--", "one"], ["key", "enter"], ["type", "--", "two"]]


def test_wayland_paste_keys_per_tool() -> None:
    wtype = WaylandPaste(OutputConfig(), {}, keys_tool="/usr/bin/wtype")
    assert wtype._chord_argv("ctrl+shift+v") == [
        "/usr/bin/wtype", "-M", "shift", "-m", "shift", "-s", "60",
        "-M", "ctrl", "-M", "shift", "-k", "v", "-m", "shift", "-m", "ctrl",
    ]  # fmt: skip
    ydotool = WaylandPaste(OutputConfig(), {}, keys_tool="ydotool")
    assert ydotool._chord_argv("shift+insert") == ["ydotool", "key", "shift+insert"]
    assert ydotool._chord_argv("ctrl+v") == ["ydotool", "key", "ctrl+v"]


FOCUSED_XTERM = {
    "nodes": [
        {"nodes": [{"focused": False, "app_id": "firefox"}]},
        {"nodes": [], "floating_nodes": [
            {"focused": True, "app_id": None, "window_properties": {"instance": "xterm", "class": "XTerm"}},
        ]},
    ],
}  # fmt: skip


def test_the_focused_app_is_asked_of_sway(bin_dir: Path) -> None:
    make_tool(bin_dir, "swaymsg", f"print(json.dumps({FOCUSED_XTERM!r}))")
    assert _sway_focused_app(env_with(bin_dir, SWAYSOCK="/run/sway.sock")) == ("xterm", "XTerm")
    assert _sway_focused_app(env_with(bin_dir)) is None  # not under sway
    assert calls(bin_dir, "swaymsg") == [["-t", "get_tree", "-r"]]
