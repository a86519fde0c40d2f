"""One dictation from recorded audio to delivered text, spooled so that nothing is lost on the way,
and the one place where a delivery is recorded.

Collaborators (engine, history) are passed in, so tests and other front ends can swap them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dictate.audio import Recording, decode, encode, has_speech
from dictate.config import Config
from dictate.engines import Engine, TranscriptionError
from dictate.errors import DictateError
from dictate.store import History, HistoryError
from dictate.text import join
from dictate.text.echo import is_echo
from dictate.text_layer import TextLayer

if TYPE_CHECKING:
    from dictate.engines.chat import Cleaner

log = logging.getLogger("dictate")


class NothingToSend(DictateError):
    """The recording was too short or silent; nothing was uploaded."""


class TranscriptionFailed(DictateError):
    """The transcription failed; the recording is kept in the spool when it could be saved."""

    def __init__(self, message: str, entry_id: int | None) -> None:
        super().__init__(message)
        self.entry_id = entry_id


@dataclass(frozen=True)
class Result:
    text: str  # clean, without any trailing space
    entry_id: int | None  # the history entry, None when the history could not be used
    seconds: float
    attempts: int = 0
    bytes_sent: int = 0
    request_sent_at: float | None = None  # monotonic time the last request went out
    server_seconds: float | None = None
    heard: str | None = None  # the transcript as heard, before the text layer changed it


def check_sendable(recording: Recording, config: Config) -> None:
    """Raise NothingToSend for a recording too short or without speech: it is not uploaded."""
    if recording.seconds < config.audio.min_seconds:
        raise NothingToSend(
            f"recording too short ({recording.seconds:.2f} s < [audio] min_seconds "
            f"{config.audio.min_seconds:g}); nothing sent"
        )
    if not has_speech(recording):
        raise NothingToSend(f"no speech heard in {recording.seconds:.1f} s of audio; nothing sent")


class Pipeline:
    """What every dictation needs: the settings, the engine and the history, and the bookkeeping of
    spooling, delivering and discarding that every front end shares."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        history: History | None,
        *,
        keep_claims: bool = False,
        focus: Callable[[], Sequence[str] | None] | None = None,
        cleaner: Cleaner | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.history = history
        # A failed dictation is left for `dictate retry` or the daemon, unless its sender retries it itself.
        self.keep_claims = keep_claims
        # The focused window's class, read at each start, chooses the dictation's profile (the daemon).
        self.focus = focus
        self.text = TextLayer(config, cleaner)  # builds the Cleaner it needs when none is given

    def start(self, *, source: str, pressed_at: float | None = None) -> Dictation:
        settings = self.config
        if self.focus is not None:
            from dictate.profiles import settings_for

            choice = settings_for(self.config, self.focus())
            log.debug("%s", choice.reason)
            settings = choice.config
        return Dictation(self, source=source, pressed_at=pressed_at, settings=settings)

    def close(self) -> None:
        """Release what the text layer holds (the clean-up's connections)."""
        self.text.close()

    def send(self, recording: Recording, *, source: str, had_speech: bool | None = None) -> Result:
        """Spool a whole recording, then transcribe it; raise TranscriptionFailed naming the saved entry."""
        return self.start(source=source).finish(recording, had_speech=had_speech)

    def resend(self, entry_id: int) -> Result:
        """Transcribe a spooled recording again (`dictate retry`, background retries, notes)."""
        assert self.history is not None
        dictation = Dictation(self, source="retry", entry_id=entry_id)
        return dictation.finish(decode(self.history.read_audio(entry_id)))

    def spool(self, recording: Recording, *, source: str, press_ms: float | None = None) -> int | None:
        """Write a recording durably to the spool as a new entry; its ID, or None when it could not be
        saved (a full disk must not also cost the dictation in memory: it is sent anyway)."""
        if self.history is None:
            return None
        api = self.config.api
        try:
            # The spool is WAV whatever the upload format: it only ever grows by appending samples.
            entry = self.history.spool(
                encode(recording, "wav"),
                source=source,
                model=api.model,
                base_url=api.base_url,
                press_to_audio_ms=press_ms,
            )
        except HistoryError as exc:
            log.warning("warning: the recording could not be saved (%s); sending it anyway", exc.message)
            return None
        return entry.id

    def append(self, entry_id: int, samples: np.ndarray, seconds: float) -> bool:
        """Add samples to the end of a spooled recording; False (with a warning) when they could not be."""
        assert self.history is not None
        try:
            self.history.append_audio(entry_id, samples.tobytes(), seconds)
        except HistoryError as exc:
            log.warning("warning: the recording could not be saved (%s); sending it anyway", exc.message)
            return False
        return True

    def deliver(
        self, result: Result, write: Callable[[str], None], *, text: str | None = None, released_at: float | None = None
    ) -> None:
        """Hand the text (by default the result's) to `write`, then record that it reached the user;
        the spooled audio goes unless kept. When `write` fails, the text stays in the history. The
        history is written after the text went out: it is not on the way to the cursor."""
        try:
            write(result.text if text is None else text)
        except DictateError as exc:
            self.keep(result, released_at=released_at)
            where = f": `dictate history show {result.entry_id}`" if result.entry_id else ""
            raise DictateError(f"{exc.message}; the text is kept in the history{where}") from None
        ms = (time.monotonic() - released_at) * 1000 if released_at else None
        self.keep(result, released_at=released_at)
        if result.entry_id is not None:
            entry_id = result.entry_id
            self.record(lambda h: h.mark_delivered(entry_id, release_to_delivery_ms=ms))

    def keep(self, result: Result, *, released_at: float | None = None) -> None:
        """Record a dictation's text in the history (done); its audio stays until it is delivered."""
        if result.entry_id is None or not result.text:
            return
        entry_id = result.entry_id
        to_request = (result.request_sent_at - released_at) * 1000 if result.request_sent_at and released_at else None
        server_ms = result.server_seconds * 1000 if result.server_seconds is not None else None
        self.record(
            lambda h: h.mark_done(
                entry_id,
                result.text,
                attempts=result.attempts,
                bytes_uploaded=result.bytes_sent,
                release_to_request_ms=to_request,
                server_ms=server_ms,
                raw_text=result.heard,
            )
        )

    def discard(self, entry_id: int | None, reason: str) -> None:
        if entry_id is not None and self.history is not None:
            self.record(lambda h: h.discard(entry_id, reason))

    def record(self, step: Callable[[History], object]) -> None:
        """Apply one step to the history; a failure is a warning, never the loss of the dictation."""
        if self.history is None:
            return
        try:
            step(self.history)
        except HistoryError as exc:
            log.warning("warning: history not updated: %s", exc.message)


class Dictation:
    """One dictation, sent in parts as they are cut at pauses (`add`) and finished with its tail.

    Each part is uploaded as soon as it is cut, with the text of the parts already transcribed as
    its prompt; the tail may go up while the last part is still in flight, so release never waits
    for more than the slower of the two. Texts are joined in order whatever order answers come in.
    Before any upload the spool holds all audio of the dictation so far, so a failure or a crash at
    any point loses nothing: the whole is kept for `dictate retry`.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        source: str,
        pressed_at: float | None = None,
        entry_id: int | None = None,
        settings: Config | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.config = settings or pipeline.config  # the file's settings, or a profile's for this window
        self.source = source
        self.pressed_at = pressed_at
        self.press_ms: float | None = None
        self.entry_id = entry_id
        self.finished = False  # finish() ran: nothing more may be streamed
        self._streamed = 0  # how many parts were delivered early ([output] stream)
        self._spooled = entry_id is not None  # a retried entry is in the spool already
        self._spooled_samples = 0
        self._audio: list[np.ndarray] = []
        self._rate = self.config.audio.sample_rate
        self._uploads: list[Future[str | None]] = []
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.failure: str | None = None
        self.attempts = self.bytes_sent = 0
        self.sent_at: float | None = None  # time.monotonic() the last request went out
        self.server: float | None = None
        self.handed_at: float | None = None  # finish() began: the tail was handed over
        self.answered_at: float | None = None  # every answer was in
        self.cleanup_seconds: float | None = None

    @property
    def seconds(self) -> float:
        return sum(len(a) for a in self._audio) / self._rate

    def first_sample(self, at: float) -> None:
        """Note when the microphone delivered its first sample (for the press -> first sample timing)."""
        if self.press_ms is None and self.pressed_at is not None:
            self.press_ms = (at - self.pressed_at) * 1000

    def timings(self, released_at: float, typed_at: float | None = None) -> str:
        """One line of the timings a user feels, each from the release, for -v."""

        def since(at: float | None) -> str:
            return f"{(at - released_at) * 1000:.1f} ms" if at is not None else "n/a"

        press = f"{self.press_ms:.0f} ms" if self.press_ms is not None else "n/a"
        server = f"{self.server * 1000:.0f} ms" if self.server is not None else "n/a"
        if self.cleanup_seconds is not None:
            server += f", clean-up {self.cleanup_seconds * 1000:.0f} ms"
        return (
            f"press→first sample {press}; release→tail handed over {since(self.handed_at)}, "
            f"release→request {since(self.sent_at)}, release→answer {since(self.answered_at)}, "
            f"release→typed {since(typed_at)}, release→recorded {since(time.monotonic())}; server {server}; "
            f"{self.seconds:.1f} s of audio in {len(self._uploads)} part(s), {self.bytes_sent} bytes, "
            f"{self.attempts} request(s)"
        )

    def add(self, part: Recording) -> Future[str | None] | None:
        """Spool a finished part and start its upload; None once the dictation failed."""
        self._keep(part)
        if self.failure is not None:
            return None
        self._spool()
        return self._submit(part)

    def stream(self, write: Callable[[str], None]) -> None:
        """Deliver the parts transcribed so far that were not delivered yet, in order ([output] stream)."""
        if self.finished or self.config.cleanup.enabled:
            return  # finish() delivers whatever is left; the clean-up needs the whole text
        ready = self._ready_texts()
        for text in ready[self._streamed :]:
            clean = self.pipeline.text.partial([text], self.config)
            if clean:
                write(clean)
        self._streamed = max(self._streamed, len(ready))

    def unstreamed_text(self, result: Result) -> str:
        """After finish: the text that stream() has not delivered yet."""
        if not self._streamed:
            return result.text
        rest = [upload.result() or "" for upload in self._uploads][self._streamed :]
        return self.pipeline.text.partial(rest, self.config)

    def finish(self, tail: Recording, *, had_speech: bool | None = None) -> Result:
        """Send the tail and return the whole text, spooled but not yet recorded as done: delivering it
        (Pipeline.deliver) or keeping it (Pipeline.keep) does that. Raise NothingToSend or
        TranscriptionFailed."""
        self.handed_at = time.monotonic()
        self._keep(tail)
        whole = Recording(np.concatenate(self._audio), self._rate)
        speech = had_speech
        if not self._uploads and self.source != "retry" and had_speech is None:
            try:
                check_sendable(whole, self.config)
            except NothingToSend:
                self.pipeline.discard(self.entry_id, "nothing to send")
                raise
            speech = True
        if (
            self.failure is None
            and len(tail.samples)
            and (had_speech is not None or not self._uploads or has_speech(tail))
        ):
            self._submit(tail)
        # The tail is on its way; it reaches the spool before any answer is awaited, so a failure or a
        # crash from here on loses nothing, and the upload does not wait for the disk.
        self._spool()
        texts = [upload.result() or "" for upload in self._uploads]
        self.answered_at = time.monotonic()
        self.finished = True
        if self._executor is not None:
            self._executor.shutdown(wait=False)
        if self.failure is not None:
            raise self._failed()
        if speech is None:
            speech = has_speech(whole)
        written = self.pipeline.text.finish(texts, self.config, had_speech=speech)
        self.cleanup_seconds = written.cleanup_seconds
        if not written.heard:
            self.pipeline.discard(self.entry_id, "the server heard no words")
        elif not written.text:
            log.info("nothing is left to type after the spoken commands")
            self.pipeline.discard(self.entry_id, "nothing left after the spoken commands")
        heard = written.heard if written.heard != written.text else None
        seconds, attempts, sent = whole.seconds, self.attempts, self.bytes_sent
        return Result(written.text, self.entry_id, seconds, attempts, sent, self.sent_at, self.server, heard)

    def cancel(self) -> None:
        self.pipeline.discard(self.entry_id, "cancelled")

    def _failed(self) -> TranscriptionFailed:
        assert self.failure is not None
        saved = ""
        if self.entry_id is not None and self.pipeline.history is not None:
            entry_id, failure, attempts = self.entry_id, self.failure, max(1, self.attempts)
            self.pipeline.record(lambda h: h.mark_failed(entry_id, failure, attempts=attempts))
            if not self.pipeline.keep_claims:
                self.pipeline.record(lambda h: h.release(entry_id))
            saved = f"; the recording is saved: run `dictate retry {entry_id}`"
        return TranscriptionFailed(self.failure + saved, self.entry_id)

    def _ready_texts(self) -> list[str]:
        """Texts of the parts transcribed so far, in order, up to the first one still in flight."""
        texts = []
        for upload in list(self._uploads):
            if not upload.done() or upload.result() is None:
                break
            texts.append(upload.result() or "")
        return texts

    def _keep(self, part: Recording) -> None:
        self._rate = part.rate
        self._audio.append(part.samples)

    def _submit(self, part: Recording) -> Future[str | None]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dictate-upload")
        upload = self._executor.submit(self._send, part, self._ready_texts())
        self._uploads.append(upload)
        return upload

    def _spool(self) -> None:
        """Make the spool hold everything recorded so far: the first time all of it, then only what
        came since, so the cost before an upload does not grow with the dictation."""
        if self.pipeline.history is None or self.source == "retry":
            return
        audio = np.concatenate(self._audio)
        if not self._spooled:
            self.entry_id = self.pipeline.spool(
                Recording(audio, self._rate), source=self.source, press_ms=self.press_ms
            )
            self._spooled = self.entry_id is not None
        elif len(audio) > self._spooled_samples:
            assert self.entry_id is not None
            if not self.pipeline.append(self.entry_id, audio[self._spooled_samples :], len(audio) / self._rate):
                return
        self._spooled_samples = len(audio)

    def _send(self, part: Recording, context: list[str]) -> str | None:
        """Transcribe one part after the text in `context`; None when it failed."""
        try:
            transcript = self.pipeline.engine.transcribe(part, join(context), self.config.text.vocabulary)
        except TranscriptionError as exc:
            with self._lock:
                self.failure = self.failure or exc.message
            return None
        with self._lock:
            self.attempts += transcript.attempts
            self.bytes_sent += transcript.bytes_sent
            self.sent_at = max(self.sent_at or 0.0, transcript.sent_at or 0.0) or None
            if transcript.server_seconds is not None:
                self.server = (self.server or 0.0) + transcript.server_seconds
        if is_echo(transcript.speech_text, transcript.prompt):
            log.info("the transcript of a part repeated the prompt, not speech: it is dropped")
            return ""
        return transcript.speech_text


def open_history(config: Config) -> History | None:
    """The history and spool, or None (with a warning) when they cannot be used."""
    try:
        return History.open(config.history)
    except HistoryError as exc:
        log.warning("warning: %s; dictations will not be saved", exc.message)
        return None
