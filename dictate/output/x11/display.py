"""Connecting to the X server, and asking it about its keyboards, the keys held and the focused window."""

from __future__ import annotations

import os
from collections.abc import Sequence

from Xlib import display, error
from Xlib.ext import xinput

from dictate.errors import DeviceError, DictateError

# What to do when the X display cannot be reached; the one wording `run`, `notes` and `doctor` show.
IN_SESSION = "run dictate inside your desktop session, or set DISPLAY to its display (`echo $DISPLAY` there)"


def open_display(name: str | None = None) -> display.Display:
    """Connect to the X server, or raise DeviceError (`x11_problem`) saying what to do."""
    try:
        return display.Display(name)
    except Exception as exc:  # Xlib raises several unrelated types here
        raise x11_problem(name or os.environ.get("DISPLAY") or "", exc) from None


def x11_problem(name: str, exc: BaseException | None = None) -> DeviceError:
    """One line for an X display that cannot be used, in words, without Xlib's own types."""
    if not name:
        return DeviceError("no X display: DISPLAY is not set", IN_SESSION)
    if isinstance(exc, error.DisplayNameError):
        return DeviceError(f"DISPLAY={name} is not an X display name", "set DISPLAY to one like :0")
    reason = str(getattr(exc, "msg", "") or exc or "").strip()
    if reason.startswith(("b'", 'b"')):
        reason = reason[2:-1].replace("\\n", " ")  # the server's own refusal, as Xlib quotes it
    reason = reason.split("] ", 1)[-1].strip().rstrip(".").lower() or "no answer"
    if "authoriz" in reason or "protocol specified" in reason:
        return DeviceError(
            f"X display {name} refused the connection ({reason})",
            "run dictate as the user of that session, with its XAUTHORITY",
        )
    return DeviceError(f"cannot connect to X display {name} ({reason})", IN_SESSION)


def keyboard_devices(d: display.Display) -> tuple[int, int]:
    """(XTEST keyboard id, a physical keyboard id to read the user's keymap from) for the core keyboard."""
    try:
        devices = d.xinput_query_device(xinput.AllDevices).devices
    except Exception as exc:
        raise DictateError(f"the X server did not list its input devices (XInput 2): {exc}") from None
    masters = [dev for dev in devices if dev.use == xinput.MasterKeyboard]
    slaves = [dev for dev in devices if dev.use == xinput.SlaveKeyboard]
    master = next((dev for dev in masters if dev.name == "Virtual core keyboard"), masters[0] if masters else None)
    if master is None:
        raise DictateError("the X server reports no keyboard")
    attached = [dev for dev in slaves if dev.attachment == master.deviceid]
    xtest_dev = next((dev for dev in attached if "XTEST" in dev.name), None)
    if xtest_dev is None:
        raise DictateError("the X server has no XTEST keyboard")
    physical = [dev for dev in attached if "XTEST" not in dev.name]
    # Power and video buttons register as keyboards too; prefer a device named like a keyboard.
    physical.sort(key=lambda dev: ("keyboard" not in dev.name.lower(), dev.deviceid))
    return xtest_dev.deviceid, (physical[0].deviceid if physical else master.deviceid)


def pressed(keymap: Sequence[int]) -> set[int]:
    """The keycodes held down, from the bit vector QueryKeymap returns."""
    return {8 * index + bit for index, byte in enumerate(keymap) for bit in range(8) if byte & (1 << bit)}


def focused_window_class(d: display.Display) -> tuple[str, str] | None:
    """WM_CLASS (instance, class) of the window with the input focus, or None."""
    focus = d.get_input_focus().focus
    if isinstance(focus, int) or focus is None:
        return None  # None or PointerRoot
    root = d.screen().root
    try:
        window = focus
        while window is not None and window.id != root.id:
            found = window.get_wm_class()
            if found:
                return (found[0], found[1])
            window = window.query_tree().parent
        # Some window managers focus their frame: look below it instead.
        pending, depth = [focus], 0
        while pending and depth < 3:
            children = [child for w in pending for child in w.query_tree().children]
            for child in children:
                found = child.get_wm_class()
                if found:
                    return (found[0], found[1])
            pending, depth = children, depth + 1
    except error.XError:
        return None
    return None
