"""The daemon's loop with a fake microphone, engine and output: what a press, a release, a cancel, the
length limit and a stop do, and that one failed dictation never stops the next."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dictate.audio import Recording
from dictate.config import from_dict
from dictate.daemon import Daemon
from dictate.dictation import Pipeline, TranscriptionFailed
from dictate.errors import DictateError
from dictate.store import History
from tests.fakes import FakeEngine, FakeMicrophone, FakeOutput, FakeSigns, down, microphones, silence, speech


def daemon(
    tmp_path: Path,
    *mics: FakeMicrophone,
    engine: FakeEngine | None = None,
    output: FakeOutput | None = None,
    focus: Callable[[], tuple[str, ...] | None] | None = None,
    allow_newlines: bool = False,
    **audio: object,
) -> Daemon:
    outputs = {"trailing_space": False, "allow_newlines": allow_newlines}
    cfg = from_dict({"audio": {"min_seconds": 0.1, **audio}, "output": outputs})
    history = History.open(cfg.history, folder=tmp_path / "data")
    pipeline = Pipeline(cfg, engine or FakeEngine(), history, focus=focus)
    d = Daemon(cfg, pipeline, output or FakeOutput(), FakeSigns(), microphone=microphones(*mics))
    d.started()
    return d


def steps_until(d: Daemon, done: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the daemon never got there"
        d.step()


def hold(d: Daemon, mic: FakeMicrophone) -> None:
    """Press, keep the key down until the microphone has played its signal, release."""
    d.post("start")
    steps_until(d, lambda: d.listening is not None)
    steps_until(d, lambda: mic.exhausted)
    d.post("stop")
    steps_until(d, lambda: d.listening is None)


def entries(d: Daemon) -> list[tuple[str, str | None]]:
    assert d.pipeline.history is not None
    return [(e.status, e.text) for e in reversed(d.pipeline.history.entries())]


def test_hold_speak_release_types_the_text_and_records_it(tmp_path: Path) -> None:
    mic = FakeMicrophone(speech(1.5))
    d = daemon(tmp_path, mic, engine=FakeEngine("Hello there."))
    hold(d, mic)
    d.finished()
    assert d.output.texts == ["Hello there."]  # type: ignore[attr-defined]
    assert entries(d) == [("delivered", "Hello there.")]
    assert mic.opened == mic.closed == 1
    assert d.signs.cues == ["start", "stop"]  # type: ignore[attr-defined]


def test_a_device_at_its_own_rate_is_resampled_to_the_configured_one(tmp_path: Path) -> None:
    t = np.arange(int(1.5 * 48000)) / 48000
    mic = FakeMicrophone((np.sin(2 * np.pi * 300 * t) * 9000).astype(np.int16), rate=48000, block=960)
    engine = FakeEngine("ok")
    d = daemon(tmp_path, mic, engine=engine)
    hold(d, mic)
    d.finished()
    ((recording, _),) = engine.received
    assert recording.rate == 16000
    assert len(recording.samples) == mic.captured_frames // 3  # every sample taken, at a third of the rate


def test_parts_cut_at_pauses_go_up_while_the_key_is_held(tmp_path: Path) -> None:
    mic = FakeMicrophone(np.concatenate([speech(3.5), silence(0.8), speech(1.0)]))
    engine = FakeEngine("First part.", "the tail.")
    d = daemon(tmp_path, mic, engine=engine)
    d.post("start")
    steps_until(d, lambda: len(engine.received) == 1)  # sent before the release
    assert d.listening is not None
    steps_until(d, lambda: mic.exhausted)
    d.post("stop")
    steps_until(d, lambda: d.listening is None)
    d.finished()
    assert len(engine.received) == 2
    assert engine.received[1][1] == "First part."  # the tail is prompted with the text before it
    assert d.output.texts == ["First part. the tail."]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["hold", "toggle"])
def test_reaching_max_seconds_ends_the_recording_once_and_keeps_it(tmp_path: Path, mode: str) -> None:
    first, second = FakeMicrophone(speech(3.0)), FakeMicrophone(speech(0.6), then=None)
    engine = FakeEngine("The first one.", "The second one.")
    d = daemon(tmp_path, first, second, engine=engine, max_seconds=1.0, incremental=False)
    d.post("start" if mode == "hold" else "toggle")
    steps_until(d, lambda: d.listening is not None)
    steps_until(d, lambda: d.listening is None)  # the limit ended it, with the key still down
    assert d.signs.cues == ["start", "error", "stop"]  # type: ignore[attr-defined]
    if mode == "hold":
        d.post("stop")  # the release that follows changes nothing
        d.step()
        assert d.listening is None
    # The next press starts a new dictation.
    d.post("start" if mode == "hold" else "toggle")
    steps_until(d, lambda: d.listening is not None)
    steps_until(d, lambda: second.exhausted)
    d.post("stop" if mode == "hold" else "toggle")
    steps_until(d, lambda: d.listening is None)
    d.finished()
    assert [round(r.seconds, 2) for r, _ in engine.received] == [1.0, 0.6]
    assert d.output.texts == ["The first one.", "The second one."]  # type: ignore[attr-defined]
    assert [status for status, _ in entries(d)] == ["delivered", "delivered"]


def test_cancel_drops_the_recording(tmp_path: Path) -> None:
    mic = FakeMicrophone(speech(1.0))
    engine = FakeEngine()
    d = daemon(tmp_path, mic, engine=engine)
    d.post("start")
    steps_until(d, lambda: mic.exhausted)
    d.post("cancel")
    steps_until(d, lambda: d.listening is None)
    d.finished()
    assert engine.received == []
    assert d.output.texts == []  # type: ignore[attr-defined]
    assert mic.closed == 1
    assert d.signs.cues == ["start", "cancel"]  # type: ignore[attr-defined]


def test_a_failed_dictation_is_reported_and_the_next_one_works(tmp_path: Path) -> None:
    first, second = FakeMicrophone(speech(1.0)), FakeMicrophone(speech(1.0))
    engine = FakeEngine(RuntimeError("engine bug"), "Second.")
    d = daemon(tmp_path, first, second, engine=engine)
    hold(d, first)
    hold(d, second)
    d.finished()
    assert d.output.texts == ["Second."]  # type: ignore[attr-defined]
    (error,) = d.signs.errors  # type: ignore[attr-defined]
    assert error.startswith("unexpected RuntimeError: engine bug")


def test_an_output_that_fails_leaves_the_text_in_the_history(tmp_path: Path) -> None:
    mic = FakeMicrophone(speech(1.0))
    output = FakeOutput(fail=DictateError("typing failed: the display went away"))
    d = daemon(tmp_path, mic, engine=FakeEngine("Kept."), output=output)
    hold(d, mic)
    d.finished()
    (error,) = d.signs.errors  # type: ignore[attr-defined]
    assert error == "typing failed: the display went away; the text is kept in the history: `dictate history show 1`"
    assert entries(d) == [("done", "Kept.")]


def test_stopping_while_recording_prints_the_text_instead_of_typing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mic = FakeMicrophone(speech(1.0))
    d = daemon(tmp_path, mic, engine=FakeEngine("Said while stopping."))
    d.post("start")
    steps_until(d, lambda: mic.exhausted)
    d.post("quit")
    steps_until(d, lambda: d.quitting)
    d.finished()
    assert d.output.texts == []  # type: ignore[attr-defined]
    assert capsys.readouterr().out == "Said while stopping.\n"
    assert entries(d) == [("delivered", "Said while stopping.")]


def test_silence_is_not_sent(tmp_path: Path) -> None:
    mic = FakeMicrophone(silence(1.0))
    engine = FakeEngine()
    d = daemon(tmp_path, mic, engine=engine)
    hold(d, mic)
    d.finished()
    assert engine.received == []
    assert entries(d) == []


def test_status_is_answered_on_the_main_thread_while_recording(tmp_path: Path) -> None:
    mic = FakeMicrophone(speech(1.0))
    d = daemon(tmp_path, mic)
    d.post("start")
    steps_until(d, lambda: d.listening is not None)
    replies: list[dict[str, object]] = []
    asker = threading.Thread(target=lambda: replies.append(d.command("status")))
    asker.start()
    steps_until(d, lambda: bool(replies))
    asker.join()
    assert replies == [{"ok": True, "state": "recording", "queued": 0, "delivered": 0, "recovered": 0, "error": None}]
    d.post("cancel")
    steps_until(d, lambda: d.listening is None)
    d.finished()


def test_verbose_timings_name_every_stage_from_the_release(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    mic = FakeMicrophone(speech(1.0))
    d = daemon(tmp_path, mic, engine=FakeEngine("Timed."))
    caplog.set_level("DEBUG", logger="dictate")
    hold(d, mic)
    d.finished()
    (line,) = [r.getMessage() for r in caplog.records if "release→" in r.getMessage()]
    stages = dict(re.findall(r"(release→[\w ]+?) (\d+\.\d) ms", line))
    assert list(stages) == [
        "release→tail handed over",
        "release→request",
        "release→answer",
        "release→typed",
        "release→recorded",
    ]
    values = [float(v) for v in stages.values()]
    assert values == sorted(values)  # each stage after the one before


def test_a_dictation_behind_one_whose_server_hangs_is_spooled_and_the_exit_does_not_wait(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hang = threading.Event()

    def hanging(_recording: object) -> str:
        hang.wait(20)
        return "Too late."

    first, second = FakeMicrophone(speech(1.0)), FakeMicrophone(speech(1.0, 400))
    engine = FakeEngine(hanging, hanging)
    d = daemon(tmp_path, first, second, engine=engine)
    history = d.pipeline.history
    assert history is not None
    try:
        hold(d, first)
        steps_until(d, lambda: len(engine.received) == 1)  # the first is up, and its server hangs
        hold(d, second)
        # The second is on disk, and on its way, while the first still waits for its answer.
        steps_until(d, lambda: len(history.entries()) == 2 and len(engine.received) == 2)
        assert all(e.audio_path is not None and e.audio_path.exists() for e in history.entries())
        d.post("quit")
        steps_until(d, lambda: d.quitting)
        d.finished()  # waits EXIT_WAIT at most, not for the server
    finally:
        hang.set()
    assert [(e.status, e.error) for e in history.entries()] == [
        ("failed", "interrupted: dictate stopped before the answer came")
    ] * 2
    assert [e.id for e in history.pending()] == [1, 2]  # what `dictate retry --all` sends
    (line,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert line == (
        "stopped before 2 dictation(s) were delivered: 2 not transcribed are in the spool: "
        "`dictate retry --all` sends them"
    )
    d.delivery.finish()  # the late answers come in now: nothing more is typed or recorded
    assert d.output.texts == []  # type: ignore[attr-defined]
    assert [e.status for e in history.entries()] == ["failed", "failed"]


def test_an_answer_behind_a_hanging_one_is_kept_at_exit(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    hang = threading.Event()

    def hanging(_recording: object) -> str:
        hang.wait(20)
        return "Too late."

    first, second = FakeMicrophone(speech(1.0)), FakeMicrophone(speech(1.0, 400))
    engine = FakeEngine(hanging, "Answered at once.")
    d = daemon(tmp_path, first, second, engine=engine)
    history = d.pipeline.history
    assert history is not None
    try:
        hold(d, first)
        hold(d, second)
        # Typed in order: the second waits for the first, with its answer in hand.
        steps_until(d, lambda: any(w is not None and w.finishing.done() for w in d._open.values()))
        d.post("quit")
        steps_until(d, lambda: d.quitting)
        d.finished()
    finally:
        hang.set()
    entries = {e.id: (e.status, e.text) for e in history.entries()}
    assert entries == {1: ("failed", None), 2: ("done", "Answered at once.")}
    assert d.output.texts == []  # type: ignore[attr-defined]
    assert any("1 transcribed are in the history: `dictate history show 2`" in r.getMessage() for r in caplog.records)


def test_the_background_retry_passes_over_a_damaged_recording_and_sends_the_others(tmp_path: Path) -> None:
    cfg = from_dict({"audio": {"min_seconds": 0.1}})
    signs = FakeSigns()
    pipeline = Pipeline(cfg, FakeEngine(down(), down(), "Recovered."), History.open(cfg.history, folder=tmp_path))
    d = Daemon(cfg, pipeline, FakeOutput(), signs)  # its threads are not started: one pass is run by hand
    for _ in range(2):
        with pytest.raises(TranscriptionFailed):
            pipeline.send(Recording(speech(1.0), 16000), source="run", had_speech=True)
    history = pipeline.history
    assert history is not None
    damaged, good = history.pending()
    assert damaged.audio_path is not None
    damaged.audio_path.write_bytes(b"not audio at all" * 64)

    assert d._retry_pending()  # the endpoint answered: the pass went through
    assert history.get(good.id).text == "Recovered."
    assert d.recovered == 1 and any("recovered" in message for message in signs.notes)
    failed = history.get(damaged.id)
    assert failed.status == "failed" and "damaged" in (failed.error or "") and failed.audio_path is not None


def test_a_newline_is_never_typed_into_a_terminal_the_focus_moved_to(tmp_path: Path) -> None:
    """Pressed in an editor where newlines are allowed; by the time the text came, the focus was on a
    terminal, where a newline is Enter and runs the line."""
    windows = [("tk", "Tk"), ("xterm", "XTerm")]  # at the press, then before typing
    mic = FakeMicrophone(speech(1.5))
    d = daemon(
        tmp_path, mic, engine=FakeEngine("echo two\ntouch pwned"), focus=lambda: windows.pop(0), allow_newlines=True
    )
    hold(d, mic)
    d.finished()
    assert d.output.texts == ["echo two touch pwned"]  # type: ignore[attr-defined]
    assert windows == []  # the focus was read again before typing


def test_a_newline_stays_when_the_focus_is_still_where_it_is_allowed(tmp_path: Path) -> None:
    mic = FakeMicrophone(speech(1.5))
    d = daemon(tmp_path, mic, engine=FakeEngine("line one\nline two"), focus=lambda: ("tk", "Tk"), allow_newlines=True)
    hold(d, mic)
    d.finished()
    assert d.output.texts == ["line one\nline two"]  # type: ignore[attr-defined]
