"""`dictate run`, the push-to-talk daemon: a press opens the microphone, a release sends the tail, and
the text appears at the cursor.

The main thread is the shared listening loop; parts cut at pauses while the key is held go to one
worker, which transcribes them and delivers dictations in the order they were made, so nothing is
ever typed out of order and on release only the tail is left to send. A background thread re-sends
this daemon's failed dictations once the endpoint answers again.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from dictate.audio import DICTATION_STEPS, Recording
from dictate.config import Config, OutputConfig
from dictate.dictation import Dictation, NothingToSend, Pipeline
from dictate.errors import DictateError
from dictate.listening import Event, Listening, Loop, Microphone, Part, Worker, open_recorder
from dictate.output import Output

log = logging.getLogger("dictate")

MODIFIER_WAIT = 1.0  # longest wait for the hotkey's modifiers to be released before typing
WARM_AFTER = 20.0  # re-open the connection on key press when it has been idle this long
NEVER = float("inf")
RETRY_FIRST, RETRY_MAX = 5.0, 300.0  # seconds between background retries while the endpoint fails
RETRY_ATTEMPTS, RETRY_AGE = 8, 24 * 3600.0  # give up (leave it to `dictate retry`) after these


class Signs(Protocol):
    """Tones and notifications (dictate.cues.Cues)."""

    def cue(self, name: str) -> None: ...

    def error(self, message: str) -> None: ...

    def notify(self, title: str, message: str) -> None: ...


@dataclass
class Work:
    """One step for the worker: a part cut while recording, the tail at release, a cancellation, or
    (with [output] stream) a part finished, so what is ready can be typed."""

    dictation: Dictation
    part: Recording | None = None
    tail: Recording | None = None
    released_at: float = 0.0
    cancelled: bool = False
    stream: bool = False
    deliver: bool = True  # False while the daemon is stopping: print instead of typing


class Daemon(Loop):
    def __init__(
        self,
        config: Config,
        pipeline: Pipeline,
        output: Output,
        signs: Signs,
        *,
        modifiers_down: Callable[[], bool] = lambda: False,
        microphone: Callable[[Any], Microphone] = open_recorder,
    ) -> None:
        super().__init__()
        self.config = config
        self.pipeline = pipeline
        self.output = output
        # The output for a dictation's [output] settings (a profile may choose another); cmd_run sets it.
        self.output_for: Callable[[OutputConfig], Output] = lambda _settings: output
        self.signs = signs
        self.modifiers_down = modifiers_down
        self.microphone = microphone
        self.worker: Worker[Work] = Worker("dictate-worker", self._do, signs.error)
        self._dictation: Dictation | None = None
        self._last_request = -NEVER
        self._retry_wake = threading.Event()
        self._typed_at: float | None = None  # for -v: when the last text was typed
        self.delivered = 0
        self.recovered = 0

    @property
    def state(self) -> str:
        return "recording" if self.listening is not None else "idle"

    # ---- the main thread ---------------------------------------------------------------------

    def started(self) -> None:
        self.worker.start()
        if self.pipeline.history is not None:
            threading.Thread(target=self._retry_failed, name="dictate-retry", daemon=True).start()

    def apply(self, event: Event) -> dict[str, Any]:
        name, recording = event.name, self.listening is not None
        if name in ("start", "toggle") and not recording:
            self._start(event.at)
        elif name in ("stop", "toggle") and recording:
            self._stop(event.at)
        elif name == "cancel" and recording:
            self._cancel()
        elif name in ("pause", "resume"):
            return {"ok": False, "error": f"{name} is for `dictate notes`", "state": self.state}
        return {
            "ok": True,
            "state": self.state,
            "queued": self.worker.pending(),
            "delivered": self.delivered,
            "recovered": self.recovered,
        }

    def failed(self, message: str) -> None:
        self.signs.error(message)

    def take(self, parts: list[Part]) -> None:
        assert self._dictation is not None and self.listening is not None
        if self.listening.first_sample_at is not None:
            self._dictation.first_sample(self.listening.first_sample_at)
        for part in parts:
            self.worker.put(Work(self._dictation, part=part.recording))

    def on_full(self) -> None:
        log.warning(
            "recording reached [audio] max_seconds (%g s) and was ended; it is kept", self.config.audio.max_seconds
        )
        self.signs.cue("error")
        self._stop(time.monotonic())

    def finished(self) -> None:
        if self.listening is not None:
            log.info("finishing the recording in progress before exiting")
            self.quitting = True
            self._stop(time.monotonic())
        self.worker.finish()

    def _start(self, pressed_at: float) -> None:
        steps = DICTATION_STEPS if self.config.audio.incremental else ()
        self.listening = Listening(self.config.audio, steps, microphone=self.microphone)
        self._dictation = self.pipeline.start(source="run", pressed_at=pressed_at)
        self.signs.cue("start")
        if time.monotonic() - self._last_request > WARM_AFTER:
            threading.Thread(target=self.pipeline.engine.warm, name="dictate-warm", daemon=True).start()
        log.debug("recording")

    def _stop(self, released_at: float) -> None:
        assert self.listening is not None and self._dictation is not None
        listening, dictation = self.listening, self._dictation
        self.listening = self._dictation = None
        tail = listening.take_rest()
        if listening.first_sample_at is not None:
            dictation.first_sample(listening.first_sample_at)
        # The tail goes on before the device is closed and the cue played: neither is on the way to the text.
        self.worker.put(Work(dictation, tail=tail.recording, released_at=released_at, deliver=not self.quitting))
        listening.close()
        self.signs.cue("stop")
        self._last_request = time.monotonic()

    def _cancel(self) -> None:
        assert self.listening is not None and self._dictation is not None
        self.listening.end()
        self.worker.put(Work(self._dictation, cancelled=True))
        self.listening = self._dictation = None
        self.signs.cue("cancel")
        log.info("recording cancelled")

    # ---- the worker --------------------------------------------------------------------------

    def _do(self, work: Work) -> None:
        dictation = work.dictation
        if work.cancelled:
            dictation.cancel()
        elif work.part is not None:
            upload = dictation.add(work.part)
            log.debug("part of %.1f s sent while recording", work.part.seconds)
            if upload is not None and self.config.output.stream:
                upload.add_done_callback(lambda _done: self.worker.put(Work(dictation, stream=True)))
        elif work.stream:
            if not self.quitting:
                dictation.stream(functools.partial(self._type, dictation=dictation))
        elif work.tail is not None:
            self._finish(work)

    def _finish(self, work: Work) -> None:
        dictation = work.dictation
        assert work.tail is not None
        try:
            result = dictation.finish(work.tail)
        except NothingToSend as exc:
            log.info("%s", exc.message)
            return
        self._last_request = time.monotonic()
        if not result.text:
            log.info("the server heard no words")
            return
        if not work.deliver or self.quitting:
            # The daemon is being stopped: the focus is probably the terminal that stopped it.
            self.pipeline.deliver(result, lambda text: print(text, flush=True))
            log.info("transcribed while stopping; printed instead of typed")
            return
        text = dictation.unstreamed_text(result)
        self.pipeline.deliver(
            result,
            functools.partial(self._type, dictation=dictation) if text else lambda _text: None,
            text=text,
            released_at=work.released_at,
        )
        self.delivered += 1
        self._retry_wake.set()  # the endpoint answers: a good moment for what failed before
        log.debug("%s", dictation.timings(work.released_at, self._typed_at))

    def _type(self, text: str, dictation: Dictation | None = None) -> None:
        deadline = time.monotonic() + MODIFIER_WAIT
        while self.modifiers_down() and time.monotonic() < deadline:
            time.sleep(0.01)
        settings = dictation.config.output if dictation is not None else self.config.output
        output = self.output_for(settings)
        space = settings.trailing_space and output.name != "stdout" and not text.endswith("\n")
        output.deliver(text + (" " if space else ""))
        self._typed_at = time.monotonic()

    # ---- background retry of this daemon's failed dictations ----------------------------------

    def _retry_failed(self) -> None:
        """Re-send failed dictations once the endpoint answers again; store the text, type nothing
        (the focus has moved on since), and say where it is."""
        delay = RETRY_FIRST
        while not self.quitting:
            self._retry_wake.wait(delay)
            self._retry_wake.clear()
            delay = RETRY_FIRST if self._retry_pending() else min(delay * 2, RETRY_MAX)

    def _retry_pending(self) -> bool:
        """Try each pending dictation of ours, oldest first; False when one failed again."""
        history = self.pipeline.history
        assert history is not None
        now = time.time()
        for entry in history.pending():
            if self.quitting:
                return True
            too_old = now - entry.created.timestamp() > RETRY_AGE
            # Only failed ones: a queued entry may be a dictation this daemon is sending right now.
            if entry.source != "run" or entry.status != "failed" or entry.attempts >= RETRY_ATTEMPTS or too_old:
                continue
            if not history.claim(entry.id):
                continue
            try:
                result = self.pipeline.resend(entry.id)
            except DictateError as exc:
                log.debug("background retry of dictation %d failed: %s", entry.id, exc.message)
                return False
            if result.text:
                self.pipeline.keep(result)
                self.recovered += 1
                message = f"dictation {entry.id} recovered; it was not typed: `dictate history show {entry.id}`"
                log.info("%s", message)
                self.signs.notify("dictate", message)
        return True
