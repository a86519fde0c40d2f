"""The desktop session that dictate types into and hears keys from: does its display answer?

Each problem is a DeviceError, one line saying what to do, in the words that `run`, `notes` and
`doctor` all show: the X11 ones come from dictate.output.x11.display (`x11_problem`), the rest from
here. A check connects and hangs up at once.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path

from dictate.errors import DeviceError, DictateError
from dictate.output import Output, detect_session

# Outputs that deliver without a display.
TERMINAL_OUTPUTS = ("stdout", "tmux")

NO_SESSION_FIX = 'run dictate inside your desktop session, or set [output] method = "stdout" or "tmux"'
NO_HOTKEY = "run `dictate run --no-hotkey` and bind a key of your desktop to `dictate ctl toggle`"


def check_devices(output: Output, *, hotkey: bool, environ: Mapping[str, str] = os.environ) -> None:
    """What `run` and `notes` check before they start: the display their output types into (none for
    stdout and tmux) and, with a global hotkey, the X display it listens on."""
    if output.name not in TERMINAL_OUTPUTS:
        check_display(environ)
    if hotkey:
        check_hotkey_display(environ)


def check_display(environ: Mapping[str, str] = os.environ) -> str:
    """Connect to the session's display and hang up; what answered, or DeviceError."""
    kind, why = detect_session(environ)
    if kind == "x11":
        _x11(environ.get("DISPLAY"))
    elif kind == "wayland":
        _wayland(environ)
    elif kind == "none":
        raise DeviceError(why, NO_SESSION_FIX)
    return why


def check_hotkey_display(environ: Mapping[str, str] = os.environ) -> None:
    """The global hotkey listens through X11 (XWayland on Wayland): that display must answer."""
    try:
        _x11(environ.get("DISPLAY"))
    except DeviceError as exc:
        wayland = detect_session(environ)[0] == "wayland"
        fix = NO_HOTKEY if wayland else f"{exc.fix}; or {NO_HOTKEY}"
        raise DeviceError(f"the hotkey needs an X display: {exc.what}", fix) from None


def _x11(name: str | None) -> None:
    try:
        from dictate.output.x11.display import open_display, x11_problem
    except ImportError:
        raise DictateError("python-xlib not found: pip install python-xlib (pynput installs it on Linux)") from None
    if not name:
        raise x11_problem("")
    open_display(name).close()


def _wayland(environ: Mapping[str, str]) -> None:
    name = environ.get("WAYLAND_DISPLAY") or "wayland-0"
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if not os.path.isabs(name) and not runtime:
        raise DeviceError(
            f"WAYLAND_DISPLAY={name} but XDG_RUNTIME_DIR is not set, so its socket cannot be found",
            "run dictate inside your Wayland session",
        )
    path = Path(runtime) / name
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(str(path))
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            raise DeviceError(
                f"no Wayland compositor answers at {path} ({reason})",
                "run dictate inside your Wayland session, or unset WAYLAND_DISPLAY",
            ) from None
