"""A virtual X display with a window manager, target windows that report what they received, and a
clipboard owner, for testing text delivery for real.

- VirtualDisplay: Xvfb (display number chosen by Xvfb itself through -displayfd) plus openbox; without
  a window manager `xdotool windowactivate` fails for want of _NET_ACTIVE_WINDOW.
- TkTarget: a Tk Text widget whose content is mirrored to a file (tests/rig/tk_target.py).
- XtermTarget: xterm running a program that copies the bytes its terminal receives to a file.
- ClipboardOwner: a foreground `xclip -quiet -i` owning a selection, as an application would.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tests.rig.sound import RigUnavailable, missing_tools

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _wait_for(check: Callable[[], bool], timeout: float, what: str, poll: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 5) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class VirtualDisplay:
    """Xvfb + openbox on a display number Xvfb picks. `env` holds {"DISPLAY": ":N"}."""

    def __init__(self, workdir: Path, size: str = "1280x800x24") -> None:
        self.dir = workdir
        self.size = size
        self.env: dict[str, str] = {}
        self._xvfb: subprocess.Popen[bytes] | None = None
        self._wm: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return self.env["DISPLAY"]

    def run_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for a process on this display (no Wayland variables to confuse it)."""
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "DISPLAY")}
        env.update(self.env)
        env.update(extra or {})
        return env

    def start(self) -> VirtualDisplay:
        missing = missing_tools(("Xvfb", "openbox", "xdotool", "xclip", "xterm"))
        if missing:
            raise RigUnavailable(f"missing {', '.join(missing)} (apt-get install xvfb openbox xdotool xclip xterm)")
        self.dir.mkdir(parents=True, exist_ok=True)
        read_fd, write_fd = os.pipe()
        log = open(self.dir / "xvfb.log", "wb")  # noqa: SIM115 - lives as long as the server
        self._xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", self.size, "-nolisten", "tcp"],
            pass_fds=(write_fd,), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(write_fd)
        number = b""
        deadline = time.monotonic() + 15
        while not number.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([read_fd], [], [], max(left, 0))
            chunk = os.read(read_fd, 16) if ready else b""
            if not chunk:
                os.close(read_fd)
                self.stop()
                raise RigUnavailable(f"Xvfb did not start: {(self.dir / 'xvfb.log').read_text()[-500:]}")
            number += chunk
        os.close(read_fd)
        self.env = {"DISPLAY": f":{int(number)}"}
        wm_log = open(self.dir / "openbox.log", "wb")  # noqa: SIM115
        self._wm = subprocess.Popen(
            ["openbox", "--sm-disable", "--config-file", "/dev/null"], env=self.run_env(), stdout=wm_log,
            stderr=wm_log, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            _wait_for(self._wm_running, 30, "openbox to manage the screen")
        except TimeoutError as exc:
            status = "exited" if self._wm.poll() is not None else "running"
            log_tail = (self.dir / "openbox.log").read_text(errors="replace")[-500:]
            self.stop()
            raise RigUnavailable(f"openbox did not start ({status}): {exc}; log: {log_tail}") from None
        return self

    def _wm_running(self) -> bool:
        done = subprocess.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=self.run_env(), capture_output=True)
        return b"window id" in done.stdout

    def xdotool(self, *args: str) -> str:
        done = subprocess.run(["xdotool", *args], env=self.run_env(), capture_output=True, text=True, timeout=20)
        if done.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def activate(self, window: str) -> None:
        """Make `window` the active one and wait until it is (windowactivate --sync hangs when it already is)."""
        wanted = int(window, 0)
        self.xdotool("windowactivate", window)
        _wait_for(lambda: self._active() == wanted, 10, f"window {window} to become active")

    def _active(self) -> int:
        try:
            return int(self.xdotool("getactivewindow"))
        except (RuntimeError, ValueError):
            return 0

    def read_clipboard(self, target: str = "UTF8_STRING", selection: str = "clipboard") -> bytes | None:
        """What the selection holds for `target` (via xclip), or None when nobody serves it."""
        try:
            done = subprocess.run(
                ["xclip", "-o", "-selection", selection, "-t", target], env=self.run_env(), capture_output=True,
                timeout=10,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"nobody answered for {selection} {target}; {self.describe_owner(selection)}") from None
        return done.stdout if done.returncode == 0 else None

    def describe_owner(self, selection: str = "clipboard") -> str:
        """Which client owns a selection (for failure messages)."""
        code = (
            "import sys; from Xlib import display; from Xlib.ext import res; d = display.Display(); "
            "w = d.get_selection_owner(d.intern_atom(sys.argv[1])); "
            "ids = d.res_query_client_ids([{'client': w.id, 'mask': res.LocalClientPIDMask}]) if w else None; "
            "print(hex(w.id) if w else 'none', 'pid', [i.value for i in ids.ids] if ids else '')"
        )
        done = subprocess.run([sys.executable, "-c", code, selection.upper()], env=self.run_env(),
                              capture_output=True, text=True, timeout=10)  # fmt: skip
        procs = subprocess.run(["ps", "-o", "pid,etime,args", "-C", "python,python3,xclip"], capture_output=True,
                               text=True).stdout  # fmt: skip
        return f"owner window {done.stdout.strip() or done.stderr.strip()[-200:]}; processes:\n{procs}"

    def clipboard_targets(self, selection: str = "clipboard") -> list[str]:
        data = self.read_clipboard("TARGETS", selection)
        return data.decode().split() if data else []

    def stop(self) -> None:
        _stop(self._wm)
        _stop(self._xvfb)
        self._wm = self._xvfb = None


class TkTarget:
    """A Tk window with a Text widget; what it holds is mirrored to a file within a few milliseconds.

    `fast=True` replaces Tk's Text class bindings (which scroll to the cursor after every key, slow on
    long lines) with a bare insert, so a benchmark measures delivery rather than Tk's layout.
    """

    def __init__(self, display: VirtualDisplay, workdir: Path, *, fast: bool = False, title: str = "dictate-target"):
        self.display = display
        self.file = workdir / f"{title}.txt"
        self.title = title
        self.fast = fast
        self.window = ""
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> TkTarget:
        argv = [sys.executable, str(HERE / "tk_target.py"), str(self.file), self.title] + (
            ["--fast"] if self.fast else []
        )
        self._proc = subprocess.Popen(
            argv, env=self.display.run_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        line = self._reply(20)
        if not line.startswith("ready "):
            self.stop()
            raise RigUnavailable(f"the Tk target did not start (tkinter missing?): {line!r}")
        found = self.display.xdotool("search", "--name", f"^{self.title}$").split()
        if not found:
            self.stop()
            raise RigUnavailable("the Tk target window cannot be found by its title")
        self.window = found[0]
        return self

    def _reply(self, timeout: float) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        return self._proc.stdout.readline().strip() if ready else ""

    def command(self, name: str, timeout: float = 10) -> str:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(name + "\n")
        self._proc.stdin.flush()
        return self._reply(timeout)

    def activate(self) -> None:
        """Give the Text widget the keyboard focus."""
        self.display.activate(self.window)
        if self.command("focus") != "focused":
            raise RuntimeError("the Tk target did not take the focus")

    def clear(self) -> None:
        if self.command("clear") != "cleared":
            raise RuntimeError("the Tk target did not clear")

    def text(self) -> str:
        return self.file.read_text(encoding="utf-8") if self.file.exists() else ""

    def wait_for(self, expected: str, timeout: float = 10) -> str:
        """The widget's text once it equals `expected`, or whatever it holds after `timeout` (then settled)."""
        try:
            _wait_for(lambda: self.text() == expected, timeout, "the text", poll=0.005)
        except TimeoutError:
            time.sleep(0.2)
        return self.text()

    def own_clipboard(self, items: Mapping[str, str]) -> None:
        """Make Tk own CLIPBOARD offering each type -> text in `items` (several formats at once)."""
        for kind, value in items.items():
            if self.command(f"clip {kind} {value.encode().hex()}") != "clipped":
                raise RuntimeError("the Tk target did not take the clipboard")

    def stop(self) -> None:
        if self._proc is not None:
            if self._proc.stdin:
                self._proc.stdin.close()
            _stop(self._proc)  # type: ignore[arg-type]
            self._proc = None


class XtermTarget:
    """xterm running tests/rig/tty_sink.py, which copies every byte its terminal receives to a file
    (the terminal in raw mode: no echo, no line editing, Enter arrives as "\\r")."""

    def __init__(self, display: VirtualDisplay, workdir: Path, title: str = "dictate-xterm") -> None:
        self.display = display
        self.file = workdir / f"{title}.bytes"
        self.ready = workdir / f"{title}.ready"
        self.title = title
        self.window = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> XtermTarget:
        self.file.write_bytes(b"")
        self.ready.unlink(missing_ok=True)
        env = self.display.run_env({"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})
        self._proc = subprocess.Popen(
            ["xterm", "-u8", "-title", self.title, "-e", sys.executable, str(HERE / "tty_sink.py"), str(self.file),
             str(self.ready)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            _wait_for(self.ready.exists, 20, "xterm to start")
            _wait_for(lambda: bool(self._search()), 10, "the xterm window")
        except TimeoutError as exc:
            self.stop()
            raise RigUnavailable(f"xterm did not start: {exc}") from None
        self.window = self._search()
        return self

    def _search(self) -> str:
        try:
            found = self.display.xdotool("search", "--name", f"^{self.title}$")
        except RuntimeError:
            return ""
        return found.split()[0] if found else ""

    def activate(self) -> None:
        self.display.activate(self.window)

    def clear(self) -> None:
        self.file.write_bytes(b"")

    def received(self) -> bytes:
        return self.file.read_bytes()

    def wait_for(self, expected: bytes, timeout: float = 10) -> bytes:
        try:
            _wait_for(lambda: self.received() == expected, timeout, "the bytes", poll=0.005)
        except TimeoutError:
            time.sleep(0.2)
        return self.received()

    def stop(self) -> None:
        _stop(self._proc)
        self._proc = None


class ClipboardOwner:
    """A foreground `xclip -quiet -i` owning a selection with `data` as `target`, like a copying app."""

    def __init__(self, display: VirtualDisplay, data: bytes, target: str = "UTF8_STRING", selection: str = "clipboard"):
        if shutil.which("xclip") is None:
            raise RigUnavailable("xclip is not installed (apt-get install xclip)")
        self.display = display
        self.selection = selection
        self.target = target
        self._proc = subprocess.Popen(
            ["xclip", "-quiet", "-selection", selection, "-t", target, "-i"], env=display.run_env(),
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert self._proc.stdin is not None
        self._proc.stdin.write(data)
        self._proc.stdin.close()
        _wait_for(lambda: display.read_clipboard(target, selection) == data, 10, "xclip to own the selection")

    def running(self) -> bool:
        return self._proc.poll() is None

    def stop(self) -> None:
        _stop(self._proc)  # type: ignore[arg-type]


def clear_selections(display: VirtualDisplay) -> None:
    """Leave CLIPBOARD and PRIMARY without an owner (a short-lived owner takes them, then exits)."""
    for selection in ("clipboard", "primary"):
        owner = ClipboardOwner(display, b"-", selection=selection)
        owner.stop()
    _wait_for(lambda: display.read_clipboard() is None, 10, "the clipboard to empty")


class XtestKeymap:
    """The XTEST keyboard's keymap next to the physical keyboard's, read through dictate.output.x11."""

    def __init__(self, display: VirtualDisplay) -> None:
        from dictate.output.x11.keyboard import XKeyboard

        self.keyboard = XKeyboard(display.name)
        self.first = self.keyboard.min_kc
        self.count = self.keyboard.max_kc - self.keyboard.min_kc + 1

    def source(self) -> list[Any]:
        return self.keyboard.xkb.read_keys(self.keyboard.source_device, self.first, self.count)[0]

    def xtest(self) -> list[Any]:
        return self.keyboard.xkb.read_keys(self.keyboard.xtest_device, self.first, self.count)[0]

    def differences(self) -> dict[int, Any]:
        """keycode -> the physical keyboard's key, wherever the XTEST keyboard carries something else."""
        pairs = enumerate(zip(self.source(), self.xtest(), strict=True), self.first)
        return {code: source for code, (source, xtest) in pairs if source != xtest}

    def put_back(self) -> None:
        """Give the XTEST keyboard the physical keyboard's keys (what a killed typist may not have done)."""
        xkb = self.keyboard.xkb
        xkb.write_keys(self.keyboard.xtest_device, self.first, self.source(), self.first, self.keyboard.max_kc)
        self.keyboard.d.sync()

    def close(self) -> None:
        self.keyboard.close()
