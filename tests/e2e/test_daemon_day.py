"""The daemon as a user lives with it every day: the status feed a desktop bar reads, `dictate ctl quit`,
the daemon's stdout read line by line, and its short "ready" line. Real hotkeys (xdotool on Xvfb),
the virtual microphone, the local server, the text read back from a real window."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.rig import proc
from tests.rig.display import TkTarget, VirtualDisplay
from tests.rig.server import Reply, TranscriptionServer
from tests.rig.sound import VirtualMic

pytestmark = pytest.mark.rig

TEXT = "Hello from the test server."
PHRASE = "please write this down for me"


@pytest.fixture
def env(home: Path, vmic: VirtualMic, xdisplay: VirtualDisplay) -> dict[str, str]:
    return proc.clean_env(home, {**vmic.env, "DISPLAY": xdisplay.name})


def configure(home: Path, server: TranscriptionServer, *, output: str = "type", api: str = "") -> None:
    write_config(
        home,
        f'[api]\nbase_url = "{server.base_url}"\n{api}'
        f'[hotkey]\nkeys = "f9"\n[output]\nmethod = "{output}"\n'
        "[feedback]\nsounds = false\nnotify = false\n",
    )


class Lines:
    """A process whose stdout lines can be awaited (stderr kept too)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            proc.dictate_cmd(*args),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=proc.ROOT,
        )
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.seen: list[str] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def wait_for_stderr(self, needle: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(needle in line for line in self.stderr):
            assert time.monotonic() < deadline and self.proc.poll() is None, "".join(self.stderr)
            time.sleep(0.05)

    def next(self, timeout: float = 20) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line in {timeout} s; seen {self.seen}; stderr {''.join(self.stderr)}") from None
        self.seen.append(line)
        return line

    def next_json(self, timeout: float = 20) -> dict[str, str]:
        line = self.next(timeout)
        assert line.endswith("\n")
        value: dict[str, str] = json.loads(line)
        return value

    def wait(self, timeout: float = 10) -> int:
        """Wait for the exit; its code, with all of stderr read."""
        code = self.proc.wait(timeout=timeout)
        self._stderr_reader.join(timeout=5)
        return code


@pytest.fixture
def started() -> Iterator[list[proc.Running | Lines]]:
    processes: list[proc.Running | Lines] = []
    yield processes
    for p in processes:
        if p.proc.poll() is None:
            p.proc.terminate()
            try:
                p.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait()


def run_daemon(env: dict[str, str], started: list[proc.Running | Lines], *args: str) -> proc.Running:
    daemon = proc.Running(["run", *args], env, stdin=None)
    started.append(daemon)
    daemon.wait_for_stderr("ready", timeout=30)
    return daemon


def wait_state(env: dict[str, str], state: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not proc.run(["ctl", "status"], env).stdout.startswith(state):
        assert time.monotonic() < deadline, f"the daemon never became {state}"
        time.sleep(0.02)


def test_the_status_feed_follows_a_push_to_talk_an_error_and_a_restart(
    home: Path,
    env: dict[str, str],
    server: TranscriptionServer,
    started: list[proc.Running | Lines],
    xdisplay: VirtualDisplay,
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server, api="max_retries = 0\n")
    daemon = run_daemon(env, started)
    feed = Lines(["ctl", "status", "--follow", "--json"], env)
    started.append(feed)
    first = feed.next_json()
    assert first == {"text": "idle", "alt": "idle", "class": "idle", "tooltip": "dictate: idle; 0 delivered"}

    server.queue(Reply(body={"text": TEXT}, delay=1.0))  # long enough to be seen transcribing
    xdisplay.xdotool("keydown", "F9")
    assert feed.next_json()["class"] == "recording"
    vmic.play(clip(PHRASE))
    xdisplay.xdotool("keyup", "F9")
    transcribing = feed.next_json()
    assert transcribing["class"] == transcribing["alt"] == "transcribing"
    assert transcribing["tooltip"] == "dictate: transcribing; 1 being transcribed; 0 delivered"
    assert feed.next_json() == {**first, "tooltip": "dictate: idle; 1 delivered"}
    assert tk_window.wait_for(TEXT + " ") == TEXT + " "

    # A failure is shown until the next recording.
    server.queue(Reply(500, {"error": {"message": "the model is on fire"}}))
    xdisplay.xdotool("keydown", "F9")
    assert feed.next_json()["class"] == "recording"
    vmic.play(clip(PHRASE))
    xdisplay.xdotool("keyup", "F9")
    assert feed.next_json()["class"] == "transcribing"
    error = feed.next_json()
    assert error["class"] == error["alt"] == error["text"] == "error"
    assert "last error: HTTP 500" in error["tooltip"] and "the model is on fire" in error["tooltip"]

    # The daemon goes away: the feed says so, waits, and follows the next one.
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.finish(timeout=30)[0] == 0
    stopped = {"text": "off", "alt": "stopped", "class": "stopped", "tooltip": "dictate is not running"}
    assert feed.next_json() == stopped
    run_daemon(env, started)
    assert feed.next_json()["class"] == "idle"
    assert feed.proc.poll() is None
    stderr = "".join(feed.stderr)
    assert "the daemon stopped; waiting for it to start again" in stderr

    # Ctrl-C ends it at once, without a traceback.
    feed.proc.send_signal(signal.SIGINT)
    assert feed.wait() == 130
    assert "Traceback" not in "".join(feed.stderr)


def test_the_status_feed_ends_when_its_reader_goes_away(
    home: Path, env: dict[str, str], server: TranscriptionServer, started: list[proc.Running | Lines]
) -> None:
    """A bar that exits closes the pipe: the follower ends at once, quietly, though nothing changes."""
    configure(home, server)
    run_daemon(env, started, "--no-hotkey")
    read, write = os.pipe()
    follower = subprocess.Popen(
        proc.dictate_cmd("ctl", "status", "--follow"),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        cwd=proc.ROOT,
    )
    os.close(write)
    with os.fdopen(read, "rb") as reader:
        assert reader.readline() == b"idle\n"  # plain text, one line per change (polybar's tail = true)
    code = follower.wait(timeout=10)  # the daemon stays idle: only the closed pipe ends it
    assert follower.stderr is not None
    assert (code, follower.stderr.read()) == (0, "")


def test_ctl_quit_finishes_the_recording_types_it_and_exits(
    home: Path,
    env: dict[str, str],
    server: TranscriptionServer,
    started: list[proc.Running | Lines],
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server)
    server.queue(Reply(body={"text": TEXT}, delay=2.0))  # longer than a signal's bounded exit
    daemon = run_daemon(env, started, "--no-hotkey")
    proc.run(["ctl", "start"], env)
    wait_state(env, "recording")
    vmic.play(clip(PHRASE))
    quit_ = proc.run(["ctl", "quit"], env)  # holding a recording, the server slow to answer
    assert (quit_.returncode, quit_.stdout) == (0, "")
    assert quit_.stderr == "dictate: the daemon finished what it held and exited\n"
    assert tk_window.wait_for(TEXT + " ") == TEXT + " "
    code, out, err = daemon.finish(timeout=10)
    assert (code, out) == (0, ""), err  # typed, not printed
    (upload,) = server.uploads
    assert upload.seconds is not None and upload.seconds > 2
    entries = json.loads(proc.run(["history", "--json"], env).stdout)
    assert [(e["status"], e["text"]) for e in entries] == [("delivered", TEXT)]
    again = proc.run(["ctl", "quit"], env)
    assert again.returncode == 1 and "no dictate daemon is running" in again.stderr


def test_the_daemon_prints_one_line_per_dictation_as_it_goes(
    home: Path,
    env: dict[str, str],
    server: TranscriptionServer,
    started: list[proc.Running | Lines],
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    """A line reader of the daemon's stdout gets each text while the daemon still runs."""
    configure(home, server, output="stdout")
    server.queue(Reply(body={"text": "first dictation"}), Reply(body={"text": "second one"}))
    daemon = Lines(["run", "--no-hotkey"], env)
    started.append(daemon)
    daemon.wait_for_stderr("ready")
    for expected in ("first dictation\n", "second one\n"):
        proc.run(["ctl", "start"], env)
        vmic.play(clip(PHRASE))
        proc.run(["ctl", "stop"], env)
        assert daemon.next() == expected
    assert daemon.proc.poll() is None


def test_the_ready_line_is_short_and_the_details_are_under_v(
    home: Path, env: dict[str, str], server: TranscriptionServer, started: list[proc.Running | Lines]
) -> None:
    configure(home, server)
    daemon = run_daemon(env, started)
    ready = daemon.wait_for_stderr("ready")
    assert ready == "dictate: ready: hold f9 to dictate, esc cancels\n"
    verbose = run_daemon_verbose(env, started, daemon)
    assert "microphone: " in verbose and "engine: 127.0.0.1" in verbose and "output: type: X11 session" in verbose


def run_daemon_verbose(env: dict[str, str], started: list[proc.Running | Lines], first: proc.Running) -> str:
    first.proc.send_signal(signal.SIGTERM)
    first.finish(timeout=30)
    daemon = proc.Running(["-v", "run"], env, stdin=None)
    started.append(daemon)
    daemon.wait_for_stderr("ready", timeout=30)
    return daemon.wait_for_stderr("microphone: ")


def test_the_status_feed_of_notes_shows_it_paused(
    home: Path, mic_env: dict[str, str], server: TranscriptionServer, started: list[proc.Running | Lines]
) -> None:
    configure(home, server)
    notes = proc.Running(["notes", "--output", "stdout", "--no-hotkey"], mic_env)
    started.append(notes)
    notes.wait_for_stderr("listening on")
    feed = Lines(["ctl", "status", "--notes", "--follow", "--json"], mic_env)
    started.append(feed)
    assert feed.next_json()["class"] == "recording"  # listening for utterances
    assert proc.run(["ctl", "pause"], mic_env).returncode == 0
    paused = feed.next_json()
    assert (paused["class"], paused["tooltip"]) == ("paused", "dictate notes: paused; 0 delivered")
    assert proc.run(["ctl", "resume"], mic_env).returncode == 0
    assert feed.next_json()["class"] == "recording"


def test_when_its_display_goes_away_the_daemon_ends_with_one_line(
    home: Path, server: TranscriptionServer, vmic: VirtualMic, tmp_path: Path
) -> None:
    """The X server gone (a session ended, a crash): pynput's listener died with two tracebacks and
    the daemon went on deaf, saying nothing. Now one line, and a failure exit the service restarts."""
    display = VirtualDisplay(tmp_path / "display")
    display.start()
    try:
        write_config(
            home,
            f'[api]\nbase_url = "{server.base_url}"\n[hotkey]\nkeys = "f9"\n'
            "[feedback]\nsounds = false\nnotify = false\n",
        )
        env = proc.clean_env(home, {**vmic.env, "DISPLAY": display.name})
        run = proc.Running(["run"], env, stdin=None)
        run.wait_for_stderr("ready", timeout=30)
    finally:
        display.stop()
    code, out, err = run.finish(timeout=30)
    assert code == 1, err
    assert "Traceback" not in err and out == ""
    assert err.splitlines()[-1] == "dictate: the key listener stopped (did the X display go away?)"


def test_a_runtime_folder_cleaned_away_is_made_again_and_no_second_daemon_starts(
    home: Path, server: TranscriptionServer, vmic: VirtualMic, xdisplay: VirtualDisplay
) -> None:
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\n[feedback]\nsounds = false\nnotify = false\n')
    env = proc.clean_env(home, {**vmic.env, "DISPLAY": xdisplay.name})
    first = proc.Running(["run", "--no-hotkey"], env, stdin=None)
    try:
        first.wait_for_stderr("ready", timeout=30)
        runtime = Path(env["XDG_RUNTIME_DIR"])
        shutil.rmtree(runtime)  # a cleaner of the folder, or a session's end
        deadline = time.monotonic() + 30
        while proc.run(["ctl", "status"], env).returncode != 0:
            assert time.monotonic() < deadline, "the daemon never made its socket again"
            time.sleep(0.2)
        second = proc.run(["run", "--no-hotkey"], env, timeout=60)
        assert second.returncode != 0 and "another dictate daemon is running" in second.stderr
    finally:
        first.proc.terminate()
        first.finish(timeout=30)
