"""The one microphone loop that the daemon, `notes` and `once` share.

`Listening` is the microphone while it is open: blocks read, cut into parts at pauses, resampled to
the configured rate, with a bound on the length. `Loop` runs on the main thread: it applies events
(from the key listener, the control socket and signals, each answered when it asks for a reply) and
reads the microphone between them. `Worker` is the thread that takes what the loop hands over, in
order; a failure there is reported through the one formatter and never ends the loop.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from dictate.audio import PauseSplitter, Recording, SpeechTracker
from dictate.config import AudioConfig
from dictate.errors import DictateError, describe

log = logging.getLogger("dictate")

POLL = 0.02  # longest wait for an event while the microphone is open, before taking its blocks
IDLE_POLL = 0.5  # seconds an idle loop waits for an event
REPLY_TIMEOUT = 4.0  # under the control client's 5 s, so a command it gave up on is never applied
# Longest wait at exit for what is being transcribed; what is still in flight then stays in the spool,
# so SIGINT or SIGTERM is honoured within 2 s even while a server hangs.
EXIT_WAIT = 1.5


class Microphone(Protocol):
    """What the loop needs of a microphone (dictate.microphone.Recorder; a fake one in tests)."""

    capture_rate: int
    first_block_at: float | None
    captured_frames: int

    def open(self) -> Microphone: ...

    def close(self) -> None: ...

    def read(self, timeout: float | None = None) -> np.ndarray | None: ...


def open_recorder(audio: AudioConfig) -> Microphone:
    from dictate.microphone import Recorder

    return Recorder(audio.device, audio.sample_rate).open()


@dataclass(frozen=True)
class Part:
    recording: Recording  # at [audio] sample_rate
    start: float  # seconds after the microphone opened


class Listening:
    """The microphone while it is open: its blocks cut into parts at pauses.

    `steps` are PauseSplitter's (part length, pause) pairs; none: never cut. `max_lead_seconds` drops
    silence before the first word of a part beyond that (hands-free listening). With `track_speech`,
    `speech` follows how much was speech and how long it has been quiet since. `bounded`: at most
    [audio] max_seconds are recorded, then `full` is set.
    """

    def __init__(
        self,
        audio: AudioConfig,
        steps: Sequence[tuple[float, float]] = (),
        *,
        max_lead_seconds: float | None = None,
        track_speech: bool = False,
        bounded: bool = True,
        microphone: Callable[[AudioConfig], Microphone] = open_recorder,
    ) -> None:
        self.audio = audio
        self.microphone = microphone(audio)
        self.opened_at = time.time()  # wall-clock time of the stream's start
        self.rate = self.microphone.capture_rate
        self._splitter = PauseSplitter(self.rate, steps, max_lead_seconds=max_lead_seconds)
        self.speech = SpeechTracker(self.rate) if track_speech else None
        self.full = False  # reached [audio] max_seconds: the owner must close it
        self._taken = False  # take_rest() ran: nothing more is read
        self._limit = int(audio.max_seconds * self.rate) if bounded else None

    @property
    def first_sample_at(self) -> float | None:
        return self.microphone.first_block_at

    @property
    def seconds(self) -> float:
        return self.microphone.captured_frames / self.rate

    def read(self, timeout: float) -> list[Part]:
        """Take every block that has arrived (waiting up to `timeout` for the first); return the parts
        they completed. Once [audio] max_seconds is reached, nothing more is taken and `full` is set."""
        parts: list[Part] = []
        if self._taken:
            return parts
        block = None if self.full else self.microphone.read(timeout=timeout)
        while block is not None:
            over = self.microphone.captured_frames - self._limit if self._limit is not None else 0
            if over > 0:
                block = block[: max(0, len(block) - over)]
                self.full = True
            if self.speech is not None:
                self.speech.feed(block)
            parts.extend(self._part(start, samples) for start, samples in self._splitter.feed_timed(block))
            block = None if self.full else self.microphone.read(timeout=0)
        return parts

    def take_rest(self) -> Part:
        """Take what the microphone still holds and return the rest after the last cut; nothing is read
        after this. The device stays open until `close`, so the rest can be handed on first."""
        self.read(0)
        self._taken = True
        return self._part(self._splitter.position, self._splitter.rest())

    def close(self) -> None:
        self.microphone.close()

    def end(self) -> Part:
        """take_rest(), then close()."""
        rest = self.take_rest()
        self.close()
        return rest

    def _part(self, start: int, samples: np.ndarray) -> Part:
        recording = Recording(samples, self.rate).at_rate(self.audio.sample_rate)
        return Part(recording, start / self.rate)


# ---- the loop -------------------------------------------------------------------------------------


@dataclass
class Event:
    name: str
    at: float = field(default_factory=time.monotonic)
    reply: queue.SimpleQueue[dict[str, Any]] | None = None
    # Taken by whoever settles a command first: the main thread that applies it, or the control
    # client's wait that gave up on it (then it is never applied: the user was told it failed).
    taken: threading.Lock = field(default_factory=threading.Lock)


class Loop:
    """Events applied on the main thread, and the microphone read between them, until `quit`.

    Subclasses say what an event does (`apply`), what to do with parts (`take`), and when the
    microphone is full (`on_full`); `listening` is the open microphone or None. The first SIGINT or
    SIGTERM posts "quit", so the recording in progress is finished and what is being transcribed
    gets up to EXIT_WAIT seconds (`finished`); a second one leaves at once (KeyboardInterrupt).
    Either way, whatever is unfinished is in the spool.
    """

    def __init__(self) -> None:
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.listening: Listening | None = None
        self.quitting = False
        self._signalled = False

    # -- from other threads --

    def post(self, name: str) -> None:
        """Queue an event (from the key listener)."""
        self.events.put(Event(name))

    def command(self, name: str) -> dict[str, Any]:
        """Apply an event on the main thread and return its outcome (for the control socket)."""
        reply: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        event = Event(name, reply=reply)
        self.events.put(event)
        try:
            return reply.get(timeout=REPLY_TIMEOUT)
        except queue.Empty:
            if event.taken.acquire(blocking=False):
                return {"ok": False, "error": "busy: not done, try again"}  # and it never will be
            return reply.get()  # the main thread took it this very moment: its outcome follows

    # -- the main thread --

    SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)

    def run(self, ready: Callable[[], None] = lambda: None) -> None:
        """Run until `quit`. `ready` says so (the "ready" line) once a signal can no longer kill the
        process outright: one sent the moment it is said is a quit like any other."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in self.SIGNALS}
        try:
            self.started()
            ready()
            while not self.quitting:
                self.step()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.finished()

    def step(self) -> None:
        """Take what the microphone has delivered, if it is open, then apply the next event, waiting
        for one up to a poll. The wait is on the events, so a release is applied the moment it comes;
        the microphone's blocks wait in their queue meanwhile."""
        if self.listening is not None:
            parts = self.listening.read(0)
            if parts:
                self.take(parts)
            if self.listening is not None and self.listening.full:
                self.on_full()
        try:
            event = self.events.get(timeout=POLL if self.listening is not None else IDLE_POLL)
        except queue.Empty:
            self.tick()
            return
        if not event.taken.acquire(blocking=False):
            return  # a command whose client was told it failed
        if event.name == "quit":
            self.quitting = True
            outcome = {"ok": True}
        else:
            outcome = self._apply(event)
        if event.reply is not None:
            event.reply.put(outcome)

    def _apply(self, event: Event) -> dict[str, Any]:
        try:
            return self.apply(event)
        except Exception as exc:  # one event must not end the loop
            message = describe(exc)
            log.error("%s", message)
            self.failed(message)
            return {"ok": False, "error": message, "state": self.state}

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._signalled:
            raise KeyboardInterrupt  # a second signal: leave now; what is unfinished is in the spool
        self._signalled = True
        self.events.put(Event("quit"))

    # -- for subclasses --

    @property
    def state(self) -> str:
        return "listening" if self.listening is not None else "idle"

    def started(self) -> None:
        """Before the first event."""

    def finished(self) -> None:
        """After the last event, also after an error: finish what is in progress."""

    def tick(self) -> None:
        """Called when no event came in a poll."""

    def apply(self, event: Event) -> dict[str, Any]:
        raise NotImplementedError

    def take(self, parts: list[Part]) -> None:
        raise NotImplementedError

    def on_full(self) -> None:
        """The microphone reached [audio] max_seconds: it takes nothing more until closed."""

    def failed(self, message: str) -> None:
        """An event failed with this one-line message."""


# ---- the worker -----------------------------------------------------------------------------------

T = TypeVar("T")


class Worker(Generic[T]):
    """A thread that does its items one at a time, in order. An item that fails is reported with
    the one formatter (to the log and to `report`) and the next one goes on."""

    def __init__(self, name: str, do: Callable[[T], None], report: Callable[[str], None] = lambda _m: None) -> None:
        self._do = do
        self._report = report
        self._items: queue.Queue[T | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._lock = threading.Lock()
        self._left = 0  # items put and not yet done

    def start(self) -> None:
        self._thread.start()

    def put(self, item: T) -> None:
        with self._lock:
            self._left += 1
        self._items.put(item)

    def pending(self) -> int:
        """Items waiting for their turn."""
        return self._items.qsize()

    def unfinished(self) -> int:
        """Items waiting or being done."""
        with self._lock:
            return self._left

    def finish(self, timeout: float | None = None) -> bool:
        """Do what is queued, then stop. With a `timeout`, wait no longer than that: False when items
        were still unfinished then (the thread goes on with them, a daemon thread that does not hold
        the process)."""
        self._items.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while (item := self._items.get()) is not None:
            try:
                self._do(item)
            except Exception as exc:  # the worker must survive anything one item does
                message = describe(exc)
                log.error("%s", message)
                if not isinstance(exc, DictateError):
                    log.debug("traceback", exc_info=True)
                self._report(message)
            finally:
                with self._lock:
                    self._left -= 1
