"""`dictate notes` hands-free through the virtual microphone: utterances become ordered, timestamped lines."""

from __future__ import annotations

import itertools
import re
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.rig import proc
from tests.rig.server import Reply, TranscriptionServer
from tests.rig.sound import VirtualMic, concat_clips
from tests.rig.speech import misheard

pytestmark = pytest.mark.rig

# Of clearly different lengths (about 2, 3 and 4.5 s in flite's voice), so each entry is known as its
# own phrase by the length of its recording, whatever the recognizer made of the words.
PHRASES = [
    "the first note is about apples",
    "the second note is about bread and butter with honey",
    "the third note is about cheese from the old market down by the river",
]
LINE = re.compile(r"^- (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (.+)$")


@pytest.fixture
def three_phrases(clip: Callable[[str], Path], tmp_path: Path) -> Path:
    return concat_clips([clip(p) for p in PHRASES], tmp_path / "three.wav", pause=2.0)


def configure(home: Path, base_url: str) -> None:
    write_config(home, f'[api]\nbase_url = "{base_url}"\nmax_retries = 0\n[notes]\npause_seconds = 0.8\n')


def wait_for_lines(path: Path, count: int, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.2)
    raise AssertionError(f"expected {count} lines in {path}, got: {path.read_text() if path.exists() else None!r}")


def entries(lines: list[str]) -> list[tuple[str, str]]:
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    return [(m.group(1), m.group(2)) for m in parsed if m]


def test_three_phrases_become_three_ordered_entries(
    home: Path, mic_env: dict[str, str], vmic: VirtualMic, three_phrases: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "meeting.md"
    with TranscriptionServer(recognize=True) as server:
        configure(home, server.base_url)
        run = proc.Running(["notes", str(notes), "--no-hotkey"], mic_env)
        try:
            run.wait_for_stderr("listening")
            vmic.play(three_phrases)
            lines = wait_for_lines(notes, 3)
            run.proc.send_signal(signal.SIGINT)
            code, out, err = run.finish(timeout=30)
        finally:
            run.kill()
    assert code == 0, err
    assert out == ""
    got = entries(lines)
    assert len(got) == 3 and len(server.uploads) == 3
    stamps = [stamp for stamp, _ in got]
    assert stamps == sorted(stamps)
    assert [text for _, text in got] == [upload.recognized for upload in server.uploads]  # exactly as heard
    # Each entry is its own phrase, in the order spoken: the recordings grow as the phrases do.
    lengths = [upload.seconds or 0.0 for upload in server.uploads]
    assert all(later - earlier > 0.5 for earlier, later in itertools.pairwise(lengths)), lengths
    # and the words were really recognized (pocketsphinx through the live microphone mishears some)
    assert misheard(" ".join(text for _, text in got), " ".join(PHRASES)) <= len(" ".join(PHRASES).split()) // 3, got


def test_entries_wait_while_the_endpoint_is_down(
    home: Path, mic_env: dict[str, str], vmic: VirtualMic, three_phrases: Path, tmp_path: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    configure(home, f"http://127.0.0.1:{port}/v1")
    notes = tmp_path / "notes.md"
    notes.write_text("earlier note without a final newline")
    run = proc.Running(["notes", str(notes), "--no-hotkey"], mic_env)
    try:
        run.wait_for_stderr("listening")
        vmic.play(three_phrases)
        run.wait_for_stderr("trying again")
        assert notes.read_text() == "earlier note without a final newline"  # nothing yet, nothing corrupted
        server = TranscriptionServer(text="unused", port=port)
        server.queue(Reply(body={"text": "One."}), Reply(body={"text": "Two."}), Reply(body={"text": "Three."}))
        with server:
            lines = wait_for_lines(notes, 4)
            run.proc.send_signal(signal.SIGINT)
            code, _, err = run.finish(timeout=30)
    finally:
        run.kill()
    assert code == 0, err
    assert lines[0] == "earlier note without a final newline"
    assert [text for _, text in entries(lines[1:])] == ["One.", "Two.", "Three."]


def test_pause_and_resume_through_ctl(
    home: Path,
    mic_env: dict[str, str],
    vmic: VirtualMic,
    server: TranscriptionServer,
    clip: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    configure(home, server.base_url)
    notes = tmp_path / "notes.md"
    run = proc.Running(["notes", str(notes), "--no-hotkey"], mic_env)
    try:
        run.wait_for_stderr("listening")
        paused = proc.run(["ctl", "pause"], mic_env)
        assert paused.returncode == 0, paused.stderr
        run.wait_for_stderr("paused")
        vmic.play(clip("nobody should hear this"))
        assert proc.run(["ctl", "status", "--notes"], mic_env).stdout.startswith("paused")
        assert proc.run(["ctl", "resume"], mic_env).returncode == 0
        run.wait_for_stderr("listening", timeout=10)
        vmic.play(clip("this one counts"))
        lines = wait_for_lines(notes, 1)
        run.proc.send_signal(signal.SIGINT)
        code, _, err = run.finish(timeout=30)
    finally:
        run.kill()
    assert code == 0, err
    # It has sent all it heard before it exited: one utterance, the one after resume.
    assert len(lines) == 1 and len(server.uploads) == 1


def test_ctrl_c_finishes_the_utterance_in_progress(
    home: Path,
    mic_env: dict[str, str],
    vmic: VirtualMic,
    server: TranscriptionServer,
    clip: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    configure(home, server.base_url)
    notes = tmp_path / "notes.md"
    run = proc.Running(["notes", str(notes), "--no-hotkey"], mic_env)
    try:
        run.wait_for_stderr("listening")
        vmic.play(clip("interrupted before the pause"))
        run.proc.send_signal(signal.SIGINT)  # no pause after the words yet: the utterance is still open
        code, _, err = run.finish(timeout=30)
    finally:
        run.kill()
    assert code == 0, err
    assert len(entries(notes.read_text().splitlines())) == 1
    assert "1 note(s) written" in err
