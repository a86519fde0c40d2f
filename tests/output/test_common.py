"""Paste keys by window class, the built-in and configured terminals, splitting lines, running tools."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dictate import DictateError
from dictate.config import PASTE_KEYS
from dictate.output.common import CHORDS, find_tool, is_terminal, paste_chord, run_tool, split_lines
from tests.output.tools import env_with, make_tool


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
    assert paste_chord(window_class, "") == chord


def test_configured_paste_keys_win_over_the_window_class() -> None:
    assert paste_chord(("xterm", "XTerm"), "ctrl+shift+v") == "ctrl+shift+v"
    assert paste_chord(("Navigator", "firefox"), "shift+insert") == "shift+insert"


def test_configured_terminal_classes_add_to_the_built_in_ones_in_any_case() -> None:
    assert is_terminal(("myterm", "MyTerm"), ["MYTERM"])
    assert not is_terminal(("myterm", "MyTerm"))
    assert paste_chord(("myterm", "MyTerm"), "", ["myterm"]) == "shift+insert"
    assert is_terminal(("xterm", "XTerm"), ["kitty"])  # the built-in list stays
    assert not is_terminal(("gedit", "Gedit"), ["kitty"])
    assert paste_chord(("gedit", "Gedit"), "", ["kitty"]) == "ctrl+v"


def test_every_configurable_paste_key_has_a_chord() -> None:
    assert set(CHORDS) == {keys for keys in PASTE_KEYS if keys}
    for chord in CHORDS.values():
        assert chord[-1] in ("v", "Insert")


def test_newlines_split_lines() -> None:
    assert split_lines("one\ntwo\n") == ["one", "two", ""]
    assert split_lines("single") == ["single"]


def test_a_missing_tool_names_its_package(bin_dir: Path) -> None:
    with pytest.raises(DictateError, match=r"^wl-copy not found: sudo apt-get install wl-clipboard$"):
        find_tool("wl-copy", "wl-clipboard", env_with(bin_dir))
    tool = make_tool(bin_dir, "wl-copy")
    assert find_tool("wl-copy", "wl-clipboard", env_with(bin_dir)) == str(tool)


def test_a_failing_tool_is_one_line_with_its_last_error(bin_dir: Path) -> None:
    tool = make_tool(bin_dir, "tool", "sys.stderr.write('first\\nthe reason\\n'); sys.exit(3)")
    with pytest.raises(DictateError, match=rf"^doing it: {re.escape(str(tool))} failed: the reason$"):
        run_tool([str(tool)], what="doing it")
    silent = make_tool(bin_dir, "silent", "sys.exit(4)")
    with pytest.raises(DictateError, match=rf"^doing it: {re.escape(str(silent))} failed: exit status 4$"):
        run_tool([str(silent)], what="doing it")
    with pytest.raises(DictateError, match=r"^doing it: cannot run /nonexistent/tool: "):
        run_tool(["/nonexistent/tool"], what="doing it")


def test_a_tool_gets_its_input_and_gives_its_output(bin_dir: Path) -> None:
    tool = make_tool(bin_dir, "echo", "sys.stdout.write(sys.stdin.read().upper())")
    assert run_tool([str(tool)], what="echo", input="héllo".encode()) == "HÉLLO".encode()
