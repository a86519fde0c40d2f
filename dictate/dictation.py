"""One dictation from recorded audio to delivered text, spooled so that nothing is lost on the way;
`Pipeline` gives it the engine, and the store through Safekeeping (safekeeping.py), the one place
where a delivery is recorded.

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

from dictate.audio import Recording, dictation_steps, has_speech
from dictate.config import Config
from dictate.engines import Engine, TranscriptionError
from dictate.errors import DictateError
from dictate.safekeeping import IN_MEMORY, Safekeeping
from dictate.store import History, HistoryError, Spooled
from dictate.text import join
from dictate.text_layer import TextLayer, speech_of

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


class Unreadable(DictateError):
    """A spooled dictation's audio cannot be read (damaged, or gone); recorded as its failure."""


@dataclass(frozen=True)
class Result:
    text: str  # clean, without any trailing space
    spooled: Spooled | None  # its audio in the spool; None when it could not be written there
    seconds: float
    attempts: int = 0
    bytes_sent: int = 0
    request_sent_at: float | None = None  # monotonic time the last request went out
    server_seconds: float | None = None
    heard: str | None = None  # the transcript as heard, when the text layer changed it

    @property
    def entry_id(self) -> int | None:
        """Its history entry; None when the history could not index it."""
        return self.spooled.id if self.spooled is not None else None

    def timings(self, since: float, after: str = "the end of the recording") -> str:
        """One line for -v: what was sent, and how long the text took from `since` (`after` says what
        that was)."""
        server = f"{self.server_seconds * 1000:.0f} ms" if self.server_seconds is not None else "n/a"
        return (
            f"{self.seconds:.1f} s of audio, {self.bytes_sent} bytes in {self.attempts} request(s); "
            f"text {(time.monotonic() - since) * 1000:.0f} ms after {after}; server {server}"
        )


def part_steps(config: Config) -> tuple[tuple[float, float], ...]:
    """Where a dictation may be cut while the speaker goes on ([audio] incremental; none: never)."""
    from dictate.engines import min_part_seconds

    return dictation_steps(min_part_seconds(config)) if config.audio.incremental else ()


def check_sendable(recording: Recording, config: Config) -> None:
    """Raise NothingToSend for a recording too short or without speech: it is not uploaded."""
    check_length(recording, config)
    if not has_speech(recording):
        raise NothingToSend(f"no speech heard in {recording.seconds:.1f} s of audio; nothing sent")


def check_length(recording: Recording, config: Config) -> None:
    """Raise NothingToSend for a recording under [audio] min_seconds."""
    if recording.seconds < config.audio.min_seconds:
        raise NothingToSend(
            f"recording too short ({recording.seconds:.2f} s < [audio] min_seconds "
            f"{config.audio.min_seconds:g}); nothing sent"
        )


class Pipeline(Safekeeping):
    """What every dictation needs: the settings, the engine, the text layer and the history; with the
    bookkeeping in the store that every front end shares (safekeeping.py)."""

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
        super().__init__(config, history, keep_claims=keep_claims)
        self.engine = engine
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

    def resend(self, target: int | Spooled) -> Result:
        """Transcribe a spooled dictation again, all its parts as one (`dictate retry`, background retries, notes)."""
        assert self.history is not None
        spooled = target if isinstance(target, Spooled) else self.history.handle(target)
        try:
            audio = self.history.read_recording(spooled)
        except HistoryError as exc:
            # Named and recorded, and let go: one damaged file must not stop the others being sent.
            entry_id, message = spooled.id, exc.message
            if entry_id is not None:
                self.record(lambda h: h.mark_failed(entry_id, message, attempts=0))
            self.release(spooled)
            raise Unreadable(message) from None
        try:
            check_length(audio, self.config)
        except NothingToSend:  # as for a new recording: discarded, not sent
            self.discard(spooled, "nothing to send")
            raise
        return Dictation(self, source="retry", spooled=spooled, audio=audio).retry()


class Dictation:
    """One dictation, sent in parts as they are cut at pauses (`add`) and finished with its tail.

    Each part is uploaded as soon as it is cut, with the text of the parts already transcribed as
    its prompt; the tail may go up while the last part is still in flight, so release never waits
    for more than the slower of the two. Texts are joined in order whatever order answers come in.
    Before any answer is awaited the spool holds all audio of the dictation so far, one part file per
    step, so a failure or a crash at any point loses nothing: the whole is kept for `dictate retry`.
    When the disk refuses, the audio stays in memory (`Pipeline.held`) until it is sent.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        source: str,
        pressed_at: float | None = None,
        spooled: Spooled | None = None,
        audio: Recording | None = None,
        settings: Config | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.config = settings or pipeline.config  # the file's settings, or a profile's for this window
        self.source = source
        self.pressed_at = pressed_at
        self.press_ms: float | None = None
        self.spooled = spooled
        self.finished = False  # finish() ran: nothing more may be streamed
        self.unsaved: str | None = None  # why the disk refused part of the audio
        self._streamed = 0  # how many parts were delivered early ([output] stream)
        self._audio: list[np.ndarray] = [audio.samples] if audio is not None else []
        self._rate = audio.rate if audio is not None else self.config.audio.sample_rate
        self._on_disk = len(self._audio)  # how many of _audio the spool holds (a resent one: all)
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
        self._handed: Recording | None = None  # all of it, once the tail is handed over
        self._speech: bool | None = None  # whether it holds speech, when that is known

    @property
    def entry_id(self) -> int | None:
        return self.spooled.id if self.spooled is not None else None

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
        TranscriptionFailed. The same as `hand_over`, then `result`."""
        self.hand_over(tail, had_speech=had_speech)
        return self.result()

    def hand_over(self, tail: Recording, *, had_speech: bool | None = None) -> None:
        """Spool the tail and start its upload; nothing here waits for a server (NothingToSend when
        there is nothing to send). Then `result` waits for the answers."""
        self.handed_at = time.monotonic()
        self._keep(tail)
        whole = self._whole()
        self._speech = had_speech
        if not self._uploads and had_speech is None:
            try:
                check_sendable(whole, self.config)
            except NothingToSend:
                self.pipeline.discard(self.spooled, "nothing to send")
                raise
            self._speech = True
        # Every recording is on disk before anything that can block: the tail is spooled (one small
        # file in the upload format, about a millisecond) before its upload starts, so a crash at any
        # moment of the upload loses nothing.
        self._spool()
        if (
            self.failure is None
            and len(tail.samples)
            and (had_speech is not None or not self._uploads or has_speech(tail))
        ):
            self._submit(tail)
        self._handed = whole

    def result(self) -> Result:
        """After `hand_over`: wait for every answer and return the whole text (see `finish`)."""
        assert self._handed is not None, "hand_over() first"
        return self._complete(self._handed, self._speech)

    def retry(self) -> Result:
        """Send the whole dictation again as one (a failed one kept in memory, or one read back from
        the spool); first write to the spool what it does not hold yet, if the disk now takes it."""
        self._spool()
        self.failure, self._uploads, self._executor, self.finished = None, [], None, False
        self.attempts = self.bytes_sent = self._streamed = 0
        whole = self._whole()
        self._submit(whole)
        return self._complete(whole, None)

    def cancel(self) -> None:
        self.pipeline.discard(self.spooled, "cancelled")

    def _complete(self, whole: Recording, speech: bool | None) -> Result:
        texts = [upload.result() or "" for upload in self._uploads]
        self.answered_at = time.monotonic()
        self.finished = True
        if self._executor is not None:
            self._executor.shutdown(wait=False)
        if self.failure is not None:
            raise self._failed()
        self.pipeline.forget(self)
        if speech is None:
            speech = has_speech(whole)
        written = self.pipeline.text.finish(texts, self.config, had_speech=speech)
        self.cleanup_seconds = written.cleanup_seconds
        if not written.heard:
            self.pipeline.discard(self.spooled, "the server heard no words")
        elif not written.text:
            log.info("nothing is left to type after the spoken commands and replacements")
            self.pipeline.discard(self.spooled, "nothing left after the spoken commands and replacements")
        heard = written.heard if written.heard != written.text else None
        seconds, attempts, sent = whole.seconds, self.attempts, self.bytes_sent
        return Result(written.text, self.spooled, seconds, attempts, sent, self.sent_at, self.server, heard)

    def _failed(self) -> TranscriptionFailed:
        assert self.failure is not None
        pipeline, spooled, failure = self.pipeline, self.spooled, self.failure
        if pipeline.history is None:
            return TranscriptionFailed(failure, None)  # nothing was to be saved (files to transcribe)
        entry_id = self.entry_id
        if entry_id is not None:
            attempts, seconds = max(1, self.attempts), self.seconds
            pipeline.record(lambda h: h.mark_failed(entry_id, failure, attempts=attempts, duration=seconds))
        if spooled is not None and entry_id is not None and self._on_disk == len(self._audio):
            pipeline.forget(self)
            if not pipeline.keep_claims:
                pipeline.release(spooled)
            return TranscriptionFailed(f"{failure}; the recording is saved: run `dictate retry {entry_id}`", entry_id)
        # Not all on disk, or not in the index, so nothing else would find it: kept in memory (and
        # its claim held) for the daemon's background retry, unless its sender retries it itself.
        if not pipeline.keep_claims:
            pipeline.hold(self)
        if self.unsaved is not None:
            return TranscriptionFailed(f"{failure}; the recording could not be saved ({self.unsaved})", entry_id)
        return TranscriptionFailed(
            f"{failure}; the recording is kept in the spool: once the history database can be written again, "
            "`dictate retry --all` sends it",
            None,
        )

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

    def _whole(self) -> Recording:
        return Recording(np.concatenate(self._audio), self._rate)

    def _submit(self, part: Recording) -> Future[str | None]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dictate-upload")
        upload = self._executor.submit(self._send, part, self._ready_texts())
        self._uploads.append(upload)
        return upload

    def _spool(self) -> None:
        """Make the spool hold everything recorded so far: what came since the last step, as its next
        part, so the cost before an upload does not grow with the dictation. When the disk refuses,
        the audio stays in memory (said once) and the next step tries again: the spool only ever
        holds a beginning of the dictation, never one with a gap."""
        if self._on_disk == len(self._audio) or self.pipeline.history is None:
            return
        recording = Recording(np.concatenate(self._audio[self._on_disk :]), self._rate)
        try:
            spooled = self.pipeline.save(self.spooled, recording, source=self.source, press_ms=self.press_ms)
        except HistoryError as exc:
            if self.unsaved is None:
                self.unsaved = exc.message
                log.warning("warning: %s; %s", exc.message, IN_MEMORY)
            return
        self.spooled = spooled
        self._on_disk = len(self._audio)
        if self.unsaved is not None:
            log.info("the recording is saved now")
            self.unsaved = None

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
        return speech_of(transcript, part)


def open_history(config: Config) -> History:
    """The history and spool; when the database cannot be written, one warning line says why and how
    to repair it (the spool keeps the recordings meanwhile)."""
    history = History.open(config.history)
    if history.problem is not None and history.can_spool:  # else the first recording says it, when it matters
        log.warning("warning: %s", history.problem.message)
    return history
