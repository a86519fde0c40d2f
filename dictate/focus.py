"""The class of the window that has the keyboard focus, read when the key is pressed: X11 WM_CLASS
(instance and class) through python-xlib, the app_id under sway (swaymsg) and Hyprland (hyprctl).

Reading it never fails a dictation nor holds up its start: when it cannot be read within
FOCUS_WAIT (an X server or compositor that hangs), the answer is None and the settings of the config
file apply. A read that hangs is left to its thread, and no other is started until it ends.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("dictate")

FOCUS_WAIT = 0.5  # seconds a press waits for the focused window's class


class FocusReader:
    """Asks the session which window has the focus; on X11 one connection is kept for every press."""

    def __init__(self, environ: Mapping[str, str] = os.environ, wait: float = FOCUS_WAIT) -> None:
        self.environ = dict(environ)
        self.wait = wait
        self._display: Any = None
        self._pending: threading.Thread | None = None  # a read that outlived its wait
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """Read once in the background, so the first press finds the imports done and the display open."""
        if self._pending is None:
            self._pending = self._start_read([])

    def window_class(self) -> tuple[str, ...] | None:
        """The focused window's names (WM_CLASS instance and class, or app_id), or None when they
        cannot be read within `wait` seconds. Asked at the press and again before typing, from two
        threads: one read at a time."""
        with self._lock:
            return self._window_class()

    def _window_class(self) -> tuple[str, ...] | None:
        if self._pending is not None:
            self._pending.join(self.wait)  # the one from prepare(), or one that hung
            if self._pending.is_alive():
                return None  # it still hangs: no second one
            self._pending = None
        answer: list[tuple[str, ...] | None] = []
        reader = self._start_read(answer)
        reader.join(self.wait)
        if reader.is_alive():
            log.debug("the focused window could not be read within %g s", self.wait)
            self._pending = reader
            return None
        return answer[0] if answer else None

    def _start_read(self, answer: list[tuple[str, ...] | None]) -> threading.Thread:
        reader = threading.Thread(target=lambda: answer.append(self._read()), name="dictate-focus", daemon=True)
        reader.start()
        return reader

    def _read(self) -> tuple[str, ...] | None:
        try:
            if self.environ.get("HYPRLAND_INSTANCE_SIGNATURE"):
                return hyprland_focused_app(self.environ)
            if self.environ.get("SWAYSOCK"):
                from dictate.output.wayland import _sway_focused_app

                return _sway_focused_app(self.environ)
            if self.environ.get("DISPLAY") and not self.environ.get("WAYLAND_DISPLAY"):
                return self._x11_class()
        except Exception as exc:  # a lost connection, a tool that misbehaves: no profile this time
            log.debug("the focused window could not be read: %s", exc)
            self.close()
        return None

    def _x11_class(self) -> tuple[str, ...] | None:
        from dictate.output.x11.display import focused_window_class, open_display

        if self._display is None:
            self._display = open_display(self.environ.get("DISPLAY"))
        return focused_window_class(self._display)

    def close(self) -> None:
        if self._display is not None:
            with contextlib.suppress(Exception):
                self._display.close()
            self._display = None


def hyprland_focused_app(environ: Mapping[str, str]) -> tuple[str, ...] | None:
    """The focused window's class and initial class under Hyprland (`hyprctl activewindow -j`), or None."""
    if shutil.which("hyprctl", path=environ.get("PATH")) is None:
        return None
    try:
        done = subprocess.run(
            ["hyprctl", "activewindow", "-j"], capture_output=True, timeout=3, check=False, env=dict(environ)
        )
        window = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    if not isinstance(window, dict):
        return None
    names = (window.get("class"), window.get("initialClass"))
    found = tuple(dict.fromkeys(n for n in names if isinstance(n, str) and n))
    return found or None
