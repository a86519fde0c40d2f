"""Stand-ins for the devices and the network, for unit tests of the loops: a microphone that plays a
prepared signal, an engine that answers from a script, an output and cues that remember."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from dictate.audio import Recording
from dictate.engines import Transcript, TranscriptionError
from dictate.text.prompt import prompt_for

RATE = 16000


def speech(seconds: float, freq: float = 300.0, level: float = 0.3) -> np.ndarray:
    """A voiced tone that the speech detectors take for speech."""
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * freq * t) * level * 32767).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


class FakeMicrophone:
    """Plays `signal`, then silence (or nothing, with `then=None`), in blocks that become available as
    a real stream's would, only `speed` times faster; `rate` may differ from the configured one, like a
    device that insists on its own."""

    def __init__(
        self,
        signal: np.ndarray,
        *,
        rate: int = RATE,
        block: int = 320,
        speed: float = 20.0,
        then: str | None = "silence",
    ) -> None:
        self.signal = signal
        self.capture_rate = rate
        self.block = block
        self.speed = speed
        self.then = then
        self.first_block_at: float | None = None
        self.captured_frames = 0
        self.opened = self.closed = 0
        self._opened_at = 0.0
        self._at = 0

    def open(self) -> FakeMicrophone:
        self.opened += 1
        self._opened_at = time.monotonic()
        return self

    def close(self) -> None:
        self.closed += 1

    def read(self, timeout: float | None = None) -> np.ndarray | None:
        deadline = time.monotonic() + (timeout or 0)
        while self.captured_frames + self.block > (time.monotonic() - self._opened_at) * self.capture_rate * self.speed:
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.001)
        if self._at < len(self.signal):
            block = self.signal[self._at : self._at + self.block]
            self._at += len(block)
        elif self.then == "silence":
            block = np.zeros(self.block, dtype=np.int16)
        else:
            return None
        if self.first_block_at is None:
            self.first_block_at = time.monotonic()
        self.captured_frames += len(block)
        return block

    @property
    def exhausted(self) -> bool:
        return self._at >= len(self.signal)


def microphones(*mics: FakeMicrophone) -> Callable[[object], FakeMicrophone]:
    """A microphone factory that hands out `mics` in turn, one per opening."""
    queue = list(mics)

    def open_next(_audio: object) -> FakeMicrophone:
        return queue.pop(0).open()

    return open_next


class FakeEngine:
    """Answers each transcription with the next scripted reply: a text, an exception, or a callable
    of the recording. Without a script it answers "words N" for the Nth request."""

    name = "fake engine"

    def __init__(self, *replies: str | BaseException | Callable[[Recording], str]) -> None:
        self.replies = list(replies)
        self.received: list[tuple[Recording, str]] = []
        self.vocabularies: list[tuple[str, ...]] = []
        self.warmed = 0
        self.lock = threading.Lock()

    def transcribe(self, recording: Recording, before: str = "", vocabulary: Sequence[str] = ()) -> Transcript:
        with self.lock:
            self.received.append((recording, before))
            self.vocabularies.append(tuple(vocabulary))
            reply = self.replies.pop(0) if self.replies else f"words {len(self.received)}"
        if isinstance(reply, BaseException):
            raise reply
        text = reply(recording) if callable(reply) else reply
        prompt = prompt_for("", before, vocabulary)
        return Transcript(text, bytes_sent=len(recording.samples) * 2, sent_at=time.monotonic(), prompt=prompt)

    def warm(self) -> None:
        self.warmed += 1

    def close(self) -> None:
        pass


def down(message: str = "connection refused by 127.0.0.1:9: is the server running?") -> TranscriptionError:
    return TranscriptionError(message, kind="refused", retryable=True)


class FakeOutput:
    name = "fake output"

    def __init__(self, fail: BaseException | None = None) -> None:
        self.texts: list[str] = []
        self.fail = fail

    def deliver(self, text: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.texts.append(text)

    def prepare(self) -> None:
        pass

    def close(self) -> None:
        pass


class FakeSigns:
    def __init__(self) -> None:
        self.cues: list[str] = []
        self.errors: list[str] = []
        self.notes: list[str] = []

    def cue(self, name: str) -> None:
        self.cues.append(name)

    def error(self, message: str) -> None:
        self.errors.append(message)

    def notify(self, title: str, message: str) -> None:
        self.notes.append(message)
