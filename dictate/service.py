"""`dictate service`: the daemon started with the graphical session, restarted when it fails.

Where a systemd user manager answers, a user unit (~/.config/systemd/user/dictate.service), enabled
for graphical-session.target; elsewhere an XDG autostart entry (~/.config/autostart/dictate.desktop)
that starts the daemon in the background, detached, its log in ~/.local/state/dictate/daemon.log.
The files are written first and all or nothing, so a manager that cannot be reached (no session bus)
costs the enabling and starting, never the file. The texts and their quoting are in `servicefiles`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dictate import control
from dictate.config.paths import config_dir, state_dir
from dictate.errors import DictateError
from dictate.files import replace_file
from dictate.servicefiles import UNIT_NAME, autostart_text, unit_text

log = logging.getLogger("dictate")

SYSTEMCTL_WAIT = 15.0  # longest wait for one systemctl call
READY_WAIT = 60.0  # longest wait for a started daemon to answer (loading a local model takes a moment)
LOG_LIMIT = 1 << 20  # a background daemon's log is moved aside to daemon.log.1 when bigger than this
# What a daemon started now needs from the session it is installed from, when the manager lacks it.
SESSION_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "XDG_SESSION_TYPE", "XDG_CURRENT_DESKTOP")


def unit_path(environ: Mapping[str, str] = os.environ) -> Path:
    return config_dir(environ).parent / "systemd" / "user" / UNIT_NAME


def autostart_path(environ: Mapping[str, str] = os.environ) -> Path:
    return config_dir(environ).parent / "autostart" / "dictate.desktop"


def log_path(environ: Mapping[str, str] = os.environ) -> Path:
    """Where a daemon started in the background (autostart, or `dictate service start` without systemd) logs."""
    return state_dir(environ) / "daemon.log"


def dictate_command(config: str | None = None) -> list[str]:
    """The installed dictate, as a service runs it: absolute paths, and the config file when it is not
    the default one."""
    from dictate.shellinit import dictate_command as how

    command = how(sys.argv[0], sys.executable)
    if not os.path.isabs(command[0]):  # not found on PATH: this Python's dictate
        command = [sys.executable, "-m", "dictate"]
    if config:
        command += ["--config", os.path.abspath(os.path.expanduser(config))]
    return command


# ---- systemctl -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ok: bool
    said: str  # the last line systemctl wrote, for a message


def systemctl(*args: str, environ: Mapping[str, str] = os.environ) -> Outcome:
    """Run `systemctl --user ARGS`; never raises."""
    tool = shutil.which("systemctl", path=environ.get("PATH"))
    if tool is None:
        return Outcome(False, "systemctl not found")
    try:
        done = subprocess.run(
            [tool, "--user", *args],
            check=False,
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SYSTEMCTL_WAIT,
        )
    except subprocess.TimeoutExpired:
        return Outcome(False, f"systemctl --user {args[0]} did not answer within {SYSTEMCTL_WAIT:g} s")
    except OSError as exc:
        return Outcome(False, f"cannot run systemctl: {exc.strerror or exc}")
    lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return Outcome(done.returncode == 0, lines[-1] if lines else f"exit status {done.returncode}")


def manager_answers(environ: Mapping[str, str] = os.environ) -> Outcome:
    """Whether a systemd user manager answers (over its private socket or the session bus)."""
    return systemctl("show", "--property=Version", environ=environ)


# ---- install, uninstall, start, stop, status -------------------------------------------------------


def write_file(path: Path, text: str) -> None:
    """Write `text` to `path` all or nothing (dictate.files.replace_file); one line when the disk refuses."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, text.encode("utf-8"))
    except OSError as exc:
        raise DictateError(f"cannot write {path}: {exc.strerror or exc}") from None


def remove_file(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise DictateError(f"cannot remove {path}: {exc.strerror or exc}") from None
    return True


class Service:
    """The service of one user: `environ` says where the files go and which manager to ask; `say`
    reports each step (one line each)."""

    def __init__(
        self,
        command: list[str],
        environ: Mapping[str, str] = os.environ,
        say: Callable[[str], None] = log.info,
        *,
        run_options: tuple[str, ...] = (),
    ) -> None:
        self.command = command
        self.run_options = run_options  # for `dictate run` (--no-hotkey)
        self.environ = dict(environ)
        self.say = say

    # -- install --

    def install(self, kind: str = "auto", start: bool = True) -> bool:
        """Write the unit (or the autostart entry), enable it and, with `start`, start the daemon now.
        False when the file is written but enabling or starting failed (each said, with what to do)."""
        if kind == "auto":
            answer = manager_answers(self.environ)
            kind = "systemd" if answer.ok else "autostart"
            if not answer.ok:
                self.say(f"no systemd user manager answers ({answer.said}): using an XDG autostart entry")
        return self._install_unit(start) if kind == "systemd" else self._install_autostart(start)

    def _install_unit(self, start: bool) -> bool:
        path = unit_path(self.environ)
        write_file(path, unit_text(self.command, self.run_options))
        if remove_file(autostart_path(self.environ)):
            self.say(f"removed the autostart entry {autostart_path(self.environ)}: the systemd unit replaces it")
        for step in (("daemon-reload",), ("enable", UNIT_NAME)):
            outcome = systemctl(*step, environ=self.environ)
            if not outcome.ok:
                self.say(
                    f"wrote the systemd user unit {path}, but `systemctl --user {' '.join(step)}` failed "
                    f"({outcome.said}); run `systemctl --user enable --now {UNIT_NAME}` in your desktop session"
                )
                return False
        self.say(f"wrote the systemd user unit {path}; enabled: it starts with your graphical session")
        return self._start_unit() if start else True

    def _start_unit(self) -> bool:
        if self._outside_daemon():
            return False
        present = [name for name in SESSION_VARIABLES if self.environ.get(name)]
        if not any(name in present for name in ("DISPLAY", "WAYLAND_DISPLAY")):
            self.say("not started now: this shell has no display; it starts with your next graphical session")
            return True
        imported = systemctl("import-environment", *present, environ=self.environ)
        if not imported.ok:
            self.say(f"could not give the display to the user manager ({imported.said})")
        outcome = systemctl("restart", UNIT_NAME, environ=self.environ)  # a reinstall runs the new unit
        if not outcome.ok:
            self.say(f"`systemctl --user start {UNIT_NAME}` failed ({outcome.said}); see `{journal_command()}`")
            return False
        return self._wait_ready(lambda: systemctl("is-failed", "--quiet", UNIT_NAME, environ=self.environ).ok)

    def _install_autostart(self, start: bool) -> bool:
        path = autostart_path(self.environ)
        write_file(path, autostart_text(self.command, self.run_options))
        self.say(f"wrote the XDG autostart entry {path}: the daemon starts when you log in to your desktop")
        if not start:
            return True
        if self._outside_daemon(quiet=True):
            self.say("a dictate daemon is already running; it was left as it is")
            return True
        return self.start_background()

    # -- uninstall --

    def uninstall(self) -> None:
        """Stop and disable the unit, remove it and the autostart entry; saying what was done. Doing
        it again finds nothing to do."""
        unit, entry = unit_path(self.environ), autostart_path(self.environ)
        did = False
        if unit.exists():
            outcome = systemctl("disable", "--now", UNIT_NAME, environ=self.environ)
            remove_file(unit)
            systemctl("daemon-reload", environ=self.environ)
            if outcome.ok:
                self.say(f"stopped, disabled and removed the systemd user unit {unit}")
            else:
                self.say(f"removed the systemd user unit {unit} (disabling it failed: {outcome.said})")
            did = True
        if remove_file(entry):
            self.say(f"removed the autostart entry {entry}")
            if self._daemon_answers():
                self.say("the daemon it started still runs: `dictate ctl quit` ends it")
            did = True
        if not did:
            self.say("no dictate service is installed: nothing to remove")

    # -- start and stop --

    def start(self) -> bool:
        """Start the daemon: through the unit when one is installed and its manager answers, else in
        the background."""
        if unit_path(self.environ).exists() and manager_answers(self.environ).ok:
            return self._start_unit()
        if self._outside_daemon(quiet=True):
            self.say("the daemon is already running")
            return True
        return self.start_background()

    def stop(self) -> bool:
        """Stop the daemon: through the unit when it runs it, else `dictate ctl quit`."""
        if unit_path(self.environ).exists() and systemctl("is-active", "--quiet", UNIT_NAME, environ=self.environ).ok:
            outcome = systemctl("stop", UNIT_NAME, environ=self.environ)
            if not outcome.ok:
                self.say(f"`systemctl --user stop {UNIT_NAME}` failed ({outcome.said})")
                return False
            self.say("stopped the daemon (systemd)")
            return True
        if not self._daemon_answers():
            self.say("no dictate daemon is running")
            return True
        control.quit_daemon(control.socket_path(self.environ))
        self.say("the daemon finished what it held and exited")
        return True

    def start_background(self) -> bool:
        """Start `dictate run` detached from this terminal and session, its output appended to the log;
        wait until it answers, or say why it ended."""
        path = log_path(self.environ)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_size > LOG_LIMIT:
                    os.replace(path, path.with_name(path.name + ".1"))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise DictateError(f"cannot open the daemon's log {path}: {exc.strerror or exc}") from None
        try:
            process = subprocess.Popen(
                [*self.command, "run", *self.run_options],
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=fd,
                env=self.environ,
                cwd=self.environ.get("HOME") or "/",
                start_new_session=True,  # no terminal, no hangup when the shell that started it goes
            )
        except OSError as exc:
            raise DictateError(f"cannot start {self.command[0]}: {exc.strerror or exc}") from None
        finally:
            os.close(fd)
        started = self._wait_ready(lambda: process.poll() is not None, log=path)
        if started:
            self.say(f"started the daemon in the background (pid {process.pid}); its log: {path}")
        return started

    # -- status --

    def status(self) -> list[str]:
        """What is installed, whether the daemon runs, and where its log is."""
        lines = []
        unit, entry = unit_path(self.environ), autostart_path(self.environ)
        if unit.exists():
            enabled = systemctl("is-enabled", UNIT_NAME, environ=self.environ).said
            active = systemctl("is-active", UNIT_NAME, environ=self.environ).said
            lines.append(f"systemd user unit: {unit} ({enabled}, {active})")
        else:
            lines.append("systemd user unit: not installed")
        lines.append(f"autostart entry: {entry if entry.exists() else 'not installed'}")
        try:
            reply = control.send("status", control.socket_path(self.environ), timeout=2)
            lines.append(f"daemon: running, {reply.get('state', '?')}")
        except DictateError:
            lines.append("daemon: not running")
        lines.append(f"log: {journal_command() if unit.exists() else log_path(self.environ)}")
        return lines

    # -- helpers --

    def _daemon_answers(self) -> bool:
        try:
            control.send("status", control.socket_path(self.environ), timeout=2)
        except DictateError:
            return False
        return True

    def _outside_daemon(self, quiet: bool = False) -> bool:
        """Whether a daemon that is not the unit's already answers (starting another would fail)."""
        if not self._daemon_answers():
            return False
        if systemctl("is-active", "--quiet", UNIT_NAME, environ=self.environ).ok:
            return False  # the unit's own: a restart replaces it
        if not quiet:
            self.say(
                "not started now: a dictate daemon started by hand is running; "
                "end it with `dictate ctl quit`, then `dictate service start`"
            )
        return True

    def _wait_ready(self, ended: Callable[[], bool], log: Path | None = None) -> bool:
        """Wait until the daemon answers on its socket (True), or `ended()` says it failed (False, said)."""
        deadline = time.monotonic() + READY_WAIT
        while time.monotonic() < deadline:
            if self._daemon_answers():
                return True
            if ended():
                where = f"its log: {log}" if log else f"see `{journal_command()}`"
                last = last_line(log) if log else ""
                self.say("the daemon did not start" + (f": {last}" if last else "") + f"; {where}")
                return False
            time.sleep(0.2)
        self.say(f"the daemon did not answer within {READY_WAIT:g} s; " + (f"its log: {log}" if log else ""))
        return False


def journal_command() -> str:
    return f"journalctl --user -u {UNIT_NAME}"


def last_line(path: Path) -> str:
    """The last line of a log, without its "dictate: " prefix."""
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 4096))
            tail = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line for line in tail.splitlines() if line.strip()]
    return lines[-1].removeprefix("dictate: ").strip() if lines else ""
