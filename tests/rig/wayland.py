"""A headless Wayland session (sway) and a foot terminal that records what it receives.

sway refuses to run as root, so as root it runs as `nobody` (setpriv) with a private XDG_RUNTIME_DIR;
clients started by the tests (foot, wtype, wl-copy) connect to its socket as root, which the file
permissions allow. Input needs no devices: wtype uses the virtual-keyboard protocol.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from tests.rig.display import HERE, _stop, _wait_for
from tests.rig.sound import RigUnavailable, missing_tools


class HeadlessSway:
    def __init__(self) -> None:
        # sway may run as another user, who cannot enter pytest's private temporary folders: its own
        # folder (config, log, runtime directory) is made directly under the system temp directory.
        self.dir = Path(tempfile.mkdtemp(prefix="dictate-sway-"))
        self.runtime = self.dir / "run"
        self.env: dict[str, str] = {}
        self._proc: subprocess.Popen[bytes] | None = None

    def run_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a client of this session (no X display to fall back to)."""
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SWAYSOCK")}
        env.update(self.env)
        env.update(extra or {})
        return env

    def start(self) -> HeadlessSway:
        missing = missing_tools(("sway", "swaymsg", "foot", "wtype", "wl-copy", "wl-paste"))
        if missing:
            raise RigUnavailable(f"missing {', '.join(missing)} (apt-get install sway foot wtype wl-clipboard)")
        self.runtime.mkdir(parents=True, exist_ok=True)
        config = self.dir / "sway.conf"
        config.write_text("output HEADLESS-1 resolution 1280x800\ndefault_border none\n")
        config.chmod(0o644)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.dir),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "WLR_BACKENDS": "headless",
            "WLR_RENDERER": "pixman",
            "WLR_LIBINPUT_NO_DEVICES": "1",
        }
        argv = ["sway", "-c", str(config)]
        self.dir.chmod(0o755)
        self.runtime.chmod(0o700)
        if os.geteuid() == 0:
            import pwd

            nobody = pwd.getpwnam("nobody")
            os.chown(self.runtime, nobody.pw_uid, nobody.pw_gid)
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            argv = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", *argv]
        log = open(self.dir / "sway.log", "wb")  # noqa: SIM115 - lives as long as sway
        self._proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=self.dir)
        try:
            _wait_for(lambda: self._sockets() is not None, 15, "sway to open its sockets")
        except TimeoutError:
            self.stop()
            raise RigUnavailable(f"sway did not start: {(self.dir / 'sway.log').read_text()[-800:]}") from None
        wayland, ipc = self._sockets()  # type: ignore[misc]
        self.env = {"XDG_RUNTIME_DIR": str(self.runtime), "WAYLAND_DISPLAY": wayland, "SWAYSOCK": ipc}
        return self

    def _sockets(self) -> tuple[str, str] | None:
        if self._proc is not None and self._proc.poll() is not None:
            raise TimeoutError("sway exited")
        names = [p.name for p in self.runtime.iterdir()] if self.runtime.exists() else []
        wayland = [n for n in names if n.startswith("wayland-") and not n.endswith(".lock")]
        ipc = [n for n in names if n.startswith("sway-ipc.")]
        return (wayland[0], str(self.runtime / ipc[0])) if wayland and ipc else None

    def stop(self) -> None:
        _stop(self._proc)
        self._proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


class FootTarget:
    """foot running tests/rig/tty_sink.py: every byte its terminal receives lands in a file."""

    def __init__(self, session: HeadlessSway, workdir: Path, app_id: str = "foot") -> None:
        self.session = session
        self.file = workdir / "foot.bytes"
        self.ready = workdir / "foot.ready"
        self.app_id = app_id
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> FootTarget:
        self.file.write_bytes(b"")
        self.ready.unlink(missing_ok=True)
        argv = ["foot", "--app-id", self.app_id, sys.executable, str(HERE / "tty_sink.py"), str(self.file),
                str(self.ready)]  # fmt: skip
        log = open(self.file.with_suffix(".log"), "wb")  # noqa: SIM115
        env = self.session.run_env({"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})
        self._proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        try:
            _wait_for(self.ready.exists, 20, "foot to start")
            _wait_for(self._focused, 10, "foot to have the focus")
        except TimeoutError as exc:
            self.stop()
            raise RigUnavailable(f"foot did not start: {exc}") from None
        return self

    def _focused(self) -> bool:
        done = subprocess.run(["swaymsg", "-t", "get_tree", "-r"], env=self.session.run_env(), capture_output=True)
        return f'"app_id": "{self.app_id}"' in done.stdout.decode() and b'"focused": true' in done.stdout

    def clear(self) -> None:
        self.file.write_bytes(b"")

    def received(self) -> bytes:
        return self.file.read_bytes()

    def wait_for(self, expected: bytes, timeout: float = 30) -> bytes:
        try:
            _wait_for(lambda: self.received() == expected, timeout, "the bytes", poll=0.01)
        except TimeoutError:
            time.sleep(0.2)
        return self.received()

    def stop(self) -> None:
        _stop(self._proc)
        self._proc = None
