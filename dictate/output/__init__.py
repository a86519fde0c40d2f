"""Deliver text at the cursor: one Output interface, backends chosen from a table.

Text given to an output is already sanitized (dictate.textproc): no control characters or escape
sequences, and "\\n" only when [output] allow_newlines is on, in which case typing sends it as Return
and pasting keeps it in the pasted text. Failures raise DictateError with one line saying what to do.

Methods ([output] method):
  type    type the characters: X11 through XTEST (dictate.output.x11, exact for any Unicode), Wayland
          with wtype (or ydotool, US-layout ASCII only), macOS and Windows with pynput
  paste   put the text on the clipboard, send the paste keys for the focused window (Shift+Insert in
          terminals, Ctrl+V elsewhere), then put the previous clipboard back
  stdout  print the text (for scripts)
  tmux    `tmux send-keys -l` into the active pane, never Enter
  auto    the best of these for the session and the installed tools

Modules: common (paste keys, running tools), terminal_classes (the built-in terminal window classes),
terminal (stdout, tmux), wayland, macos (also pynput typing on Windows), and x11, a package imported
only when an X11 output is chosen, so that `import dictate.output` loads no Xlib.

Exports: Output, METHODS, choose_output, detect_session, copy_to_clipboard,
close_output; the backends StdoutOutput, TmuxOutput, WtypeTyping, YdotoolTyping, WaylandPaste,
PynputTyping, MacPaste (XTestTyping and X11Paste are in dictate.output.x11); CHORDS, TERMINAL_CLASSES,
is_terminal, paste_chord, split_lines.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
from collections.abc import Callable
from typing import Protocol

from dictate.config import OutputConfig
from dictate.errors import DictateError
from dictate.output.common import (
    CHORDS,
    Environ,
    find_tool,
    install_hint,
    is_terminal,
    paste_chord,
    run_tool,
    split_lines,
)
from dictate.output.macos import MacPaste, PynputTyping
from dictate.output.terminal import StdoutOutput, TmuxOutput
from dictate.output.terminal_classes import TERMINAL_CLASSES
from dictate.output.wayland import WaylandPaste, WtypeTyping, YdotoolTyping, wl_copy

__all__ = [
    "CHORDS",
    "METHODS",
    "TERMINAL_CLASSES",
    "MacPaste",
    "Output",
    "PynputTyping",
    "StdoutOutput",
    "TmuxOutput",
    "WaylandPaste",
    "WtypeTyping",
    "YdotoolTyping",
    "choose_output",
    "close_output",
    "copy_to_clipboard",
    "detect_session",
    "is_terminal",
    "paste_chord",
    "split_lines",
]


class Output(Protocol):
    """A way to deliver text at the cursor. Every backend has all four members."""

    name: str

    def prepare(self) -> None:
        """Connect now what would otherwise connect on the first delivery (the X display)."""

    def deliver(self, text: str) -> None:
        """Put `text` at the cursor; failures raise DictateError."""

    def close(self) -> None:
        """Release what the output holds (the X connection, borrowed keys)."""


def close_output(output: Output) -> None:
    """Release what an output holds; errors are ignored, so this is safe on the way out."""
    with contextlib.suppress(Exception):
        output.close()


def detect_session(environ: Environ = os.environ, platform: str | None = None) -> tuple[str, str]:
    """The kind of session ("x11", "wayland", "macos", "windows" or "none") and what showed it."""
    platform = platform or sys.platform
    if platform == "darwin":
        return "macos", "macOS"
    if platform.startswith(("win", "cygwin")):
        return "windows", "Windows"
    kind = environ.get("XDG_SESSION_TYPE", "").lower()
    if kind == "wayland" or (environ.get("WAYLAND_DISPLAY") and kind != "x11"):
        shown = environ.get("WAYLAND_DISPLAY") or "?"
        return "wayland", f"Wayland session (WAYLAND_DISPLAY={shown})"
    if environ.get("DISPLAY"):
        return "x11", f"X11 session (DISPLAY={environ['DISPLAY']})"
    if kind == "x11":
        return "x11", "X11 session (XDG_SESSION_TYPE=x11, but DISPLAY is not set)"
    return "none", "no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set)"


def copy_to_clipboard(text: str, environ: Environ = os.environ) -> str:
    """Put text on the clipboard (it stays there after this process ends); return where it went."""
    kind, why = detect_session(environ)
    if kind == "x11":
        from dictate.output.x11.hold import hold_selections
        from dictate.output.x11.selection import text_contents

        hold_selections(environ.get("DISPLAY"), {"CLIPBOARD": text_contents(text)})
        return "the X11 clipboard"
    if kind == "wayland":
        find_tool("wl-copy", "wl-clipboard", environ)
        wl_copy(text.encode(), "text/plain;charset=utf-8", environ)
        return "the Wayland clipboard"
    if kind == "macos":
        run_tool(["pbcopy"], input=text.encode(), what="pbcopy")
        return "the clipboard"
    raise DictateError(f"no clipboard to copy to: {why}")


# ---- choosing -------------------------------------------------------------------------------------

Chooser = Callable[[OutputConfig, Environ], tuple[Output, str]]


def choose_output(cfg: OutputConfig, environ: Environ = os.environ) -> tuple[Output, str]:
    """The output for [output] method, and a one-line reason ('paste: X11 session (DISPLAY=:0), clipboard
    and XTEST through python-xlib')."""
    try:
        chooser = METHODS[cfg.method]
    except KeyError:
        raise DictateError(f"unknown [output] method {cfg.method!r}; accepted: {', '.join(METHODS)}") from None
    return chooser(cfg, environ)


def _choose_stdout(cfg: OutputConfig, environ: Environ) -> tuple[Output, str]:
    return StdoutOutput(), "stdout: the text is printed"


def _choose_tmux(cfg: OutputConfig, environ: Environ) -> tuple[Output, str]:
    tmux = find_tool("tmux", "tmux", environ)
    where = f"tmux session {environ['TMUX'].split(',')[0]}" if environ.get("TMUX") else "the most recent tmux session"
    return TmuxOutput(tmux, env=environ), f"tmux: send-keys -l to the active pane of {where}"


def _choose_type(cfg: OutputConfig, environ: Environ) -> tuple[Output, str]:
    session, why = detect_session(environ)
    if session == "x11":
        _need_xlib()
        from dictate.output.x11 import XTestTyping

        return XTestTyping(environ.get("DISPLAY")), f"type: {why}, XTEST through python-xlib"
    if session == "wayland":
        if wtype := shutil.which("wtype", path=environ.get("PATH")):
            return WtypeTyping(wtype, env=environ), f"type: {why}, wtype found"
        if ydotool := shutil.which("ydotool", path=environ.get("PATH")):
            reason = f"type: {why}, ydotool found (no wtype; ydotool types ASCII only)"
            return YdotoolTyping(ydotool, env=environ), reason
        raise DictateError(f"wtype not found: {install_hint('wtype')} (typing on Wayland needs it)")
    if session in ("macos", "windows"):
        return PynputTyping(), f"type: {why}, pynput"
    raise DictateError(f'cannot type: {why}; use [output] method = "stdout" or "tmux"')


def _choose_paste(cfg: OutputConfig, environ: Environ) -> tuple[Output, str]:
    session, why = detect_session(environ)
    if session == "x11":
        _need_xlib()
        from dictate.output.x11 import X11Paste

        return X11Paste(cfg, environ.get("DISPLAY")), f"paste: {why}, clipboard and XTEST through python-xlib"
    if session == "wayland":
        find_tool("wl-copy", "wl-clipboard", environ)
        keys = shutil.which("wtype", path=environ.get("PATH")) or shutil.which("ydotool", path=environ.get("PATH"))
        if keys is None:
            raise DictateError(f"wtype not found: {install_hint('wtype')} (needed to press the paste keys)")
        tool = os.path.basename(keys)
        return WaylandPaste(cfg, environ, keys_tool=keys), f"paste: {why}, wl-copy and {tool} found"
    if session == "macos":
        return MacPaste(cfg), f"paste: {why}, pbcopy and pynput"
    raise DictateError(f'paste is not available: {why}; use [output] method = "type", "stdout" or "tmux"')


def _choose_auto(cfg: OutputConfig, environ: Environ) -> tuple[Output, str]:
    session, why = detect_session(environ)
    path = environ.get("PATH")
    if session == "x11" and _has_module("Xlib"):
        from dictate.output.x11 import XTestTyping

        reason = (
            f"type: {why}; XTEST typing through python-xlib is exact for any Unicode"
            " (a text with more distinct characters off the layout than one keymap holds is pasted)"
        )
        return XTestTyping(environ.get("DISPLAY"), paste_cfg=cfg), reason
    if session == "wayland":
        if wtype := shutil.which("wtype", path=path):
            return WtypeTyping(wtype, env=environ), f"type: {why}, wtype found (exact for any Unicode)"
        if shutil.which("wl-copy", path=path) and shutil.which("ydotool", path=path):
            output, _ = _choose_paste(cfg, environ)
            return output, f"paste: {why}, no wtype; wl-copy and ydotool found"
        if ydotool := shutil.which("ydotool", path=path):
            reason = f"type: {why}, only ydotool found (ASCII only; install wtype for Unicode)"
            return YdotoolTyping(ydotool, env=environ), reason
        raise DictateError(f"wtype not found: {install_hint('wtype')} (typing on Wayland needs it)")
    if session in ("macos", "windows"):
        return PynputTyping(), f"type: {why}, pynput"
    if environ.get("TMUX") and shutil.which("tmux", path=path):
        output, reason = _choose_tmux(cfg, environ)
        return output, f"{reason} ({why}, inside tmux)"
    if session == "x11":
        _need_xlib()
    return StdoutOutput(), f"stdout: {why}"


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _need_xlib() -> None:
    if not _has_module("Xlib"):
        raise DictateError("python-xlib not found: pip install python-xlib (pynput installs it on Linux)")


METHODS: dict[str, Chooser] = {
    "auto": _choose_auto,
    "type": _choose_type,
    "paste": _choose_paste,
    "stdout": _choose_stdout,
    "tmux": _choose_tmux,
}
