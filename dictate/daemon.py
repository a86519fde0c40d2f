"""The push-to-talk daemon: hotkey and control socket in, recordings through a worker, text out at the cursor.

Threads: the key listener and the control socket only post events; the main thread owns the
microphone and the state (idle or recording); one worker transcribes and delivers recordings in the
order they were made, so dictations never overtake each other.
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

from dictate import DictateError
from dictate.audio import Recording
from dictate.config import Config
from dictate.recorder import Recorder
from dictate.session import NothingToSend, Pipeline, TranscriptionFailed, check_sendable

log = logging.getLogger(__name__)

POLL = 0.02  # seconds between microphone reads while recording
MODIFIER_WAIT = 1.0  # longest wait for the hotkey's modifiers to be released before typing


class Output(Protocol):
    name: str

    def deliver(self, text: str) -> None: ...


class Cues(Protocol):
    def cue(self, name: str) -> None: ...

    def error(self, message: str) -> None: ...


@dataclass
class Event:
    name: str
    at: float = field(default_factory=time.monotonic)
    reply: queue.SimpleQueue[dict[str, Any]] | None = None


@dataclass
class Take:
    """One finished recording on its way to the cursor."""

    recording: Recording
    pressed_at: float
    released_at: float
    first_sample_at: float | None
    deliver: bool = True


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
        self._takes: queue.Queue[Take | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="dictate-worker", daemon=True)
        self._recorder: Recorder | None = None
        self._pressed_at = 0.0
        self._quitting = False
        self.delivered = 0

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

    # ---- the main loop ---------------------------------------------------------------------------

    def run(self) -> None:
        """Serve events until SIGINT or SIGTERM; a recording in progress is finished, not lost."""
        self._worker.start()
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
        if self._recorder is not None:
            self._recorder.read(timeout=POLL)
            self._drain_microphone()
            if self._recorded_seconds() >= self.config.audio.max_seconds:
                log.warning(
                    "recording reached [audio] max_seconds (%g s) and was ended; it is kept",
                    self.config.audio.max_seconds,
                )
                self._stop(time.monotonic())
            timeout: float | None = 0
        else:
            timeout = 0.5
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
            elif name == "start" or (name == "toggle" and not recording):
                if not recording:
                    self._start(event.at)
            elif name == "stop" or (name == "toggle" and recording):
                if recording:
                    self._stop(event.at)
            elif name == "cancel":
                if recording:
                    self._cancel()
            elif name == "status":
                pass
            else:
                return {"ok": False, "error": f"{name} is not available in this mode", "state": self.state}
        except DictateError as exc:
            log.error("%s", exc.message)
            self.cues.error(exc.message)
            return {"ok": False, "error": exc.message, "state": self.state}
        return {"ok": True, "state": self.state, "queued": self._takes.qsize(), "delivered": self.delivered}

    def _start(self, pressed_at: float) -> None:
        recorder = Recorder(self.config.audio.device, self.config.audio.sample_rate)
        recorder.__enter__()
        self._recorder = recorder
        self._pressed_at = pressed_at
        self.cues.cue("start")
        log.debug("recording")

    def _drain_microphone(self) -> None:
        assert self._recorder is not None
        while self._recorder.read(timeout=0) is not None:
            pass

    def _recorded_seconds(self) -> float:
        assert self._recorder is not None
        return self._recorder.captured_frames / self._recorder.capture_rate

    def _close_recorder(self) -> Recorder:
        recorder, self._recorder = self._recorder, None
        assert recorder is not None
        recorder.__exit__(None, None, None)
        return recorder

    def _stop(self, released_at: float) -> None:
        recorder = self._close_recorder()
        recording = recorder.take()
        max_samples = int(self.config.audio.max_seconds * recording.rate)
        if len(recording.samples) > max_samples:
            recording = Recording(recording.samples[:max_samples], recording.rate)
        self.cues.cue("stop")
        log.debug("recorded %.2f s", recording.seconds)
        self._takes.put(
            Take(recording, self._pressed_at, released_at, recorder.first_block_at, deliver=not self._quitting)
        )

    def _cancel(self) -> None:
        self._close_recorder()
        self.cues.cue("cancel")
        log.info("recording cancelled")

    def _shutdown(self) -> None:
        if self._recorder is not None:
            log.info("finishing the recording in progress before exiting")
            self._quitting = True
            self._stop(time.monotonic())
        self._takes.put(None)
        self._worker.join()

    # ---- the worker --------------------------------------------------------------------------

    def _work(self) -> None:
        while (take := self._takes.get()) is not None:
            try:
                self._process(take)
            except DictateError as exc:
                log.error("%s", exc.message)
                self.cues.error(exc.message)
            except Exception as exc:  # the worker must survive anything one dictation does
                log.exception("unexpected error in a dictation: %s", exc)
                self.cues.error(str(exc))

    def _process(self, take: Take) -> None:
        try:
            check_sendable(take.recording, self.config)
        except NothingToSend as exc:
            log.info("%s", exc.message)
            return
        try:
            result = self.pipeline.send(
                take.recording,
                source="run",
                pressed_at=take.pressed_at,
                first_sample_at=take.first_sample_at,
                released_at=take.released_at,
            )
        except TranscriptionFailed as exc:
            log.error("%s", exc.message)
            self.cues.error(exc.message)
            return
        if not result.text:
            log.info("the server heard no words")
            return
        if not take.deliver or self._quitting:
            # The daemon is being stopped: the focus is probably the terminal that stopped it.
            print(result.text, flush=True)
            self.pipeline.delivered(result)
            log.info("transcribed while stopping; printed instead of typed")
            return
        deadline = time.monotonic() + MODIFIER_WAIT
        while self.modifiers_down() and time.monotonic() < deadline:
            time.sleep(0.01)
        text = result.text + (" " if self.config.output.trailing_space and self.output.name != "stdout" else "")
        try:
            self.output.deliver(text)
        except DictateError as exc:
            where = f": `dictate history show {result.entry_id}`" if result.entry_id else ""
            raise DictateError(f"{exc.message}; the text is kept in the history{where}") from None
        self.pipeline.delivered(result, take.released_at)
        self.delivered += 1
        first = f"{(take.first_sample_at - take.pressed_at) * 1000:.0f} ms" if take.first_sample_at else "n/a"
        to_request = f"{(result.request_sent_at - take.released_at) * 1000:.0f} ms" if result.request_sent_at else "n/a"
        server = f"{result.server_seconds * 1000:.0f} ms" if result.server_seconds is not None else "n/a"
        log.debug(
            "press→first sample %s, release→request %s, server %s, release→text %.0f ms (%d attempt(s))",
            first,
            to_request,
            server,
            (time.monotonic() - take.released_at) * 1000,
            result.attempts,
        )
