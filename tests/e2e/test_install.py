"""A new user's first day, for real: `install.sh` with a key in a fresh HOME (a systemd user manager
running, ~/.local/bin not on PATH), then a new shell that runs `dictate transcribe` without exporting
anything, the service's daemon answering, and `dictate ctl quit` ending it."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.rig import proc
from tests.rig.display import VirtualDisplay
from tests.rig.server import TranscriptionServer
from tests.rig.sound import VirtualMic, make_clip
from tests.rig.usermanager import UserManager

pytestmark = pytest.mark.rig

KEY = "sk-first-day-0123456789abcdefghij"
TEXT = "Hello from a server that wants a key."
PATH_FIX = "echo 'export PATH=\"$HOME/.local/bin:$PATH\"' >> ~/.bashrc && exec bash"


@pytest.fixture
def env(home: Path, vmic: VirtualMic, xdisplay: VirtualDisplay) -> dict[str, str]:
    env = proc.clean_env(home, {**vmic.env, "DISPLAY": xdisplay.name, "SHELL": "/bin/bash", "LANG": "C.UTF-8"})
    env["PATH"] = ":".join(p for p in env["PATH"].split(":") if ".venv" not in p and ".local/bin" not in p)
    for name in ("VIRTUAL_ENV", "PYTHONUNBUFFERED", "DBUS_SESSION_BUS_ADDRESS"):
        env.pop(name, None)
    return env


def shell(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A new interactive bash, as a new terminal runs it (it reads ~/.bashrc)."""
    return subprocess.run(["bash", "-i", "-c", command], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.timeout(1200)
def test_install_with_a_key_then_a_new_shell_and_the_service(
    home: Path, env: dict[str, str], manager: UserManager, tmp_path: Path
) -> None:
    with TranscriptionServer(text=TEXT, key=KEY) as server:
        write_config(home, f'[api]\nbase_url = "{server.base_url}"\n')  # a self-hosted server that wants a key
        installed = subprocess.run(
            ["bash", "scripts/install.sh"],
            cwd=proc.ROOT,
            env={**env, "OPENAI_API_KEY": KEY},
            capture_output=True,
            text=True,
            timeout=1100,
        )
        assert installed.returncode == 0, installed.stderr
        said = installed.stderr.splitlines()
        unit = home / ".config" / "systemd" / "user" / "dictate.service"
        assert f"dictate: key stored in {home}/.config/dictate/api-key (readable only by you)" in said
        assert f"dictate: wrote the systemd user unit {unit}; enabled: it starts with your graphical session" in said
        assert f"dictate: ~/.local/bin is not on your PATH, so `dictate` is not found yet; run: {PATH_FIX}" in said
        assert KEY not in installed.stderr + installed.stdout
        (exec_start,) = re.findall(r"^ExecStart=(.*)$", unit.read_text(), re.MULTILINE)
        assert exec_start == f"{home}/.local/share/dictate/venv/bin/dictate run"

        # A new shell after the fix the install printed; nothing exported.
        subprocess.run(["bash", "-c", PATH_FIX.removesuffix(" && exec bash")], env=env, check=True)
        memo = make_clip("hello there this is my first day", tmp_path / "memo.wav")
        transcribed = shell(f"dictate transcribe {memo}", env)
        assert (transcribed.returncode, transcribed.stdout) == (0, TEXT + "\n"), transcribed.stderr
        assert server.uploads[-1].headers["authorization"] == f"Bearer {KEY}"

        status = shell("dictate service status", env)
        assert "daemon: running, idle" in status.stdout.splitlines(), status.stdout + status.stderr
        completion = home / ".local" / "share" / "bash-completion" / "completions" / "dictate"
        assert "complete -o bashdefault -F _shtab_dictate dictate" in completion.read_text()

        quit_ = shell("dictate ctl quit", env)
        assert quit_.returncode == 0 and "the daemon finished what it held and exited" in quit_.stderr
        deadline = time.monotonic() + 30
        while manager.systemctl("is-active", "dictate.service").stdout.strip() != "inactive":
            assert time.monotonic() < deadline, "the service is still active after ctl quit"
            time.sleep(0.1)
