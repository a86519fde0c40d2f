"""The shared loop's pieces: the microphone cut into parts, events applied in order with replies,
signals, and a worker that survives what one item does."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import numpy as np
import pytest

from dictate.config import AudioConfig
from dictate.errors import DictateError
from dictate.listening import Event, Listening, Loop, Worker
from tests.fakes import FakeMicrophone, microphones, silence, speech


def test_parts_are_cut_at_pauses_and_nothing_is_lost() -> None:
    signal_ = np.concatenate([speech(3.5), silence(0.8), speech(1.0)])
    mic = FakeMicrophone(signal_, then=None)
    listening = Listening(AudioConfig(), ((3.0, 0.5),), microphone=microphones(mic))
    parts = []
    while not mic.exhausted:
        parts.extend(listening.read(0.01))
    rest = listening.end()
    assert len(parts) == 1 and parts[0].start == 0.0
    assert rest.start == pytest.approx(parts[0].recording.seconds)
    np.testing.assert_array_equal(np.concatenate([parts[0].recording.samples, rest.recording.samples]), signal_)
    assert mic.closed == 1


def test_the_length_limit_is_exact_and_sets_full() -> None:
    mic = FakeMicrophone(speech(3.0), block=1000)
    listening = Listening(AudioConfig(max_seconds=1.0), microphone=microphones(mic))
    while not listening.full:
        listening.read(0.01)
    assert listening.read(0.01) == []  # nothing more is taken
    assert listening.end().recording.seconds == 1.0


def test_a_device_rate_is_converted_to_the_configured_rate() -> None:
    mic = FakeMicrophone(np.zeros(4800, dtype=np.int16), rate=48000, block=480, then=None)
    listening = Listening(AudioConfig(sample_rate=16000), microphone=microphones(mic))
    while mic.captured_frames < 4800:
        listening.read(0.01)
    rest = listening.end()
    assert rest.recording.rate == 16000 and len(rest.recording.samples) == 1600


def test_speech_is_tracked_when_asked() -> None:
    mic = FakeMicrophone(np.concatenate([speech(0.5), silence(0.6)]), then=None)
    listening = Listening(AudioConfig(), track_speech=True, microphone=microphones(mic))
    while not mic.exhausted:
        listening.read(0.01)
    assert listening.speech is not None
    assert listening.speech.speech_started
    assert 0.3 < listening.speech.silence_after_speech <= 0.6  # the VAD holds on a little after speech


class Echo(Loop):
    """Answers every event with its name; "boom" fails; "stop" ends the loop."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []
        self.failures: list[str] = []
        self.ended = False

    def apply(self, event: Event) -> dict[str, Any]:
        self.seen.append(event.name)
        if event.name == "boom":
            raise DictateError("that went wrong")
        if event.name == "stop":
            self.quitting = True
        return {"ok": True, "echo": event.name}

    def failed(self, message: str) -> None:
        self.failures.append(message)

    def finished(self) -> None:
        self.ended = True


def test_events_are_applied_in_order_and_a_failing_one_is_answered_with_its_error() -> None:
    loop = Echo()
    replies: list[dict[str, Any]] = []
    asker = threading.Thread(target=lambda: replies.extend([loop.command("boom"), loop.command("status")]))
    loop.post("first")
    asker.start()
    while len(replies) < 2:
        loop.step()
    asker.join()
    assert loop.seen == ["first", "boom", "status"]
    assert replies == [{"ok": False, "error": "that went wrong", "state": "idle"}, {"ok": True, "echo": "status"}]
    assert loop.failures == ["that went wrong"]


def test_a_signal_finishes_the_loop_and_a_second_one_leaves_at_once() -> None:
    loop = Echo()
    loop.post("work")
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
    loop.run()
    assert loop.seen == ["work"] and loop.ended
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back

    loop = Echo()
    loop._on_signal(signal.SIGINT, None)
    with pytest.raises(KeyboardInterrupt):
        loop._on_signal(signal.SIGINT, None)


def test_a_signal_the_moment_the_loop_says_it_is_ready_is_a_quit() -> None:
    loop = Echo()
    loop.post("work")
    loop.run(ready=lambda: os.kill(os.getpid(), signal.SIGTERM))  # the default action would end pytest
    assert loop.seen == ["work"] and loop.ended and loop.quitting


def test_the_worker_keeps_order_and_survives_a_failing_item() -> None:
    done: list[int] = []
    reports: list[str] = []

    def do(item: int) -> None:
        if item == 2:
            raise ValueError("item two is bad")
        done.append(item)

    worker: Worker[int] = Worker("test-worker", do, reports.append)
    worker.start()
    for item in range(5):
        worker.put(item)
    worker.finish()
    assert done == [0, 1, 3, 4]
    assert reports == ["unexpected ValueError: item two is bad (run with --debug for a traceback)"]


def test_finishing_the_worker_can_be_bounded() -> None:
    release = threading.Event()
    done: list[int] = []

    def do(item: int) -> None:
        if item == 0:
            release.wait(20)
        done.append(item)

    worker: Worker[int] = Worker("test-worker", do)
    worker.start()
    for item in range(3):
        worker.put(item)
    try:
        assert worker.finish(timeout=0.2) is False  # the first item still hangs
        assert worker.unfinished() == 3 and done == []
    finally:
        release.set()
    assert worker.finish() is True
    assert done == [0, 1, 2] and worker.unfinished() == 0
