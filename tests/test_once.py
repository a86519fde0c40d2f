"""`dictate once` with a fake microphone and engine: what ends a recording, and what Ctrl-C does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dictate.config import from_dict
from dictate.dictation import NothingToSend, Pipeline
from dictate.once import Once
from dictate.store import History
from tests.fakes import FakeEngine, FakeMicrophone, microphones, silence, speech


def once(
    tmp_path: Path,
    mic: FakeMicrophone,
    engine: FakeEngine,
    *,
    max_seconds: float = 30,
    no_speech_timeout: float = 10,
    **kw: object,
) -> Once:
    audio = {"min_seconds": 0.1, "silence_seconds": 1.0, "no_speech_timeout": no_speech_timeout}
    cfg = from_dict({"audio": audio})
    pipeline = Pipeline(cfg, engine, History.open(cfg.history, folder=tmp_path / "data"))
    return Once(cfg, pipeline, max_seconds=max_seconds, microphone=microphones(mic), **kw)  # type: ignore[arg-type]


def test_a_pause_after_speech_ends_it(tmp_path: Path) -> None:
    mic = FakeMicrophone(np.concatenate([silence(0.5), speech(1.0)]))
    o = once(tmp_path, mic, FakeEngine("Done talking."))
    o.record()
    assert o.finish().text == "Done talking."
    assert o.ended_by == "silence"
    assert 2.5 <= o.seconds < 4  # the second of silence that ended it is included
    assert mic.closed == 1


def test_enter_ends_it(tmp_path: Path) -> None:
    mic = FakeMicrophone(speech(0.6), then=None)
    presses = iter([False] * 5 + [True] * 100)
    o = once(tmp_path, mic, FakeEngine("Stopped by Enter."), should_stop=lambda: next(presses))
    o.record()
    assert o.ended_by == "stopped"
    assert o.finish().text == "Stopped by Enter."


def test_the_limit_ends_it(tmp_path: Path) -> None:
    mic = FakeMicrophone(speech(5.0))
    engine = FakeEngine("Long.")
    o = once(tmp_path, mic, engine, max_seconds=2.0)
    o.record()
    assert o.ended_by == "max_seconds"
    o.finish()
    assert sum(r.seconds for r, _ in engine.received) == pytest.approx(2.0)


def test_nothing_but_silence_is_not_sent(tmp_path: Path) -> None:
    mic = FakeMicrophone(silence(0.5), then=None)
    engine = FakeEngine()
    presses = iter([False] * 3 + [True] * 100)
    o = once(tmp_path, mic, engine, should_stop=lambda: next(presses))
    o.record()
    with pytest.raises(NothingToSend, match="no speech heard"):
        o.finish()
    assert engine.received == []


def test_ctrl_c_while_recording_cancels_even_parts_already_sent(tmp_path: Path) -> None:
    mic = FakeMicrophone(np.concatenate([speech(3.5), silence(0.8), speech(3.0)]), then=None)
    engine = FakeEngine("A part sent while speaking.")

    def interrupted() -> bool:
        if engine.received:
            raise KeyboardInterrupt
        return False

    o = once(tmp_path, mic, engine, should_stop=interrupted)
    with pytest.raises(KeyboardInterrupt):
        o.record()
    assert mic.closed == 1
    assert o.pipeline.history is not None
    (entry,) = o.pipeline.history.entries()
    assert entry.status == "discarded" and entry.error == "cancelled"
    assert o.pipeline.history.pending() == []  # nothing left for `dictate retry`


def test_nobody_speaking_gives_up_after_no_speech_timeout(tmp_path: Path) -> None:
    mic = FakeMicrophone(silence(0.2))  # then silence, for ever
    engine = FakeEngine()
    o = once(tmp_path, mic, engine, no_speech_timeout=0.5)
    o.record()
    assert o.ended_by == "no_speech"
    with pytest.raises(NothingToSend) as info:
        o.finish()
    assert info.value.message == "no speech heard in 0.5 s ([audio] no_speech_timeout); nothing sent"
    assert info.value.exit_code == 1
    assert engine.received == [] and mic.closed == 1
    assert o.pipeline.history is not None and o.pipeline.history.pending() == []


def test_speech_within_no_speech_timeout_is_transcribed(tmp_path: Path) -> None:
    mic = FakeMicrophone(np.concatenate([silence(0.3), speech(1.0)]))
    o = once(tmp_path, mic, FakeEngine("In time."), no_speech_timeout=5)
    o.record()
    assert o.ended_by == "silence"
    assert o.finish().text == "In time."


def test_no_speech_timeout_0_waits_for_the_limit(tmp_path: Path) -> None:
    mic = FakeMicrophone(silence(0.2))
    o = once(tmp_path, mic, FakeEngine(), max_seconds=1.0, no_speech_timeout=0)
    o.record()
    assert o.ended_by == "max_seconds"
