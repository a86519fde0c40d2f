"""The note taker's loop with a fake microphone and engine: utterances cut at pauses become ordered
lines; a pause keeps the utterance in progress; an endpoint that is down is waited for."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from dictate import notes
from dictate.config import from_dict
from dictate.dictation import Pipeline
from dictate.errors import DictateError
from dictate.notes import NotesFile, NoteTaker
from dictate.store import History
from tests.fakes import FakeEngine, FakeMicrophone, down, microphones, silence, speech
from tests.rig.disk import fill, small_disk


class Lines:
    def __init__(self) -> None:
        self.written: list[tuple[datetime, str]] = []
        self.closed = False

    def write(self, started: datetime, text: str) -> None:
        self.written.append((started, text))

    def close(self) -> None:
        self.closed = True


def taker(tmp_path: Path, *mics: FakeMicrophone, engine: FakeEngine, sink: notes.Sink | None = None) -> NoteTaker:
    cfg = from_dict({"notes": {"pause_seconds": 0.5}})
    pipeline = Pipeline(cfg, engine, History.open(cfg.history, folder=tmp_path / "data"), keep_claims=True)
    t = NoteTaker(cfg, pipeline, sink or Lines(), microphone=microphones(*mics))
    t.started()
    return t


def steps_until(t: NoteTaker, done: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the note taker never got there"
        t.step()


def three_utterances() -> np.ndarray:
    return np.concatenate([silence(0.5), speech(1.0), silence(1.0), speech(0.8, 400), silence(1.0), speech(0.6, 500)])


def test_utterances_become_lines_in_order_with_their_times(tmp_path: Path) -> None:
    mic = FakeMicrophone(np.concatenate([three_utterances(), silence(1.0)]))
    engine = FakeEngine("One.", "Two.", "Three.")
    t = taker(tmp_path, mic, engine=engine)
    steps_until(t, lambda: len(t.sink.written) == 3)  # type: ignore[attr-defined]
    t.finished()
    written = t.sink.written  # type: ignore[attr-defined]
    assert [text for _, text in written] == ["One.", "Two.", "Three."]
    starts = [when for when, _ in written]
    assert starts == sorted(starts)
    gap = (starts[1] - starts[0]).total_seconds()
    assert gap == pytest.approx(2.0, abs=0.4)  # 1 s of speech and 1 s of pause, by the stream's own clock
    assert t.pipeline.history is not None
    assert [e.status for e in t.pipeline.history.entries()] == ["delivered"] * 3


def test_pausing_keeps_the_utterance_in_progress(tmp_path: Path) -> None:
    mic = FakeMicrophone(speech(1.0), then=None)
    engine = FakeEngine("Cut short by a pause.")
    t = taker(tmp_path, mic, engine=engine)
    steps_until(t, lambda: mic.exhausted)
    t.post("pause")
    steps_until(t, lambda: t.paused)
    assert mic.closed == 1 and t.listening is None
    steps_until(t, lambda: len(t.sink.written) == 1)  # type: ignore[attr-defined]
    t.finished()
    assert t.sink.written[0][1] == "Cut short by a pause."  # type: ignore[attr-defined]


def test_resume_opens_the_microphone_again(tmp_path: Path) -> None:
    first, second = FakeMicrophone(silence(0.2), then=None), FakeMicrophone(speech(0.8))
    t = taker(tmp_path, first, second, engine=FakeEngine("After the break."))
    t.post("pause")
    steps_until(t, lambda: t.paused)
    t.post("resume")
    steps_until(t, lambda: not t.paused and t.listening is not None)
    steps_until(t, lambda: len(t.sink.written) == 1)  # type: ignore[attr-defined]
    t.finished()
    assert (first.opened, first.closed, second.opened) == (1, 1, 1)


def test_an_endpoint_that_is_down_is_waited_for_and_order_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notes, "RETRY_FIRST", 0.05)
    mic = FakeMicrophone(np.concatenate([three_utterances(), silence(1.0)]))
    engine = FakeEngine(down(), down(), "One.", "Two.", "Three.")
    t = taker(tmp_path, mic, engine=engine)
    steps_until(t, lambda: len(t.sink.written) == 3)  # type: ignore[attr-defined]
    t.finished()
    assert [text for _, text in t.sink.written] == ["One.", "Two.", "Three."]  # type: ignore[attr-defined]
    assert len(engine.received) == 5


def test_stopping_with_the_endpoint_down_leaves_the_utterance_in_the_spool(tmp_path: Path) -> None:
    mic = FakeMicrophone(np.concatenate([speech(1.0), silence(1.0)]))
    engine = FakeEngine(*[down() for _ in range(10)])
    t = taker(tmp_path, mic, engine=engine)
    steps_until(t, lambda: len(engine.received) >= 1)
    t.finished()
    assert t.pipeline.history is not None
    (entry,) = t.pipeline.history.pending()
    assert entry.status == "failed" and entry.source == "notes"
    assert t.sink.written == []  # type: ignore[attr-defined]


def test_the_notes_file_gets_whole_lines_and_mends_a_missing_newline(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("edited by hand")
    sink = NotesFile(path)
    sink.write(datetime(2026, 12, 1, 9, 30, 5), "First note.")
    sink.write(datetime(2026, 12, 1, 9, 31, 0), "Second note.")
    sink.close()
    assert path.read_text() == (
        "edited by hand\n- 2026-12-01 09:30:05 First note.\n- 2026-12-01 09:31:00 Second note.\n"
    )


def test_notes_go_to_the_file_an_editor_saved_over_the_old_one(tmp_path: Path) -> None:
    """Editors save by writing a new file and renaming it over the old one: the notes after that
    once went to the replaced file, gone from every folder, while the history said delivered."""
    path = tmp_path / "notes.md"
    sink = NotesFile(path)
    sink.write(datetime(2026, 12, 1, 9, 30, 5), "First note.")
    saved = tmp_path / ".notes.md.swp"
    saved.write_text(path.read_text() + "a line typed in the editor\n")
    os.replace(saved, path)
    sink.write(datetime(2026, 12, 1, 9, 31, 0), "Second note.")
    sink.close()
    assert path.read_text() == (
        "- 2026-12-01 09:30:05 First note.\na line typed in the editor\n- 2026-12-01 09:31:00 Second note.\n"
    )


@pytest.mark.parametrize("kind", ["pipe", "folder"])
def test_a_notes_file_that_is_not_a_file_is_one_line_at_start(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "notes.md"
    if kind == "pipe":
        os.mkfifo(path)  # nobody reads it: `dictate notes` once waited for ever, silently
    else:
        path.mkdir()
    with pytest.raises(DictateError) as info:
        NotesFile(path)
    expected = {
        "pipe": f"the notes file {path} is a pipe, not a regular file",
        "folder": f"cannot open the notes file {path}: Is a directory",
    }[kind]
    assert info.value.message == expected


def test_a_full_disk_leaves_no_half_note_and_says_so(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", 64) as disk:
        path = disk / "notes.md"
        sink = NotesFile(path)
        sink.write(datetime(2026, 12, 1, 9, 30, 5), "First note.")
        fill(disk, leave=0)
        with pytest.raises(DictateError) as info:
            sink.write(datetime(2026, 12, 1, 9, 31, 0), "A long second note. " * 500)
        assert info.value.message == f"cannot add the note to {path}: No space left on device"
        (disk / "filler").unlink()
        sink.write(datetime(2026, 12, 1, 9, 32, 0), "Third note.")
        assert path.read_text() == "- 2026-12-01 09:30:05 First note.\n- 2026-12-01 09:32:00 Third note.\n"


def test_a_new_notes_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "notes.md"
    NotesFile(path).close()
    assert path.stat().st_mode & 0o777 == 0o600


def test_stopping_while_the_server_hangs_leaves_at_once_with_the_utterances_in_the_spool(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hang = threading.Event()

    def hanging(_recording: object) -> str:
        hang.wait(20)
        return "Too late."

    mic = FakeMicrophone(np.concatenate([three_utterances(), silence(1.0)]))
    engine = FakeEngine(hanging)
    t = taker(tmp_path, mic, engine=engine)
    history = t.pipeline.history
    assert history is not None
    try:
        steps_until(t, lambda: len(engine.received) == 1 and len(history.pending()) == 3)
        t.finished()  # waits EXIT_WAIT at most, not for the server
        # Checked while the server still hangs: once it answers, the abandoned worker goes on.
        said = (
            "stopped with 3 utterance(s) not transcribed yet; they are in the spool: `dictate retry --all` sends them"
        )
        assert any(r.getMessage() == said for r in caplog.records)
        assert len(history.pending()) == 3
        assert t.sink.written == []  # type: ignore[attr-defined]
    finally:
        hang.set()
