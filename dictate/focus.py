"""The class of the window that has the keyboard focus, read when the key is pressed: X11 WM_CLASS
(instance and class) through python-xlib, the app_id under sway (swaymsg) and Hyprland (hyprctl).

Reading it never fails a dictation: when it cannot be read, the answer is None and the settings of
the config file apply.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("dictate")


class FocusReader:
    """Asks the session which window has the focus; on X11 one connection is kept for every press."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self.environ = dict(environ)
        self._display: Any = None

    def window_class(self) -> tuple[str, ...] | None:
        """The focused window's names (WM_CLASS instance and class, or app_id), or None."""
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
