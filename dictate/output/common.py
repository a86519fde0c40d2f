"""What the output backends share: the paste keys for a window, lines of a text, running a tool."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence

from dictate.config import PASTE_KEYS
from dictate.errors import DictateError
from dictate.output.terminal_classes import TERMINAL_CLASSES

Environ = Mapping[str, str]

# Paste key chords by their [output] paste_keys name, as X keysym names (modifiers first).
CHORDS: dict[str, tuple[str, ...]] = {
    "ctrl+v": ("Control_L", "v"),
    "ctrl+shift+v": ("Control_L", "Shift_L", "v"),
    "shift+insert": ("Shift_L", "Insert"),
}
assert set(CHORDS) == set(PASTE_KEYS) - {""}

# How long to wait before restoring the clipboard where we cannot see the window read it (Wayland, macOS).
PASTE_SETTLE = 0.4


def is_terminal(window_class: Sequence[str] | None, extra_classes: Sequence[str] = ()) -> bool:
    """Whether a window's class (WM_CLASS instance and class, or a Wayland app_id) names a terminal:
    one of TERMINAL_CLASSES or of `extra_classes` ([output] terminal_classes), in any case."""
    if not window_class:
        return False
    known = {name.lower() for name in (*TERMINAL_CLASSES, *extra_classes)}
    return any(name.lower() in known for name in window_class if name)


def paste_chord(window_class: Sequence[str] | None, paste_keys: str, extra_classes: Sequence[str] = ()) -> str:
    """The paste keys for the focused window: the configured ones, else Shift+Insert in a terminal
    (Ctrl+V there types a literal ^V in xterm, and Ctrl+Shift+V is not universal), else Ctrl+V."""
    if paste_keys:
        return paste_keys
    return "shift+insert" if is_terminal(window_class, extra_classes) else "ctrl+v"


def split_lines(text: str) -> list[str]:
    """The text between newlines: tools that type a string get each line, with Return in between."""
    return text.split("\n")


def install_hint(package: str) -> str:
    """The command that installs a system package here."""
    if sys.platform == "darwin":
        return f"brew install {package}"
    return f"sudo apt-get install {package}"


def find_tool(tool: str, package: str, environ: Environ) -> str:
    """The path of `tool` on environ's PATH, or DictateError saying which package to install."""
    path = shutil.which(tool, path=environ.get("PATH"))
    if path is None:
        raise DictateError(f"{tool} not found: {install_hint(package)}")
    return path


def run_tool(
    argv: Sequence[str], *, what: str, input: bytes | None = None, timeout: float = 10, env: Environ | None = None
) -> bytes:
    """Run a tool and return its stdout; any failure is a DictateError of one line, the last of its stderr."""
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
