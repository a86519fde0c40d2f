"""The push-to-talk daemon: hotkey and control socket in, recordings through a worker, text out at the cursor.

Threads: the key listener and the control socket only post events; the main thread owns the
microphone and the state (idle or recording) and cuts the recording at pauses while it goes on; one
worker transcribes those parts and delivers dictations in the order they were made, so nothing is
ever typed out of order and on release only the tail is left to send.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

import numpy as np

from dictate import DictateError
from dictate.audio import DICTATION_STEPS, PauseSplitter, Recording, resample
from dictate.config import Config
from dictate.recorder import Recorder
from dictate.session import Dictation, NothingToSend, Pipeline, TranscriptionFailed
from dictate.textproc import join, process

log = logging.getLogger(__name__)

POLL = 0.02  # seconds between microphone reads while recording
MODIFIER_WAIT = 1.0  # longest wait for the hotkey's modifiers to be released before typing
WARM_AFTER = 20.0  # re-open the connection on key press when it has been idle this long
NEVER = float("inf")
RETRY_FIRST, RETRY_MAX = 5.0, 300.0  # seconds between background retries while the endpoint fails
RETRY_ATTEMPTS, RETRY_AGE = 8, 24 * 3600.0  # give up (leave it to `dictate retry`) after these


class Output(Protocol):
    name: str

    def deliver(self, text: str) -> None: ...


class Cues(Protocol):
    def cue(self, name: str) -> None: ...

    def error(self, message: str) -> None: ...

    def notify(self, title: str, message: str) -> None: ...


@dataclass
class Event:
    name: str
    at: float = field(default_factory=time.monotonic)
    reply: queue.SimpleQueue[dict[str, Any]] | None = None


@dataclass
class Work:
    """One step for the worker: a part cut while recording, the tail at release, or a cancellation."""

    dictation: Dictation
    part: Recording | None = None
    tail: Recording | None = None
    released_at: float = 0.0
    cancelled: bool = False
    stream: bool = False  # a part finished: type what is ready ([output] stream)
    deliver: bool = True  # False while the daemon is stopping: print instead of typing


class Daemon:
    def __init__(
        self,
        config: Config,
        pipeline: Pipeline,
        output: Output,
        cues: Cues,
        modifiers_down: Callable[[], bool] = lambda: False,
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.output = output
        self.cues = cues
        self.modifiers_down = modifiers_down
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._work: queue.Queue[Work | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run_worker, name="dictate-worker", daemon=True)
        self._recorder: Recorder | None = None
        self._splitter: PauseSplitter | None = None
        self._capture_rate = config.audio.sample_rate
        self._dictation: Dictation | None = None
        self._quitting = False
        self._last_request = -NEVER
        self._retry_wake = threading.Event()
        self.delivered = 0
        self.recovered = 0

    # ---- called from other threads -----------------------------------------------------------

    def post(self, name: str) -> None:
        """Queue an event (from the key listener)."""
        self.events.put(Event(name))

    def command(self, name: str) -> dict[str, Any]:
        """Apply a control-socket command on the main thread and return the outcome."""
        reply: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self.events.put(Event(name, reply=reply))
        try:
            return reply.get(timeout=5)
        except queue.Empty:
            return {"ok": False, "error": "the daemon is busy"}

    @property
    def state(self) -> str:
        return "recording" if self._recorder is not None else "idle"

    # ---- the main loop -----------------------------------------------------------------------

    def run(self) -> None:
        """Serve events until SIGINT or SIGTERM; a recording in progress is finished, not lost."""
        self._worker.start()
        if self.pipeline.history is not None:
            threading.Thread(target=self._retry_failed, name="dictate-retry", daemon=True).start()
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self._quitting:
                self._step()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._shutdown()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.events.put(Event("quit"))

    def _step(self) -> None:
        timeout = 0.5
        if self._recorder is not None:
            self._listen(POLL)
            timeout = 0.0
        try:
            event = self.events.get(timeout=timeout) if timeout else self.events.get_nowait()
        except queue.Empty:
            return
        outcome = self._apply(event)
        if event.reply is not None:
            event.reply.put(outcome)

    def _apply(self, event: Event) -> dict[str, Any]:
        name = event.name
        recording = self._recorder is not None
        try:
            if name == "quit":
                self._quitting = True
            elif name in ("start", "toggle") and not recording:
                self._start(event.at)
            elif name in ("stop", "toggle") and recording:
                self._stop(event.at)
            elif name == "cancel" and recording:
                self._cancel()
            elif name in ("pause", "resume"):
                return {"ok": False, "error": f"{name} is for `dictate notes`", "state": self.state}
        except DictateError as exc:
            log.error("%s", exc.message)
            self.cues.error(exc.message)
            return {"ok": False, "error": exc.message, "state": self.state}
        except Exception as exc:  # a bug in one event must not end the daemon or lose its state
            log.exception("unexpected error handling %s: %s", name, exc)
            self.cues.error(str(exc))
            if self._recorder is not None and self._splitter is None:
                self._close_recorder()
            return {"ok": False, "error": f"internal error: {exc}", "state": self.state}
        return {
            "ok": True,
            "state": self.state,
            "queued": self._work.qsize(),
            "delivered": self.delivered,
            "recovered": self.recovered,
        }

    def _start(self, pressed_at: float) -> None:
        recorder = Recorder(self.config.audio.device, self.config.audio.sample_rate, keep=False)
        recorder.__enter__()
        self._recorder = recorder
        self._capture_rate = recorder.capture_rate
        incremental = self.config.audio.incremental
        self._splitter = PauseSplitter(recorder.capture_rate, DICTATION_STEPS if incremental else ())
        self._dictation = self.pipeline.start(source="run", pressed_at=pressed_at)
        self.cues.cue("start")
        if time.monotonic() - self._last_request > WARM_AFTER:
            threading.Thread(target=self.pipeline.transcriber.warm, name="dictate-warm", daemon=True).start()
        log.debug("recording")

    def _listen(self, timeout: float) -> None:
        """Take the microphone's blocks; hand every part cut at a pause to the worker."""
        assert self._recorder is not None and self._splitter is not None and self._dictation is not None
        block = self._recorder.read(timeout=timeout)
        if block is not None and self._recorder.first_block_at is not None:
            self._dictation.first_sample(self._recorder.first_block_at)
        while block is not None:
            for part in self._splitter.feed(block):
                self._work.put(Work(self._dictation, part=self._as_recording(part)))
            block = self._recorder.read(timeout=0)
        if self._recorder.captured_frames >= self.config.audio.max_seconds * self._recorder.capture_rate:
            log.warning(
                "recording reached [audio] max_seconds (%g s) and was ended; it is kept", self.config.audio.max_seconds
            )
            self.cues.cue("error")
            self._stop(time.monotonic())

    def _as_recording(self, samples: np.ndarray) -> Recording:
        rate, target = self._capture_rate, self.config.audio.sample_rate
        return Recording(samples if rate == target else resample(samples, rate, target), target)

    def _close_recorder(self) -> None:
        recorder, self._recorder = self._recorder, None
        assert recorder is not None
        recorder.__exit__(None, None, None)

    def _stop(self, released_at: float) -> None:
        self._listen(0)  # what is still queued
        if self._recorder is None:  # max_seconds ended it just now
            return
        self._close_recorder()
        assert self._splitter is not None and self._dictation is not None
        tail = self._as_recording(self._splitter.rest())
        self.cues.cue("stop")
        self._work.put(Work(self._dictation, tail=tail, released_at=released_at, deliver=not self._quitting))
        self._last_request = time.monotonic()
        self._splitter = self._dictation = None

    def _cancel(self) -> None:
        self._close_recorder()
        assert self._dictation is not None
        self._work.put(Work(self._dictation, cancelled=True))
        self._splitter = self._dictation = None
        self.cues.cue("cancel")
        log.info("recording cancelled")

    def _shutdown(self) -> None:
        if self._recorder is not None:
            log.info("finishing the recording in progress before exiting")
            self._quitting = True
            self._stop(time.monotonic())
        self._work.put(None)
        self._worker.join()

    # ---- the worker --------------------------------------------------------------------------

    def _run_worker(self) -> None:
        while (work := self._work.get()) is not None:
            try:
                self._do(work)
            except DictateError as exc:
                log.error("%s", exc.message)
                self.cues.error(exc.message)
            except Exception as exc:  # the worker must survive anything one dictation does
                log.exception("unexpected error in a dictation: %s", exc)
                self.cues.error(str(exc))

    def _do(self, work: Work) -> None:
        dictation = work.dictation
        if work.cancelled:
            dictation.cancel()
        elif work.part is not None:
            upload = dictation.add(work.part)
            log.debug("part of %.1f s sent while recording", work.part.seconds)
            if upload is not None and self.config.output.stream:
                upload.add_done_callback(lambda _done: self._work.put(Work(dictation, stream=True)))
        elif work.stream:
            self._stream(dictation)
        elif work.tail is not None:
            self._finish(work)

    def _stream(self, dictation: Dictation) -> None:
        """Type the parts transcribed so far that were not typed yet, in order."""
        if dictation.finished or self._quitting:
            return  # finish() delivers whatever is left
        ready = dictation.ready_texts()
        for text in ready[dictation.streamed :]:
            clean = process(text, allow_newlines=self.config.output.allow_newlines)
            if clean:
                self._deliver(clean)
        dictation.streamed = max(dictation.streamed, len(ready))

    def _finish(self, work: Work) -> None:
        dictation = work.dictation
        assert work.tail is not None
        try:
            result = dictation.finish(work.tail, released_at=work.released_at)
        except NothingToSend as exc:
            log.info("%s", exc.message)
            return
        except TranscriptionFailed as exc:
            log.error("%s", exc.message)
            self.cues.error(exc.message)
            return
        self._last_request = time.monotonic()
        if not result.text:
            log.info("the server heard no words")
            return
        if not work.deliver or self._quitting:
            # The daemon is being stopped: the focus is probably the terminal that stopped it.
            print(result.text, flush=True)
            self.pipeline.delivered(result)
            log.info("transcribed while stopping; printed instead of typed")
            return
        text = result.text
        if dictation.streamed:  # the parts typed already; only what came after them is left
            rest = join(dictation.part_texts()[dictation.streamed :])
            text = process(rest, allow_newlines=self.config.output.allow_newlines)
        if text:
            try:
                self._deliver(text)
            except DictateError as exc:
                where = f": `dictate history show {result.entry_id}`" if result.entry_id else ""
                raise DictateError(f"{exc.message}; the text is kept in the history{where}") from None
        self.pipeline.delivered(result, work.released_at)
        self.delivered += 1
        self._retry_wake.set()  # the endpoint answers: a good moment for what failed before
        log.debug("%s", dictation.timings(work.released_at))

    # ---- background retry of this daemon's failed dictations ----------------------------------

    def _retry_failed(self) -> None:
        """Re-send failed dictations once the endpoint answers again; store the text, type nothing
        (the focus has moved on since), and say where it is."""
        delay = RETRY_FIRST
        while not self._quitting:
            self._retry_wake.wait(delay)
            self._retry_wake.clear()
            delay = RETRY_FIRST if self._retry_pending() else min(delay * 2, RETRY_MAX)

    def _retry_pending(self) -> bool:
        """Try each pending dictation of ours, oldest first; False when one failed again."""
        history = self.pipeline.history
        assert history is not None
        now = time.time()
        for entry in history.pending():
            if self._quitting:
                return True
            too_old = now - entry.created.timestamp() > RETRY_AGE
            # Only failed ones: a queued entry may be a dictation this daemon is sending right now.
            if entry.source != "run" or entry.status != "failed" or entry.attempts >= RETRY_ATTEMPTS or too_old:
                continue
            if not history.claim(entry.id):
                continue
            try:
                result = self.pipeline.resend(entry.id)
            except (TranscriptionFailed, DictateError) as exc:
                log.debug("background retry of dictation %d failed: %s", entry.id, exc.message)
                return False
            if result.text:
                self.recovered += 1
                message = f"dictation {entry.id} recovered; it was not typed: `dictate history show {entry.id}`"
                log.info("%s", message)
                self.cues.notify("dictate", message)
        return True

    def _deliver(self, text: str) -> None:
        deadline = time.monotonic() + MODIFIER_WAIT
        while self.modifiers_down() and time.monotonic() < deadline:
            time.sleep(0.01)
        space = self.config.output.trailing_space and self.output.name != "stdout"
        self.output.deliver(text + (" " if space else ""))
