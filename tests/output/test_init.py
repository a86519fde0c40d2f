"""The Output interface, session detection and the backend table (tools stood in for on PATH)."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dictate import DictateError
from dictate.config import OUTPUT_METHODS, OutputConfig
from dictate.output import (
    METHODS,
    MacPaste,
    Output,
    PynputTyping,
    StdoutOutput,
    TmuxOutput,
    WaylandPaste,
    WtypeTyping,
    YdotoolTyping,
    choose_output,
    detect_session,
)
from dictate.output.x11 import X11Paste, XTestTyping
from tests.output.tools import env_with, make_tool

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


# ---- the interface ----------------------------------------------------------------------------------

BACKENDS = [
    StdoutOutput, TmuxOutput, WtypeTyping, YdotoolTyping, WaylandPaste, PynputTyping, MacPaste, XTestTyping, X11Paste,
]  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda backend: backend.__name__)
def test_every_backend_has_the_whole_interface(backend: type) -> None:
    members = [name for name, _ in inspect.getmembers(Output) if not name.startswith("_")]
    assert sorted(members) == ["close", "deliver", "prepare"]
    for name in members:
        assert callable(getattr(backend, name, None)), name
    assert isinstance(backend.name, str) and backend.name  # type: ignore[attr-defined]


# ---- the backend table -----------------------------------------------------------------------------


def test_every_method_has_a_chooser() -> None:
    assert set(METHODS) == set(OUTPUT_METHODS)


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
    assert reason == "paste: X11 session (DISPLAY=:99), clipboard and XTEST through python-xlib"


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


# ---- what importing loads ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("dictate.output", ("Xlib", "pynput", "numpy", "dictate.output.x11")),
        ("dictate.output.x11", ("Xlib", "pynput", "numpy")),
        ("dictate.output.x11.keymap", ("Xlib", "pynput", "numpy")),
    ],
)
def test_importing_loads_no_heavy_libraries(module: str, absent: tuple[str, ...]) -> None:
    code = f"import sys, {module}; print(sorted(m for m in {absent!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert done.stdout.strip() == "[]"
