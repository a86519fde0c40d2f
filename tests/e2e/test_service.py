"""`dictate service` for real: a systemd user manager runs the unit it writes (started, restarted after a
crash, stopped by `dictate ctl quit`), with paths that need quoting; and where no manager answers, the
XDG autostart entry, launched by GLib's own launcher (`gio launch`) as a desktop session does."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import rig_unavailable, write_config
from tests.rig import proc
from tests.rig.display import TkTarget, VirtualDisplay
from tests.rig.server import TranscriptionServer
from tests.rig.sound import VirtualMic
from tests.rig.usermanager import UserManager

pytestmark = pytest.mark.rig

TEXT = "Hello from the test server."
PHRASE = "please write this down for me"
QUIET = "[feedback]\nsounds = false\nnotify = false\n"


@pytest.fixture
def env(home: Path, vmic: VirtualMic, xdisplay: VirtualDisplay) -> dict[str, str]:
    env = proc.clean_env(home, {**vmic.env, "DISPLAY": xdisplay.name})
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return env


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.1)


def daemon_answers(env: dict[str, str]) -> bool:
    return proc.run(["ctl", "status"], env).returncode == 0


def main_pid(manager: UserManager) -> int:
    return int(manager.systemctl("show", "--property=MainPID", "--value", "dictate.service").stdout.strip() or 0)


def test_the_unit_runs_the_daemon_restarts_it_after_a_crash_and_quit_ends_it(
    home: Path,
    env: dict[str, str],
    manager: UserManager,
    server: TranscriptionServer,
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\n[hotkey]\nkeys = "f9"\n{QUIET}')
    installed = proc.run(["service", "install"], env)
    unit = home / ".config" / "systemd" / "user" / "dictate.service"
    assert installed.returncode == 0, installed.stderr + manager.log.read_text()
    assert installed.stderr == (
        f"dictate: wrote the systemd user unit {unit}; enabled: it starts with your graphical session\n"
    )
    text = unit.read_text()
    (exec_start,) = re.findall(r"^ExecStart=(.*)$", text, re.MULTILINE)
    assert exec_start == f"{sys.executable} -P -m dictate run"  # the dictate that installed it
    assert "WantedBy=graphical-session.target" in text and "Restart=on-failure" in text
    assert manager.systemctl("is-enabled", "dictate.service").stdout.strip() == "enabled"
    assert manager.systemctl("is-active", "dictate.service").stdout.strip() == "active"
    assert daemon_answers(env)

    # It dictates into the session it was started for.
    proc.run(["ctl", "start"], env)
    vmic.play(clip(PHRASE))
    proc.run(["ctl", "stop"], env)
    assert tk_window.wait_for(TEXT + " ") == TEXT + " "

    status = proc.run(["service", "status"], env)
    assert status.stdout.splitlines() == [
        f"systemd user unit: {unit} (enabled, active)",
        "autostart entry: not installed",
        "daemon: running, idle",
        "log: journalctl --user -u dictate.service",
    ]

    # A crash: systemd starts it again.
    crashed = main_pid(manager)
    os.kill(crashed, signal.SIGKILL)
    wait_until(lambda: main_pid(manager) not in (0, crashed) and daemon_answers(env), "restarted", timeout=60)

    # `dictate ctl quit` ends it for good: a clean exit is not restarted.
    quit_ = proc.run(["ctl", "quit"], env)
    assert quit_.returncode == 0, quit_.stderr
    wait_until(lambda: manager.systemctl("is-active", "dictate.service").stdout.strip() == "inactive", "inactive")
    assert manager.systemctl("show", "--property=Result", "--value", "dictate.service").stdout.strip() == "success"

    # Installing again changes nothing but starts it; uninstalling twice says there is nothing left.
    again = proc.run(["service", "install"], env)
    assert again.returncode == 0 and unit.read_text() == text
    assert manager.systemctl("is-active", "dictate.service").stdout.strip() == "active" and daemon_answers(env)
    removed = proc.run(["service", "uninstall"], env)
    assert removed.returncode == 0
    assert removed.stderr == f"dictate: stopped, disabled and removed the systemd user unit {unit}\n"
    assert not unit.exists() and not daemon_answers(env)
    twice = proc.run(["service", "uninstall"], env)
    assert (twice.returncode, twice.stderr) == (0, "dictate: no dictate service is installed: nothing to remove\n")


def test_paths_that_need_quoting_reach_the_daemon_whole(
    home: Path, env: dict[str, str], manager: UserManager, server: TranscriptionServer, tmp_path: Path
) -> None:
    """A config in a folder whose name has spaces, a quote, % and $: systemd must pass it on as it is."""
    folder = tmp_path / 'my "dictate" 100% $HOME'
    folder.mkdir()
    config = folder / "dictate config.toml"
    config.write_text(f'[api]\nbase_url = "{server.base_url}"\n[output]\nmethod = "stdout"\n{QUIET}')
    installed = proc.run(["--config", str(config), "service", "install"], env)
    assert installed.returncode == 0, installed.stderr + manager.log.read_text()
    unit = home / ".config" / "systemd" / "user" / "dictate.service"
    (exec_start,) = re.findall(r"^ExecStart=(.*)$", unit.read_text(), re.MULTILINE)
    quoted = str(config).replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    assert exec_start == f'{sys.executable} -P -m dictate --config "{quoted}" run'
    wait_until(lambda: daemon_answers(env), "the daemon answers")
    argv = Path(f"/proc/{main_pid(manager)}/cmdline").read_bytes().split(b"\0")[:-1]
    assert argv == [os.fsencode(word) for word in (sys.executable, "-P", "-m", "dictate", "--config", config, "run")]


def test_without_a_manager_the_autostart_entry_starts_the_daemon_detached(
    home: Path, env: dict[str, str], server: TranscriptionServer, tmp_path: Path
) -> None:
    if shutil.which("gio") is None:
        rig_unavailable("gio (libglib2.0-bin) is not installed")
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\n[hotkey]\nkeys = "f9"\n{QUIET}')
    assert not (Path(env["XDG_RUNTIME_DIR"]) / "systemd").exists()  # no user manager for this user
    installed = proc.run(["service", "install"], env)
    assert installed.returncode == 0, installed.stderr
    entry = home / ".config" / "autostart" / "dictate.desktop"
    log = home / ".local" / "state" / "dictate" / "daemon.log"
    lines = installed.stderr.splitlines()
    assert lines[0].startswith("dictate: no systemd user manager answers (")
    assert lines[0].endswith("): using an XDG autostart entry")
    assert lines[1] == (
        f"dictate: wrote the XDG autostart entry {entry}: the daemon starts when you log in to your desktop"
    )
    started = re.fullmatch(rf"dictate: started the daemon in the background \(pid (\d+)\); its log: {log}", lines[2])
    assert started is not None and len(lines) == 3
    pid = int(started.group(1))
    assert os.getsid(pid) == pid  # a session of its own: no terminal, no hangup when the shell goes
    assert daemon_answers(env)
    assert oct(log.stat().st_mode & 0o777) == "0o600" and oct(log.parent.stat().st_mode & 0o777) == "0o700"
    assert "dictate: ready: hold f9 to dictate" in log.read_text()
    (exec_line,) = re.findall(r"^Exec=(.*)$", entry.read_text(), re.MULTILINE)
    assert exec_line == f"{sys.executable} -P -m dictate service start"

    # The next login: the desktop launches the entry.
    assert proc.run(["ctl", "quit"], env).returncode == 0
    assert not daemon_answers(env)
    subprocess.run(["gio", "launch", str(entry)], env=env, check=True, timeout=30, cwd=tmp_path)
    wait_until(lambda: daemon_answers(env), "the daemon answers after `gio launch`", timeout=60)
    status = json.loads(proc.run(["ctl", "status", "--json"], env).stdout)
    assert status["class"] == "idle"

    # Installed twice: one entry, the running daemon left as it is; uninstalled: the daemon is named.
    again = proc.run(["service", "install"], env)
    assert again.stderr.splitlines()[-1] == "dictate: a dictate daemon is already running; it was left as it is"
    removed = proc.run(["service", "uninstall"], env)
    assert removed.stderr == (
        f"dictate: removed the autostart entry {entry}\n"
        "dictate: the daemon it started still runs: `dictate ctl quit` ends it\n"
    )
    assert proc.run(["ctl", "quit"], env).returncode == 0
