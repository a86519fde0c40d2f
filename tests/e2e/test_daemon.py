"""`dictate run` as a user meets it: real hotkeys (xdotool on Xvfb), the virtual microphone, the local
server, and the text read back from a real window."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import write_config
from tests.rig import proc
from tests.rig.display import ClipboardOwner, TkTarget, VirtualDisplay, XtermTarget, XtestKeymap
from tests.rig.server import Reply, TranscriptionServer
from tests.rig.sound import VirtualMic, concat_clips
from tests.rig.speech import misheard

pytestmark = pytest.mark.rig

TEXT = "Hello from the test server."
PHRASE = "please write this down for me"
UNICODE = "Grüße aus Köln — “quotes”, 你好世界, émoji 😀👩‍👩‍👧 🇩🇪, ½ ≠ ∞ ✓"


@pytest.fixture
def daemon_env(home: Path, vmic: VirtualMic, xdisplay: VirtualDisplay) -> dict[str, str]:
    return proc.clean_env(home, {**vmic.env, "DISPLAY": xdisplay.name})


def configure(
    home: Path, server: TranscriptionServer, *, mode: str = "hold", output: str = "type", api: str = "", extra: str = ""
) -> None:
    write_config(
        home,
        f'[api]\nbase_url = "{server.base_url}"\n{api}'
        f'[hotkey]\nkeys = "f9"\nmode = "{mode}"\n'
        f'[output]\nmethod = "{output}"\n'
        "[feedback]\nsounds = false\nnotify = false\n" + extra,
    )


class Daemon:
    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.env = env
        self.run = proc.Running(["run", *args], env, stdin=None)
        self.run.wait_for_stderr("ready", timeout=30)

    def ctl(self, action: str) -> str:
        result = proc.run(["ctl", action], self.env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def wait_state(self, state: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not self.ctl("status").startswith(state):
            assert time.monotonic() < deadline, f"daemon never became {state}; stderr: {''.join(self.run.stderr_lines)}"
            time.sleep(0.02)

    def stop(self) -> tuple[int, str, str]:
        self.run.proc.send_signal(signal.SIGTERM)
        return self.run.finish(timeout=30)


@pytest.fixture
def start_daemon(daemon_env: dict[str, str]) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Daemon:
        daemon = Daemon(env or daemon_env, *args)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.run.proc.poll() is None:
            daemon.run.proc.terminate()  # let it put the keyboard back before the next test
            try:
                daemon.run.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.run.kill()


def history(env: dict[str, str]) -> list[dict[str, object]]:
    return json.loads(proc.run(["history", "--json"], env).stdout)


def test_hold_types_the_transcript_into_the_focused_window(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    xdisplay: VirtualDisplay,
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server)
    daemon = start_daemon()
    xdisplay.xdotool("keydown", "F9")
    daemon.wait_state("recording")
    vmic.play(clip(PHRASE))
    xdisplay.xdotool("keyup", "F9")
    assert tk_window.wait_for(TEXT + " ") == TEXT + " "
    (upload,) = server.uploads
    assert (upload.rate, upload.channels) == (16000, 1)
    assert upload.seconds is not None and upload.seconds > 2
    code, out, err = daemon.stop()
    assert code == 0, err
    assert out == ""  # typed, not printed
    (entry,) = history(daemon.env)
    assert entry["status"] == "delivered" and entry["text"] == TEXT
    assert entry["press_to_audio_ms"] is not None and entry["release_to_delivery_ms"] is not None


def test_real_speech_arrives_in_the_window(
    home: Path,
    start_daemon: Callable[..., Daemon],
    xdisplay: VirtualDisplay,
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    with TranscriptionServer(recognize=True) as server:
        configure(home, server)
        daemon = start_daemon()
        xdisplay.xdotool("keydown", "F9")
        daemon.wait_state("recording")
        vmic.play(clip("the quick brown fox jumps over the lazy dog"))
        xdisplay.xdotool("keyup", "F9")
        deadline = time.monotonic() + 20
        while not tk_window.text() and time.monotonic() < deadline:
            time.sleep(0.05)
        heard = server.uploads[0].recognized
    assert heard and misheard(heard, "the quick brown fox jumps over the lazy dog") <= 3, heard
    assert tk_window.wait_for(heard + " ") == heard + " "


def test_toggle_mode(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    xdisplay: VirtualDisplay,
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server, mode="toggle")
    daemon = start_daemon()
    xdisplay.xdotool("key", "F9")
    daemon.wait_state("recording")
    vmic.play(clip(PHRASE))
    assert daemon.ctl("status").startswith("recording")  # releasing the key did not stop it
    xdisplay.xdotool("key", "F9")
    assert tk_window.wait_for(TEXT + " ") == TEXT + " "
    assert len(server.uploads) == 1


def test_autorepeat_is_ignored(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    xdisplay: VirtualDisplay,
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server)
    subprocess.run(["xset", "r", "on", "r", "rate", "200", "30"], env=xdisplay.run_env(), check=True)
    try:
        daemon = start_daemon()
        xdisplay.xdotool("keydown", "F9")
        daemon.wait_state("recording")
        for _ in range(5):  # presses without releases, as a held key repeats
            xdisplay.xdotool("keydown", "F9")
        vmic.play(clip(PHRASE))  # the key is held for seconds while the server's autorepeat runs
        assert daemon.ctl("status").startswith("recording")
        xdisplay.xdotool("keyup", "F9")
        assert tk_window.wait_for(TEXT + " ") == TEXT + " "
        code, _, _ = daemon.stop()  # it finishes all it was given before it exits: nothing more can come
        assert code == 0
        assert len(server.uploads) == 1
        assert tk_window.text() == TEXT + " "
    finally:
        subprocess.run(["xset", "r", "off"], env=xdisplay.run_env(), check=False)


def test_cancel_drops_the_recording(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    xdisplay: VirtualDisplay,
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server)
    daemon = start_daemon()
    xdisplay.xdotool("keydown", "F9")
    daemon.wait_state("recording")
    vmic.play(clip(PHRASE))
    xdisplay.xdotool("key", "Escape")
    daemon.wait_state("idle")
    xdisplay.xdotool("keyup", "F9")
    daemon.run.wait_for_stderr("cancelled")
    code, _, _ = daemon.stop()  # it finishes all it was given before it exits: nothing more can come
    assert code == 0
    assert server.uploads == [] and tk_window.text() == ""


def test_a_tap_shorter_than_min_seconds_sends_nothing(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    xdisplay: VirtualDisplay,
    tk_window: TkTarget,
) -> None:
    configure(home, server, extra="[audio]\nmin_seconds = 0.5\n")
    daemon = start_daemon()
    xdisplay.xdotool("key", "F9")
    daemon.run.wait_for_stderr("too short")
    assert server.uploads == [] and tk_window.text() == ""


def test_ctl_socket_without_hotkey(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server)
    daemon = start_daemon("--no-hotkey")
    assert "no hotkey" in "".join(daemon.run.stderr_lines)
    assert daemon.ctl("status").startswith("idle")
    daemon.ctl("toggle")
    daemon.wait_state("recording")
    vmic.play(clip(PHRASE))
    daemon.ctl("toggle")
    assert tk_window.wait_for(TEXT + " ") == TEXT + " "
    daemon.ctl("start")
    vmic.play(clip("and a second time"))
    daemon.ctl("stop")
    assert tk_window.wait_for(2 * (TEXT + " ")) == 2 * (TEXT + " ")
    socket_path = Path(daemon.env["XDG_RUNTIME_DIR"]) / "dictate.sock"
    assert socket_path.stat().st_mode & 0o777 == 0o600
    assert daemon.stop()[0] == 0
    assert not socket_path.exists()
    result = proc.run(["ctl", "status"], daemon.env)
    assert result.returncode == 1 and "no dictate daemon is running" in result.stderr


@pytest.mark.parametrize("method", ["type", "paste"])
def test_unicode_arrives_exactly(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    xdisplay: VirtualDisplay,
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
    method: str,
) -> None:
    configure(home, server, output=method)
    server.queue(Reply(body={"text": UNICODE}))
    daemon = start_daemon("--no-hotkey")
    daemon.ctl("start")
    vmic.play(clip(PHRASE))
    daemon.ctl("stop")
    assert tk_window.wait_for(UNICODE + " ") == UNICODE + " "
    code, _, err = daemon.stop()  # SIGTERM right after typing
    assert code == 0, err
    keymap = XtestKeymap(xdisplay)
    try:
        assert keymap.differences() == {}  # the keys borrowed for typing are back
    finally:
        keymap.close()


def test_paste_restores_the_clipboard(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    xdisplay: VirtualDisplay,
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server, output="paste")
    owner = ClipboardOwner(xdisplay, b"what the user copied before")
    try:
        daemon = start_daemon("--no-hotkey")
        daemon.ctl("start")
        vmic.play(clip(PHRASE))
        daemon.ctl("stop")
        assert tk_window.wait_for(TEXT + " ") == TEXT + " "
        deadline = time.monotonic() + 10
        while xdisplay.read_clipboard() != b"what the user copied before" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert xdisplay.read_clipboard() == b"what the user copied before"
    finally:
        owner.stop()


def test_paste_into_xterm(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    xterm_window: XtermTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server, output="paste")
    server.queue(Reply(body={"text": "echo café > /dev/null"}))
    daemon = start_daemon("--no-hotkey")
    daemon.ctl("start")
    vmic.play(clip(PHRASE))
    daemon.ctl("stop")
    expected = "echo café > /dev/null ".encode()
    assert xterm_window.wait_for(expected).endswith(expected)
    assert b"\x16" not in xterm_window.received()  # no literal ^V from ctrl+v


def test_without_incremental_transcription_one_upload_at_release(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    configure(home, server, extra="[audio]\nincremental = false\n")
    sentences = [f"this is sentence number {n} of a longer dictation" for n in ("one", "two", "three")]
    speech = concat_clips([clip(s) for s in sentences], tmp_path / "long.wav", pause=1.0)
    daemon = start_daemon("--no-hotkey")
    daemon.ctl("start")
    vmic.play(speech)
    assert server.uploads == []  # nothing went up while speaking
    daemon.ctl("stop")
    assert tk_window.wait_for(TEXT + " ") == TEXT + " "
    (upload,) = server.uploads
    assert upload.seconds is not None and upload.seconds > sf.info(str(speech)).duration


def test_long_dictation_is_sent_in_parts_while_speaking(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    configure(home, server)
    sentences = [f"this is sentence number {n} of a longer dictation" for n in ("one", "two", "three", "four")]
    speech = concat_clips([clip(s) for s in sentences], tmp_path / "long.wav", pause=1.0)
    server.queue(*[Reply(body={"text": f"Part {n}."}) for n in range(1, 9)])
    daemon = start_daemon("--no-hotkey")
    daemon.ctl("start")
    vmic.play(speech)
    uploads_before_release = len(server.uploads)
    daemon.ctl("stop")
    count = len(server.wait_for_uploads(uploads_before_release + 1))
    expected = " ".join(f"Part {n}." for n in range(1, count + 1)) + " "
    assert tk_window.wait_for(expected) == expected
    assert uploads_before_release >= 1  # parts went up while the person was still talking
    total = sum(u.seconds or 0 for u in server.uploads)
    duration = sf.info(str(speech)).duration
    assert total > duration  # every part of what was said was sent, none twice beyond the silence around it
    (entry,) = history(proc.clean_env(home))
    assert entry["text"] == expected.strip()


def test_sigterm_while_recording_keeps_the_dictation(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server)
    daemon = start_daemon("--no-hotkey")
    daemon.ctl("start")
    vmic.play(clip(PHRASE))
    code, out, err = daemon.stop()  # SIGTERM in the middle of the recording
    assert code == 0, err
    assert out == TEXT + "\n"  # finished and printed, not typed into whatever has the focus now
    assert tk_window.text() == ""
    (entry,) = history(daemon.env)
    assert entry["status"] == "delivered" and entry["text"] == TEXT


def test_sigkill_during_upload_then_retry(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server)
    server.queue(Reply(body={"text": "never delivered"}, delay=5))
    daemon = start_daemon("--no-hotkey")
    daemon.ctl("start")
    vmic.play(clip(PHRASE))
    daemon.ctl("stop")
    server.wait_for_uploads(1)
    daemon.run.proc.kill()  # SIGKILL while the server is still answering
    daemon.run.proc.wait()
    retry = proc.run(["retry", "--all"], daemon.env)
    assert retry.returncode == 0, retry.stderr
    assert retry.stdout == TEXT + "\n"
    assert proc.run(["retry", "--all"], daemon.env).stdout == ""  # exactly once
    (entry,) = history(daemon.env)
    assert entry["status"] == "delivered" and entry["text"] == TEXT
    assert tk_window.text() == ""


def test_failed_dictation_is_retried_in_the_background(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server, api="max_retries = 0\n")
    server.queue(Reply(503, {"error": "down for a moment"}))
    daemon = start_daemon("--no-hotkey")
    daemon.ctl("start")
    vmic.play(clip(PHRASE))
    daemon.ctl("stop")
    daemon.run.wait_for_stderr("dictate retry 1")
    daemon.run.wait_for_stderr("dictation 1 recovered", timeout=30)
    assert tk_window.text() == ""  # not typed: the focus has moved on
    (entry,) = history(daemon.env)
    assert entry["status"] == "done" and entry["text"] == TEXT


def test_cues_are_played(
    home: Path,
    server: TranscriptionServer,
    start_daemon: Callable[..., Daemon],
    vmic: VirtualMic,
    tk_window: TkTarget,
    clip: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    configure(home, server)
    config = home / ".config/dictate/config.toml"
    config.write_text(config.read_text().replace("sounds = false", "sounds = true\nvolume = 0.5"))
    daemon = start_daemon("--no-hotkey")
    recording = tmp_path / "heard.wav"
    capture = vmic.record(recording)
    try:
        daemon.ctl("start")
        vmic.play(clip(PHRASE))
        daemon.ctl("stop")
        tk_window.wait_for(TEXT + " ")
        time.sleep(0.5)
    finally:
        capture.terminate()
        capture.wait()
    audio, rate = sf.read(recording, dtype="float32")
    frame = int(0.03 * rate)
    frames = audio[: len(audio) // frame * frame].reshape(-1, frame)
    spectra = np.abs(np.fft.rfft(frames * np.hanning(frame), axis=1)) ** 2
    freqs = np.fft.rfftfreq(frame, 1 / rate)
    total = spectra.sum(axis=1) + 1e-12

    def tone_frames(hz: float) -> int:
        """Frames whose energy is almost all within 60 Hz of `hz`: a pure tone, not speech."""
        band = spectra[:, (freqs > hz - 60) & (freqs < hz + 60)].sum(axis=1)
        return int(np.count_nonzero((band / total > 0.9) & (total > 1e-3)))

    # The start cue rises 660 -> 880 Hz, the stop cue falls 880 -> 660 Hz: a frame or more of each.
    assert tone_frames(660) >= 1 and tone_frames(880) >= 1
    assert tone_frames(1500) == 0  # speech never looks like a pure tone
