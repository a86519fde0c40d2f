"""Wayland: type with wtype (or ydotool), paste through wl-clipboard, and ask sway for the focused app."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

from dictate.config import OutputConfig
from dictate.errors import DictateError
from dictate.output.common import CHORDS, PASTE_SETTLE, Environ, paste_chord, run_tool, split_lines

TEXT_MIME = "text/plain;charset=utf-8"


class WtypeTyping:
    """Type through the virtual-keyboard protocol with wtype, which makes a keymap of its own (exact;
    it sends "\\n" as Return)."""

    name = "type (wtype)"

    def __init__(self, wtype: str = "wtype", env: Environ | None = None) -> None:
        self.wtype = wtype
        self.env = env

    def prepare(self) -> None:
        pass  # each delivery runs wtype afresh

    def deliver(self, text: str) -> None:
        if text:
            # The text goes on stdin ("-"), so none of it can be read as an option.
            argv = [*_wtype_prelude(self.wtype), "-"]
            run_tool(argv, what="wtype", input=text.encode(), timeout=120, env=self.env)

    def close(self) -> None:
        pass  # nothing held


def _wtype_prelude(wtype: str) -> list[str]:
    """The start of every wtype command line: a Shift press and release, then a pause."""
    # Each wtype run is a new virtual keyboard, and the first key it sends is sometimes lost while the
    # compositor hands its keymap to the window (1 run in 3 under sway); a Shift press and release
    # and a pause take that place (with 20 ms a character was still lost about once in 20 runs).
    return [wtype, "-M", "shift", "-m", "shift", "-s", "60"]


class YdotoolTyping:
    """Type through uinput with ydotool, which assumes a US layout, so only ASCII is exact."""

    name = "type (ydotool)"

    def __init__(self, ydotool: str = "ydotool", env: Environ | None = None) -> None:
        self.ydotool = ydotool
        self.env = env

    def prepare(self) -> None:
        pass  # each delivery runs ydotool afresh

    def deliver(self, text: str) -> None:
        for index, line in enumerate(split_lines(text)):
            if index:
                run_tool([self.ydotool, "key", "enter"], what="ydotool", env=self.env)
            if line:
                run_tool([self.ydotool, "type", "--", line], what="ydotool", timeout=60, env=self.env)

    def close(self) -> None:
        pass  # nothing held


class WaylandPaste:
    """wl-copy the text, send the paste keys with wtype (or ydotool), restore with wl-copy.

    Terminals get Shift+Insert, which pastes the primary selection in foot, kitty and alacritty, so
    the text goes to both selections then. wl-copy serves one MIME type at a time, so of a clipboard
    holding several the first that is not text is restored (an image over its HTML description),
    else the text. Wayland does not tell us when the window has read the clipboard, so the restore
    waits PASTE_SETTLE seconds, and happens only if the selection still holds our text.
    """

    name = "paste (Wayland)"

    def __init__(self, cfg: OutputConfig, environ: Environ, *, keys_tool: str) -> None:
        self.cfg = cfg
        self.env = dict(environ)
        self.keys_tool = keys_tool

    def prepare(self) -> None:
        pass  # each delivery runs the tools afresh

    def deliver(self, text: str) -> None:
        if not text:
            return
        chord = paste_chord(_sway_focused_app(self.env), self.cfg.paste_keys, self.cfg.terminal_classes)
        selections = [False, True] if chord == "shift+insert" else [False]  # primary?
        restore = self.cfg.restore_clipboard
        previous = {primary: _wayland_selection(self.env, primary) for primary in selections} if restore else {}
        for primary in selections:
            wl_copy(text.encode(), TEXT_MIME, self.env, primary)
        run_tool(self._chord_argv(chord), what="paste keys", env=self.env)
        if not restore:
            return
        time.sleep(PASTE_SETTLE)
        for primary in selections:
            if _wl_paste(TEXT_MIME, self.env, primary) != text.encode():
                continue  # something else was copied meanwhile: keep it
            held = previous[primary]
            if held is None:
                run_tool(["wl-copy", "--clear", *(["--primary"] if primary else [])], what="wl-copy", env=self.env)
            else:
                wl_copy(held[1], held[0], self.env, primary)

    def close(self) -> None:
        pass  # nothing held

    def _chord_argv(self, chord: str) -> list[str]:
        """The command line that presses `chord` (a CHORDS name) with the keys tool."""
        *mods, key = CHORDS[chord]
        if os.path.basename(self.keys_tool) == "wtype":
            names = [{"Control_L": "ctrl", "Shift_L": "shift"}[mod] for mod in mods]
            argv = _wtype_prelude(self.keys_tool)
            for mod in names:
                argv += ["-M", mod]
            argv += ["-k", key]
            for mod in reversed(names):
                argv += ["-m", mod]
            return argv
        # ydotool 0.1.x (Debian 12) takes "+"-joined key names (untested here: it needs /dev/uinput).
        ydotool_names = {"Control_L": "ctrl", "Shift_L": "shift", "Insert": "insert", "v": "v"}
        return [self.keys_tool, "key", "+".join(ydotool_names[part] for part in (*mods, key))]


def wl_copy(data: bytes, mime: str, env: Environ, primary: bool = False) -> None:
    """Put `data` on the Wayland clipboard (or the primary selection) as `mime`."""
    # wl-copy leaves a process behind that serves the selection; it must not hold our pipes open.
    argv = ["wl-copy", "--type", mime, *(["--primary"] if primary else [])]
    try:
        done = subprocess.run(
            argv,
            input=data,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            env=dict(env),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DictateError(f"wl-copy failed: {exc}") from None
    if done.returncode != 0:
        raise DictateError(f"wl-copy failed with exit status {done.returncode}")


def _wl_paste(mime: str, env: Environ, primary: bool = False) -> bytes | None:
    argv = ["wl-paste", "--no-newline", "--type", mime, *(["--primary"] if primary else [])]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=5, env=dict(env), check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _wayland_selection(env: Environ, primary: bool = False) -> tuple[str, bytes] | None:
    """(MIME type, data) of what a selection holds, choosing one type, or None when it is empty."""
    argv = ["wl-paste", "--list-types", *(["--primary"] if primary else [])]
    try:
        listed = subprocess.run(argv, capture_output=True, timeout=5, env=dict(env), check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    # Upper-case names (TARGETS, UTF8_STRING) are X11 selection targets mirrored by Xwayland.
    types = [t for t in listed.stdout.decode(errors="replace").splitlines() if t and t.upper() != t]
    if listed.returncode != 0 or not types:
        return None
    textual = [t for t in types if t.startswith("text/")]
    other = [t for t in types if not t.startswith("text/")]
    mime = other[0] if other else next((t for t in textual if "utf-8" in t.lower()), textual[0])
    data = _wl_paste(mime, env, primary)
    return (mime, data) if data is not None else None


def _sway_focused_app(environ: Environ) -> tuple[str, ...] | None:
    """The focused window's app_id and X11 class under sway (the only compositor we can ask), else None."""
    if not environ.get("SWAYSOCK") or shutil.which("swaymsg", path=environ.get("PATH")) is None:
        return None
    try:
        done = subprocess.run(
            ["swaymsg", "-t", "get_tree", "-r"], capture_output=True, timeout=3, check=False, env=dict(environ)
        )
        tree = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.get("focused"):
            props = node.get("window_properties") or {}
            names = (node.get("app_id"), props.get("instance"), props.get("class"))
            return tuple(n for n in names if n)
        stack.extend(node.get("nodes", []) + node.get("floating_nodes", []))
    return None
