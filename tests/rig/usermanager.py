"""A real systemd user manager (`systemd --user`) for the service tests, on a machine not booted with
systemd (a container, CI).

systemd refuses to run unless the system was booted with it (/run/systemd/system exists) and wants a
cgroup of its own. So the manager runs in a private mount namespace where a tmpfs on /run/systemd
holds an empty system/ (the host's /run is untouched), in a cgroup made for it (removed after). It
runs as the test's user (root here and in CI: creating cgroups needs it) with the test's HOME and
XDG_RUNTIME_DIR, so `systemctl --user` from the test reaches it through
$XDG_RUNTIME_DIR/systemd/private, and the units it finds are those under the test's
~/.config/systemd/user.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

from tests.rig.sound import RigUnavailable

SETUP = """
set -e
mount -t tmpfs dictate-test /run/systemd
mkdir /run/systemd/system
for group in "$@"; do echo $$ > "$group/cgroup.procs"; done
exec systemd --user
"""


def _cgroup_roots() -> list[Path]:
    """Where to make our cgroup: under the named systemd hierarchy (cgroup v1) and the unified one."""
    roots = []
    for candidate in (Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup")):
        if (candidate / "cgroup.procs").exists():
            roots.append(candidate)
            if candidate == Path("/sys/fs/cgroup/unified") or candidate == Path("/sys/fs/cgroup"):
                break
    return roots


class UserManager:
    """`systemd --user` for `env` (its HOME, XDG_CONFIG_HOME and XDG_RUNTIME_DIR are the test's)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.groups: list[Path] = []
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            raise RigUnavailable("a systemd user manager in a private namespace needs root")
        missing = [tool for tool in ("systemd", "systemctl", "unshare") if shutil.which(tool) is None]
        if missing:
            raise RigUnavailable(f"not installed: {', '.join(missing)}")
        name = "dictate-test-" + secrets.token_hex(4)
        for root in _cgroup_roots():
            group = root / name
            try:
                group.mkdir()
            except OSError as exc:
                self.stop()
                raise RigUnavailable(f"cannot make a cgroup in {root}: {exc.strerror}") from None
            self.groups.append(group)
        if not self.groups:
            raise RigUnavailable("no cgroup hierarchy found under /sys/fs/cgroup")
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", SETUP, "sh", *map(str, self.groups)],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                said = self.log.read_text(errors="replace")[-800:]
                self.stop()
                raise RigUnavailable(f"systemd --user did not start: {said}")
            time.sleep(0.1)

    def answers(self) -> bool:
        return self.systemctl("show", "--property=Version").returncode == 0

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["systemctl", "--user", *args], env=self.env, capture_output=True, text=True, timeout=30, check=False
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # the manager stops its units, then exits
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for group in self.groups:
            self._remove(group)
        self.groups = []

    def _remove(self, group: Path) -> None:
        """Remove a cgroup and those the manager made inside it, deepest first, once they are empty."""
        deadline = time.monotonic() + 10
        for folder in [*sorted((p for p in group.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)), group]:
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    for pid in (folder / "cgroup.procs").read_text().split():
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(int(pid), 9)  # a process the manager left behind in our cgroup
                    time.sleep(0.1)
