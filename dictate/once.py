"""`dictate once`: record now, until Enter, a pause after speech, or the limit; return the transcript.

Parts cut at pauses are sent while the speaker goes on, as in the daemon. Nobody speaking for
[audio] no_speech_timeout seconds ends it with nothing sent, so `$(dictate once)` with nobody at the
keyboard comes back. Ctrl-C while recording cancels the dictation; Ctrl-C while it is being
transcribed leaves it in the spool for `dictate retry`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from dictate.config import Config
from dictate.dictation import Dictation, NothingToSend, Pipeline, Result, part_steps
from dictate.listening import Event, Listening, Loop, Microphone, Part, open_recorder

log = logging.getLogger("dictate")


class Once(Loop):
    SIGNALS = ()  # Ctrl-C is KeyboardInterrupt: the caller's way to cancel

    def __init__(
        self,
        config: Config,
        pipeline: Pipeline,
        *,
        max_seconds: float,
        should_stop: Callable[[], bool] = lambda: False,
        on_recording: Callable[[], None] = lambda: None,
        microphone: Callable[[Any], Microphone] = open_recorder,
    ) -> None:
        super().__init__()
        self.config = config
        self.pipeline = pipeline
        self.max_seconds = max_seconds
        self.should_stop = should_stop
        self.on_recording = on_recording
        self.microphone = microphone
        self.ended_by = ""  # "stopped", "silence", "no_speech" or "max_seconds"
        self.seconds = 0.0  # recorded
        self.result: Result | None = None
        self._dictation: Dictation | None = None
        self._tail: Part | None = None
        self._opened = 0.0

    def record(self) -> Dictation:
        """Record until stopped; then `finish()` transcribes."""
        audio = dataclasses.replace(self.config.audio, max_seconds=self.max_seconds)
        steps = part_steps(self.config)
        self.listening = Listening(audio, steps, track_speech=True, microphone=self.microphone)
        self._opened = time.monotonic()
        self._dictation = dictation = self.pipeline.start(source="once")
        threading.Thread(target=self.pipeline.engine.warm, name="dictate-warm", daemon=True).start()
        self.on_recording()
        try:
            self.run()
        except BaseException:
            self._abandon()
            raise
        return dictation

    @property
    def entry_id(self) -> int | None:
        """The dictation's place in the spool, once it has one."""
        return self._dictation.entry_id if self._dictation is not None else None

    def apply(self, event: Event) -> dict[str, Any]:
        return {"ok": False, "error": f"{event.name} is not available in `dictate once`", "state": self.state}

    def take(self, parts: list[Part]) -> None:
        assert self._dictation is not None
        for part in parts:
            self._dictation.add(part.recording)

    def tick(self) -> None:
        self._check()

    def step(self) -> None:
        super().step()
        self._check()

    def on_full(self) -> None:
        self._end("max_seconds")

    def finish(self) -> Result:
        """Transcribe what was recorded; NothingToSend when it holds no speech."""
        assert self._dictation is not None and self._tail is not None
        if self.ended_by == "no_speech":
            self._dictation.cancel()
            waited = self.config.audio.no_speech_timeout
            raise NothingToSend(f"no speech heard in {waited:g} s ([audio] no_speech_timeout); nothing sent")
        result = self._dictation.finish(self._tail.recording)
        if not result.text:
            raise NothingToSend("the server heard no words")
        return result

    def _check(self) -> None:
        if self.listening is None:
            return
        silence, waiting = self.config.audio.silence_seconds, self.config.audio.no_speech_timeout
        speech = self.listening.speech
        assert speech is not None
        if self.should_stop():
            self._end("stopped")
        elif silence and speech.speech_started and speech.silence_after_speech >= silence:
            self._end("silence")
        elif waiting and not speech.speech_started and time.monotonic() - self._opened >= waiting:
            self._end("no_speech")

    def _end(self, reason: str) -> None:
        assert self.listening is not None
        self._tail = self.listening.end()
        self.seconds = self.listening.seconds
        self.listening = None
        self.ended_by = reason
        self.quitting = True
        log.debug("recorded, ended by %s", reason)

    def _abandon(self) -> None:
        if self.listening is not None:
            self.listening.end()
            self.listening = None
            if self._dictation is not None:
                self._dictation.cancel()
