"""Missing and broken devices through the real stack: no sound server, a device that does not exist,
no display, a bad display, a Wayland display with no compositor. Each problem is one line saying
what to do, the same words in `run`, `once`, `notes`, `devices` and `doctor`, and nothing starts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.e2e.test_doctor import lines_of
from tests.rig import proc
from tests.rig.display import VirtualDisplay
from tests.rig.sound import VirtualMic

pytestmark = pytest.mark.rig

QUIET = '[feedback]\nsounds = false\nnotify = false\n[api]\nbase_url = "http://127.0.0.1:9/v1"\n'
NO_MICROPHONE = "no microphone found; connect a microphone, and check that PulseAudio or PipeWire runs (`pactl info`)"


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The one stderr line of a command that refused to start."""
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dictate: ")
    assert "Error" not in lines[0] and "Traceback" not in result.stderr  # no library's types or traces
    return lines[0].removeprefix("dictate: ")


def commands(*run_args: str) -> list[list[str]]:
    """Every command that records, and how each is started here (stdin closed, for once)."""
    return [["once"], ["notes", "--no-hotkey"], ["run", *run_args]]


def run_all(env: dict[str, str], *run_args: str) -> list[subprocess.CompletedProcess[str]]:
    return [
        subprocess.run(
            proc.dictate_cmd(*args),
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=proc.ROOT,
        )
        for args in commands(*run_args)
    ]


@pytest.fixture
def no_sound_env(home: Path) -> dict[str, str]:
    write_config(home, QUIET + '[output]\nmethod = "stdout"\n')
    return proc.clean_env(home, {"PULSE_SERVER": "unix:/nonexistent/pulse/native"})


def test_no_sound_server_is_one_line_everywhere(no_sound_env: dict[str, str]) -> None:
    for result in run_all(no_sound_env, "--no-hotkey"):
        assert one_line(result, 1) == NO_MICROPHONE
        assert "ready" not in result.stderr and "listening" not in result.stderr
    assert one_line(proc.run(["devices"], no_sound_env), 1) == NO_MICROPHONE
    doctor = proc.run(["doctor"], no_sound_env)
    checks = lines_of(doctor.stdout)
    what, fix = NO_MICROPHONE.split("; ", 1)
    assert checks["microphone"] == f"FAIL microphone {what}\n                fix: {fix}"


def test_a_device_that_does_not_exist_is_one_line_everywhere(home: Path, vmic: VirtualMic) -> None:
    write_config(home, QUIET + '[output]\nmethod = "stdout"\n[audio]\ndevice = "no-such-microphone"\n')
    env = proc.clean_env(home, vmic.env)
    expected = "[audio] device 'no-such-microphone' matches no input device; input devices: ["
    for result in run_all(env, "--no-hotkey"):
        assert one_line(result, 2).startswith(expected)
    doctor = lines_of(proc.run(["doctor"], env).stdout)
    assert doctor["microphone"].startswith(f"FAIL microphone {expected}")


@pytest.mark.parametrize(
    ("display", "method", "line"),
    [
        (
            None,
            "auto",
            "the hotkey needs an X display: no X display: DISPLAY is not set; run dictate inside your desktop "
            "session, or set DISPLAY to its display (`echo $DISPLAY` there); or run `dictate run --no-hotkey` "
            "and bind a key of your desktop to `dictate ctl toggle`",
        ),
        (
            "bogus",
            "type",
            "DISPLAY=bogus is not an X display name; set DISPLAY to one like :0",
        ),
        (
            ":917",
            "type",
            "cannot connect to X display :917 (connection refused); run dictate inside your desktop session, "
            "or set DISPLAY to its display (`echo $DISPLAY` there)",
        ),
    ],
)
def test_no_display_or_a_bad_one_is_one_line(
    home: Path, vmic: VirtualMic, display: str | None, method: str, line: str
) -> None:
    write_config(home, QUIET + f'[output]\nmethod = "{method}"\n')
    env = proc.clean_env(home, {**vmic.env, **({"DISPLAY": display} if display else {})})
    assert one_line(proc.run(["run"], env, timeout=60), 1) == line
    if method == "type":
        notes = proc.run(["notes", "--no-hotkey", "--output", "type"], env, timeout=60)
        assert one_line(notes, 1) == line
    what, fix = line.split("; ", 1)
    doctor = lines_of(proc.run(["doctor"], env, timeout=60).stdout)
    check = doctor["hotkey"] if display is None else doctor["display"]
    assert check.startswith(f"FAIL {'hotkey' if display is None else 'display'}")
    assert what in check and fix in check


def test_wayland_display_without_a_compositor_is_one_line(home: Path, vmic: VirtualMic) -> None:
    write_config(home, QUIET + '[output]\nmethod = "type"\n')
    env = proc.clean_env(home, {**vmic.env, "WAYLAND_DISPLAY": "wayland-nobody"})
    socket = Path(env["XDG_RUNTIME_DIR"]) / "wayland-nobody"
    line = (
        f"no Wayland compositor answers at {socket} (no such file or directory); "
        "run dictate inside your Wayland session, or unset WAYLAND_DISPLAY"
    )
    assert one_line(proc.run(["run", "--no-hotkey"], env, timeout=60), 1) == line
    doctor = lines_of(proc.run(["doctor"], env, timeout=60).stdout)
    assert doctor["display"].startswith(f"FAIL display    {line.split('; ', maxsplit=1)[0]}")


def test_a_healthy_display_and_microphone_start(home: Path, vmic: VirtualMic, xdisplay: VirtualDisplay) -> None:
    """The checks pass where the devices are there: with -v the daemon says which microphone it records
    from (the "ready" line itself stays short)."""
    write_config(home, QUIET + '[output]\nmethod = "type"\n[hotkey]\nkeys = "f9"\n')
    daemon = proc.Running(["-v", "run"], proc.clean_env(home, {**vmic.env, "DISPLAY": xdisplay.name}), stdin=None)
    try:
        assert daemon.wait_for_stderr("ready", timeout=30) == "dictate: ready: hold f9 to dictate, esc cancels\n"
        line = daemon.wait_for_stderr("microphone: ")
        assert "output: type: X11 session" in line and "XTEST" in line
    finally:
        daemon.proc.terminate()
        code, _, err = daemon.finish(timeout=30)
    assert code == 0, err
