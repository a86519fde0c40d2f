"""Deliver text at the cursor: one Output interface, backends chosen from a table.

Text given to an output is already sanitized (dictate.textproc): no control characters or escape
sequences, and "\\n" only when [output] allow_newlines is on, in which case typing sends it as Return
and pasting keeps it in the pasted text. Failures raise DictateError with one line saying what to do.

Methods ([output] method):
  type    type the characters: X11 through XTEST (dictate.x11, exact for any Unicode), Wayland with
          wtype (or ydotool, US-layout ASCII only), macOS and Windows with pynput
  paste   put the text on the clipboard, send the paste keys for the focused window (Shift+Insert in
          terminals, Ctrl+V elsewhere), then put the previous clipboard back
  stdout  print the text (for scripts)
  tmux    `tmux send-keys -l` into the active pane, never Enter
  auto    the best of these for the session and the installed tools
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from dictate import DictateError
from dictate.config import PASTE_KEYS, OutputConfig

if TYPE_CHECKING:
    from dictate.x11 import XKeyboard

Environ = Mapping[str, str]
log = logging.getLogger("dictate")

# Paste key chords by their [output] paste_keys name, as X keysym names (modifiers first).
CHORDS: dict[str, tuple[str, ...]] = {
    "ctrl+v": ("Control_L", "v"),
    "ctrl+shift+v": ("Control_L", "Shift_L", "v"),
    "shift+insert": ("Shift_L", "Insert"),
}
assert set(CHORDS) == set(PASTE_KEYS) - {""}

# How long the target may take to ask for the pasted text before we give up and restore (X11), and
# how long to wait before restoring where we cannot see the request (Wayland, macOS).
PASTE_TIMEOUT = 2.0
PASTE_SETTLE = 0.4


class Output(Protocol):
    name: str

    def deliver(self, text: str) -> None: ...


# ---- pure helpers ---------------------------------------------------------------------------------


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


def is_terminal(window_class: Sequence[str] | None, terminal_classes: Sequence[str]) -> bool:
    """Whether a window's class (WM_CLASS instance and class, or a Wayland app_id) names a terminal."""
    if not window_class:
        return False
    known = {name.lower() for name in terminal_classes}
    return any(name.lower() in known for name in window_class if name)


def paste_chord(window_class: Sequence[str] | None, paste_keys: str, terminal_classes: Sequence[str]) -> str:
    """The paste keys for the focused window: the configured ones, else Shift+Insert in a terminal
    (Ctrl+V there types a literal ^V in xterm, and Ctrl+Shift+V is not universal), else Ctrl+V."""
    if paste_keys:
        return paste_keys
    return "shift+insert" if is_terminal(window_class, terminal_classes) else "ctrl+v"


def split_lines(text: str) -> list[str]:
    """The text between newlines: tools that type a string get each line, with Return in between."""
    return text.split("\n")


def _which(tool: str, package: str, environ: Environ) -> str:
    path = shutil.which(tool, path=environ.get("PATH"))
    if path is None:
        raise DictateError(f"{tool} not found: {_install_hint(package)}")
    return path


def _install_hint(package: str) -> str:
    if sys.platform == "darwin":
        return f"brew install {package}"
    return f"sudo apt-get install {package}"


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _run(
    argv: Sequence[str], *, what: str, input: bytes | None = None, timeout: float = 10, env: Environ | None = None
) -> bytes:
    try:
        done = subprocess.run(
            list(argv), input=input, capture_output=True, timeout=timeout, check=False, env=dict(env) if env else None
        )
    except subprocess.TimeoutExpired:
        raise DictateError(f"{what}: {argv[0]} did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise DictateError(f"{what}: cannot run {argv[0]}: {exc.strerror}") from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise DictateError(f"{what}: {argv[0]} failed: {detail[-1] if detail else f'exit status {done.returncode}'}")
    return done.stdout


# ---- stdout and tmux ------------------------------------------------------------------------------


class StdoutOutput:
    """Print the text; nothing is added after it unless `end` says so."""

    name = "stdout"

    def __init__(self, stream: TextIO | None = None, end: str = "") -> None:
        self.stream = stream
        self.end = end

    def deliver(self, text: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(text + self.end)
        stream.flush()


class TmuxOutput:
    """Send the text to the active tmux pane as literal keys (-l), so nothing is read as a key name
    and no Enter is added."""

    name = "tmux"

    def __init__(self, tmux: str = "tmux", target: str = "", env: Environ | None = None) -> None:
        self.tmux = tmux
        self.target = target
        self.env = env

    def deliver(self, text: str) -> None:
        if not text:
            return
        where = ["-t", self.target] if self.target else []
        _run([self.tmux, "send-keys", *where, "-l", "--", text], what="tmux send-keys", env=self.env)


# ---- typing ---------------------------------------------------------------------------------------


class XTestTyping:
    """X11: type through XTEST with the needed keysyms bound for the occasion (see dictate.x11).

    With `paste_cfg`, a text with more distinct characters off the layout than the keys that may be
    borrowed at once hold (long CJK dictations; about 230 on the evdev map) is pasted instead:
    typing it would take several keymap changes, each waiting until the window has read the keys
    typed before it, and be slower than a paste by far.
    """

    name = "type (X11 XTEST)"

    def __init__(self, display: str | None = None, *, paste_cfg: OutputConfig | None = None) -> None:
        self.display = display
        self._keyboard: XKeyboard | None = None
        self._paste = X11Paste(paste_cfg, display, typing=self) if paste_cfg is not None else None

    def keyboard(self) -> XKeyboard:
        if self._keyboard is None:
            from dictate.x11 import XKeyboard

            self._keyboard = XKeyboard(self.display)
        return self._keyboard

    def prepare(self) -> None:
        self.keyboard()

    def deliver(self, text: str) -> None:
        try:
            if self._paste is None:
                self.keyboard().type(text)
            elif not self.keyboard().type(text, max_keymaps=1):
                log.debug("%d characters need more than one keymap: pasting them", len(text))
                self.keyboard().restore()  # the paste keys must be read with the layout's own keymap
                self._paste.deliver(text)
        except DictateError:
            raise
        except Exception as exc:  # Xlib reports a lost connection and protocol errors with its own types
            self.close()  # connect afresh next time (the X server may have restarted)
            raise DictateError(f"typing on X display {self.display or '(DISPLAY)'} failed: {exc}") from None

    def close(self) -> None:
        if self._keyboard is not None:
            with contextlib.suppress(Exception):
                self._keyboard.close()
            self._keyboard = None


class WtypeTyping:
    """Wayland: wtype types through the virtual-keyboard protocol with a keymap of its own (exact;
    it sends "\n" as Return)."""

    name = "type (wtype)"

    def __init__(self, wtype: str = "wtype", env: Environ | None = None) -> None:
        self.wtype = wtype
        self.env = env

    def deliver(self, text: str) -> None:
        if text:
            # The text goes on stdin ("-"), so none of it can be read as an option.
            _run([*_wtype_prelude(self.wtype), "-"], what="wtype", input=text.encode(), timeout=120, env=self.env)


def _wtype_prelude(wtype: str) -> list[str]:
    # Each wtype run is a new virtual keyboard, and the first key it sends is sometimes lost while the
    # compositor hands its keymap to the window (1 run in 3 under sway); a Shift press and release
    # and a pause take that place (with 20 ms a character was still lost about once in 20 runs).
    return [wtype, "-M", "shift", "-m", "shift", "-s", "60"]


class YdotoolTyping:
    """Wayland without wtype: ydotool types through uinput with a US layout, so only ASCII is exact."""

    name = "type (ydotool)"

    def __init__(self, ydotool: str = "ydotool", env: Environ | None = None) -> None:
        self.ydotool = ydotool
        self.env = env

    def deliver(self, text: str) -> None:
        for index, line in enumerate(split_lines(text)):
            if index:
                _run([self.ydotool, "key", "enter"], what="ydotool", env=self.env)
            if line:
                _run([self.ydotool, "type", "--", line], what="ydotool", timeout=60, env=self.env)


class PynputTyping:
    """macOS and Windows: pynput's keyboard Controller (Unicode key events on both)."""

    name = "type (pynput)"

    def __init__(self) -> None:
        self._controller: Any = None

    def deliver(self, text: str) -> None:
        if self._controller is None:
            try:
                from pynput.keyboard import Controller
            except Exception as exc:  # pynput raises ImportError subclasses and platform errors
                raise DictateError(f"pynput cannot type here: {exc}") from None
            self._controller = Controller()
        try:
            self._controller.type(text)
        except Exception as exc:
            raise DictateError(f"typing failed: {exc}") from None


# ---- pasting --------------------------------------------------------------------------------------


class X11Paste:
    """X11: serve the text as CLIPBOARD (and PRIMARY for terminals), press the paste keys, wait until
    the window has fetched it, then put every format the clipboard held before back."""

    name = "paste (X11)"

    def __init__(
        self,
        cfg: OutputConfig,
        display: str | None = None,
        *,
        timeout: float = PASTE_TIMEOUT,
        typing: XTestTyping | None = None,
    ) -> None:
        self.cfg = cfg
        self.display = display
        self.timeout = timeout
        self._typing = typing or XTestTyping(display)  # its keyboard presses the paste keys

    def deliver(self, text: str) -> None:
        if not text:
            return
        try:
            self._paste(text)
        except DictateError:
            raise
        except Exception as exc:  # Xlib reports a lost connection and protocol errors with its own types
            self._typing.close()
            raise DictateError(f"pasting on X display {self.display or '(DISPLAY)'} failed: {exc}") from None

    def _paste(self, text: str) -> None:
        from dictate import x11

        keyboard = self._typing.keyboard()
        chord = paste_chord(keyboard.focused_class(), self.cfg.paste_keys, self.cfg.terminal_classes)
        # Shift+Insert pastes PRIMARY in xterm, urxvt, st, alacritty, kitty; CLIPBOARD in others.
        selections = ["CLIPBOARD", "PRIMARY"] if chord == "shift+insert" else ["CLIPBOARD"]
        previous = {name: x11.read_selection(self.display, name) for name in selections}
        ours = x11.text_contents(text)
        server = x11.SelectionServer(self.display, dict.fromkeys(selections, ours)).start()
        fetched = False
        try:
            keyboard.press_chord(CHORDS[chord])
            fetched = server.wait_fetched(self.timeout)
        finally:
            # Whatever happened, the selections we still own go back to what they held (or, with
            # restoring off, keep our text beyond this process, as a copy would).
            still_ours = [name for name in selections if server.owns(name)]
            if self.cfg.restore_clipboard:
                back = {name: held for name in still_ours if (held := previous[name])}
                for name in still_ours:
                    if not previous[name]:
                        server.release(name)
            else:
                back = dict.fromkeys(still_ours, ours)
            try:
                if back:
                    x11.hold_selections(self.display, back)
            finally:
                server.stop()
        if not fetched:
            raise DictateError(
                f"the focused window did not take the pasted text within {self.timeout:g} s after {chord}; "
                'set [output] paste_keys, or use method = "type"'
            )

    def prepare(self) -> None:
        self._typing.prepare()

    def close(self) -> None:
        self._typing.close()


class WaylandPaste:
    """Wayland: wl-copy the text, send the paste keys with wtype (or ydotool), restore with wl-copy.

    Terminals get Shift+Insert, which pastes the primary selection in foot, kitty and alacritty, so
    the text goes to both selections then. wl-copy serves one MIME type at a time, so of a clipboard
    holding several the first that is not text is restored (an image over its HTML description),
    else the text. Wayland does not tell us when the window has read the clipboard, so the restore
    waits `settle` seconds, and happens only if the selection still holds our text.
    """

    name = "paste (Wayland)"

    def __init__(self, cfg: OutputConfig, environ: Environ, *, keys_tool: str, settle: float = PASTE_SETTLE) -> None:
        self.cfg = cfg
        self.env = dict(environ)
        self.keys_tool = keys_tool
        self.settle = settle

    def deliver(self, text: str) -> None:
        if not text:
            return
        chord = paste_chord(_sway_focused_app(self.env), self.cfg.paste_keys, self.cfg.terminal_classes)
        selections = [False, True] if chord == "shift+insert" else [False]  # primary?
        restore = self.cfg.restore_clipboard
        previous = {primary: _wayland_selection(self.env, primary) for primary in selections} if restore else {}
        for primary in selections:
            _wl_copy(text.encode(), "text/plain;charset=utf-8", self.env, primary)
        _run(self._chord_argv(chord), what="paste keys", env=self.env)
        if not restore:
            return
        time.sleep(self.settle)
        for primary in selections:
            if _wl_paste("text/plain;charset=utf-8", self.env, primary) != text.encode():
                continue  # something else was copied meanwhile: keep it
            held = previous[primary]
            if held is None:
                _run(["wl-copy", "--clear", *(["--primary"] if primary else [])], what="wl-copy", env=self.env)
            else:
                _wl_copy(held[1], held[0], self.env, primary)

    def _chord_argv(self, chord: str) -> list[str]:
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


def _wl_copy(data: bytes, mime: str, env: Environ, primary: bool = False) -> None:
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


class MacPaste:
    """macOS: pbcopy, Cmd+V through pynput, then the previous text back (pbcopy keeps only text)."""

    name = "paste (macOS)"

    def __init__(self, cfg: OutputConfig, *, settle: float = PASTE_SETTLE) -> None:
        self.cfg = cfg
        self.settle = settle

    def deliver(self, text: str) -> None:
        if not text:
            return
        previous = _run(["pbpaste"], what="pbpaste") if self.cfg.restore_clipboard else None
        _run(["pbcopy"], input=text.encode(), what="pbcopy")
        try:
            from pynput.keyboard import Controller, Key
        except Exception as exc:
            raise DictateError(f"pynput cannot press Cmd+V here: {exc}") from None
        keyboard = Controller()
        with keyboard.pressed(Key.cmd):
            keyboard.tap("v")
        if previous is not None:
            time.sleep(self.settle)
            if _run(["pbpaste"], what="pbpaste") == text.encode():
                _run(["pbcopy"], input=previous, what="pbcopy")


# ---- choosing -------------------------------------------------------------------------------------

Chooser = Callable[[OutputConfig, Environ], tuple[Output, str]]


def _choose_stdout(cfg: OutputConfig, environ: Environ) -> tuple[Output, str]:
    return StdoutOutput(), "stdout: the text is printed"


def _choose_tmux(cfg: OutputConfig, environ: Environ) -> tuple[Output, str]:
    tmux = _which("tmux", "tmux", environ)
    where = f"tmux session {environ['TMUX'].split(',')[0]}" if environ.get("TMUX") else "the most recent tmux session"
    return TmuxOutput(tmux, env=environ), f"tmux: send-keys -l to the active pane of {where}"


def _choose_type(cfg: OutputConfig, environ: Environ) -> tuple[Output, str]:
    session, why = detect_session(environ)
    if session == "x11":
        _need_xlib()
        return XTestTyping(environ.get("DISPLAY")), f"type: {why}, XTEST through python-xlib"
    if session == "wayland":
        if wtype := shutil.which("wtype", path=environ.get("PATH")):
            return WtypeTyping(wtype, env=environ), f"type: {why}, wtype found"
        if ydotool := shutil.which("ydotool", path=environ.get("PATH")):
            reason = f"type: {why}, ydotool found (no wtype; ydotool types ASCII only)"
            return YdotoolTyping(ydotool, env=environ), reason
        raise DictateError(f"wtype not found: {_install_hint('wtype')} (typing on Wayland needs it)")
    if session in ("macos", "windows"):
        return PynputTyping(), f"type: {why}, pynput"
    raise DictateError(f'cannot type: {why}; use [output] method = "stdout" or "tmux"')


def _choose_paste(cfg: OutputConfig, environ: Environ) -> tuple[Output, str]:
    session, why = detect_session(environ)
    if session == "x11":
        _need_xlib()
        return X11Paste(cfg, environ.get("DISPLAY")), f"paste: {why}, clipboard and XTEST through python-xlib"
    if session == "wayland":
        _which("wl-copy", "wl-clipboard", environ)
        keys = shutil.which("wtype", path=environ.get("PATH")) or shutil.which("ydotool", path=environ.get("PATH"))
        if keys is None:
            raise DictateError(f"wtype not found: {_install_hint('wtype')} (needed to press the paste keys)")
        tool = os.path.basename(keys)
        return WaylandPaste(cfg, environ, keys_tool=keys), f"paste: {why}, wl-copy and {tool} found"
    if session == "macos":
        return MacPaste(cfg), f"paste: {why}, pbcopy and pynput"
    raise DictateError(f'paste is not available: {why}; use [output] method = "type", "stdout" or "tmux"')


def _choose_auto(cfg: OutputConfig, environ: Environ) -> tuple[Output, str]:
    session, why = detect_session(environ)
    path = environ.get("PATH")
    if session == "x11" and _has_module("Xlib"):
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
        raise DictateError(f"wtype not found: {_install_hint('wtype')} (typing on Wayland needs it)")
    if session in ("macos", "windows"):
        return PynputTyping(), f"type: {why}, pynput"
    if environ.get("TMUX") and shutil.which("tmux", path=path):
        output, reason = _choose_tmux(cfg, environ)
        return output, f"{reason} ({why}, inside tmux)"
    if session == "x11":
        _need_xlib()
    return StdoutOutput(), f"stdout: {why}"


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


def copy_to_clipboard(text: str, environ: Environ = os.environ) -> str:
    """Put text on the clipboard (it stays there after this process ends); return where it went."""
    kind, why = detect_session(environ)
    if kind == "x11":
        from dictate import x11

        x11.hold_selections(environ.get("DISPLAY"), {"CLIPBOARD": x11.text_contents(text)})
        return "the X11 clipboard"
    if kind == "wayland":
        _which("wl-copy", "wl-clipboard", environ)
        _wl_copy(text.encode(), "text/plain;charset=utf-8", environ)
        return "the Wayland clipboard"
    if kind == "macos":
        _run(["pbcopy"], input=text.encode(), what="pbcopy")
        return "the clipboard"
    raise DictateError(f"no clipboard to copy to: {why}")


def choose_output(cfg: OutputConfig, environ: Environ = os.environ) -> tuple[Output, str]:
    """The output for [output] method, and a one-line reason ('paste: X11, xclip and xdotool found')."""
    try:
        chooser = METHODS[cfg.method]
    except KeyError:
        raise DictateError(f"unknown [output] method {cfg.method!r}; accepted: {', '.join(METHODS)}") from None
    return chooser(cfg, environ)


def prepare_output(output: Output) -> None:
    """Connect now what an output connects lazily (the X display), so the first dictation is as fast as the rest."""
    prepare = getattr(output, "prepare", None)
    if callable(prepare):
        prepare()


def close_output(output: Output) -> None:
    """Release what an output holds (the X connection, borrowed keys); safe for every output."""
    close = getattr(output, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):
            close()
