"""A second Unix user for local-attacker tests: created for the test, removed after.

Creating a user needs root (the test machine and CI run as root); elsewhere the tests that need
one are skipped locally and fail in CI (DICTATE_REQUIRE_RIG=1), like any rig test.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.rig.sound import RigUnavailable

# The system Python, which any user can run (a virtual environment under root's home may not be).
SYSTEM_PYTHON = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.access(p, os.X_OK)), None)


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int

    def popen(self, args: list[str], **kwargs: object) -> subprocess.Popen[str]:
        """Start `args` as this user, with no supplementary groups."""
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            args, user=self.uid, group=self.gid, extra_groups=[], text=True, **kwargs
        )

    def python(self, script: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
        """Run a Python script as this user, with the system Python."""
        assert SYSTEM_PYTHON is not None
        return self.popen([SYSTEM_PYTHON, "-c", script, *args], **kwargs)


@contextlib.contextmanager
def second_user() -> Iterator[User]:
    """A fresh system user with no home and no login shell; removed afterwards."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        raise RigUnavailable("creating a second user needs root")
    if shutil.which("useradd") is None or shutil.which("userdel") is None or SYSTEM_PYTHON is None:
        raise RigUnavailable("useradd, userdel or a system python3 is missing")
    name = "dictest" + secrets.token_hex(4)
    created = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
    )
    if created.returncode != 0:
        raise RigUnavailable(f"useradd failed: {created.stderr.strip()}")
    try:
        import pwd

        entry = pwd.getpwnam(name)
        yield User(name, entry.pw_uid, entry.pw_gid)
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)


@contextlib.contextmanager
def shared_tmp() -> Iterator[Path]:
    """A folder like /tmp (mode 1777: anyone may create, only owners may remove), that every user can reach."""
    folder = Path(tempfile.mkdtemp(prefix="dictate-shared-", dir="/tmp"))
    try:
        folder.chmod(0o1777)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
