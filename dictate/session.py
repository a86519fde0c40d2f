"""One dictation from captured audio to clean text, spooled so that nothing is lost on the way.

Collaborators (transcriber, history) are passed in, so tests and other front ends can swap them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dictate import DictateError
from dictate.audio import EncodedAudio, Recording, SpeechTracker, decode, encode, has_speech, split_for_upload
from dictate.config import Config
from dictate.recorder import Recorder
from dictate.store import History, HistoryError
from dictate.textproc import join, process
from dictate.transcriber import Transcriber, Transcript, TranscriptionError, speech_text

log = logging.getLogger(__name__)

PROMPT_CHARS = 800  # about the 224 tokens of prompt the model keeps


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


def capture(
    recorder: Recorder,
    *,
    max_seconds: float,
    silence_seconds: float,
    should_stop: Callable[[], bool] = lambda: False,
    poll: float = 0.05,
) -> tuple[Recording, str]:
    """Record until should_stop(), max_seconds, or silence_seconds of quiet after speech.

    Returns the recording and why it ended: "stopped", "max_seconds" or "silence".
    """
    tracker = SpeechTracker(recorder.capture_rate)
    deadline = time.monotonic() + max_seconds
    reason = "stopped"
    while True:
        block = recorder.read(timeout=poll)
        if block is not None:
            tracker.feed(block)
        if should_stop():
            break
        if recorder.captured_frames >= max_seconds * recorder.capture_rate or time.monotonic() > deadline + 1:
            reason = "max_seconds"
            break
        if silence_seconds and tracker.speech_started and tracker.silence_after_speech >= silence_seconds:
            reason = "silence"
            break
    recording = recorder.take()
    if reason == "max_seconds":
        recording = Recording(recording.samples[: int(max_seconds * recording.rate)], recording.rate)
    return recording, reason


def check_sendable(recording: Recording, config: Config) -> None:
    """Raise NothingToSend for a recording too short or without speech: it is not uploaded."""
    if recording.seconds < config.audio.min_seconds:
        raise NothingToSend(
            f"recording too short ({recording.seconds:.2f} s < [audio] min_seconds "
            f"{config.audio.min_seconds:g}); nothing sent"
        )
    if not has_speech(recording):
        raise NothingToSend(f"no speech heard in {recording.seconds:.1f} s of audio; nothing sent")


def prompt_for(user_prompt: str, previous: list[str]) -> str | None:
    """The configured prompt followed by the end of the text so far, within what the model keeps."""
    context = join(previous)
    room = PROMPT_CHARS - len(user_prompt)
    if not context or room <= 0:
        return None  # None: the transcriber sends [api] prompt as configured
    tail = context[-room:]
    if len(context) > room and " " in tail:
        tail = tail[tail.index(" ") + 1 :]  # start at a word
    return f"{user_prompt} {tail}".strip()


class Pipeline:
    """What every dictation needs: the settings, the transcriber and the history."""

    def __init__(
        self, config: Config, transcriber: Transcriber, history: History | None, *, keep_claims: bool = False
    ) -> None:
        self.config = config
        self.transcriber = transcriber
        self.history = history
        # A failed dictation is left for `dictate retry` or the daemon, unless its sender retries it itself.
        self.keep_claims = keep_claims
        self.upload_format = config.api.format

    def upload(self, recording: Recording, encoded: EncodedAudio, prompt: str | None) -> Transcript:
        """Upload one piece; a server that refuses FLAC or Opus gets WAV from then on (older whisper.cpp
        servers read only WAV)."""
        fmt = Path(encoded.filename).suffix.lstrip(".")
        try:
            return self.transcriber.transcribe(encoded, prompt)
        except TranscriptionError as exc:
            if fmt == "wav" or exc.status not in (400, 415):
                raise
            transcript = self.transcriber.transcribe(
                encode(recording, "wav"), prompt
            )  # the same error means: not the format
            if self.upload_format != "wav":
                self.upload_format = "wav"
                log.warning(
                    'warning: the server refused %s but took WAV; sending WAV from now on (set [api] format = "wav")',
                    fmt,
                )
            return transcript

    def start(self, *, source: str, pressed_at: float | None = None, first_sample_at: float | None = None) -> Dictation:
        return Dictation(self, source=source, pressed_at=pressed_at, first_sample_at=first_sample_at)

    def send(
        self, recording: Recording, *, source: str, had_speech: bool | None = None, released_at: float | None = None
    ) -> Result:
        """Spool a whole recording, then transcribe it; raise TranscriptionFailed naming the saved entry."""
        return self.start(source=source).finish(recording, released_at=released_at, had_speech=had_speech)

    def resend(self, entry_id: int) -> Result:
        """Transcribe a spooled recording again (dictate retry)."""
        assert self.history is not None
        dictation = Dictation(self, source="retry", entry_id=entry_id)
        return dictation.finish(decode(self.history.read_audio(entry_id)))

    def delivered(self, result: Result, released_at: float | None = None) -> None:
        """Record that the text reached the user; the spooled audio goes unless kept."""
        if result.entry_id is None or self.history is None:
            return
        ms = (time.monotonic() - released_at) * 1000 if released_at else None
        entry_id = result.entry_id
        self._record(lambda h: h.mark_delivered(entry_id, release_to_delivery_ms=ms))

    def discard(self, entry_id: int | None, reason: str) -> None:
        if entry_id is not None and self.history is not None:
            self._record(lambda h: h.discard(entry_id, reason))

    def _record(self, step: Callable[[History], object]) -> None:
        assert self.history is not None
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
        first_sample_at: float | None = None,
        entry_id: int | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.config = pipeline.config
        self.source = source
        self.pressed_at = pressed_at
        self.press_ms: float | None = None
        if first_sample_at is not None:
            self.first_sample(first_sample_at)
        self.entry_id = entry_id
        self.streamed = 0  # how many parts were delivered early ([output] stream)
        self.finished = False  # finish() ran: nothing more may be streamed
        self._spooled = entry_id is not None  # a retried entry is in the spool already
        self._spooled_samples = 0
        self._audio: list[np.ndarray] = []
        self._rate = self.config.audio.sample_rate
        self._uploads: list[Future[list[str] | None]] = []
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.failure: str | None = None
        self.attempts = self.bytes_sent = 0
        self.sent_at: float | None = None
        self.server: float | None = None

    @property
    def seconds(self) -> float:
        return sum(len(a) for a in self._audio) / self._rate

    def first_sample(self, at: float) -> None:
        """Note when the microphone delivered its first sample (for the press -> first sample timing)."""
        if self.press_ms is None and self.pressed_at is not None:
            self.press_ms = (at - self.pressed_at) * 1000

    def timings(self, released_at: float) -> str:
        """One line of the timings a user feels, for -v."""

        def ms(value: float | None) -> str:
            return f"{value:.0f} ms" if value is not None else "n/a"

        to_request = (self.sent_at - released_at) * 1000 if self.sent_at else None
        server = self.server * 1000 if self.server is not None else None
        return (
            f"press→first sample {ms(self.press_ms)}, release→request {ms(to_request)}, server {ms(server)}, "
            f"release→text {ms((time.monotonic() - released_at) * 1000)}; {self.seconds:.1f} s of audio in "
            f"{len(self._uploads)} part(s), {self.bytes_sent} bytes, {self.attempts} request(s)"
        )

    def add(self, part: Recording) -> Future[list[str] | None] | None:
        """Spool a finished part and start its upload; None once the dictation failed."""
        self._keep(part)
        if self.failure is not None:
            return None
        self._spool()
        return self._submit(part)

    def ready_texts(self) -> list[str]:
        """Texts of the parts transcribed so far, in order, up to the first one still in flight."""
        texts = []
        for upload in list(self._uploads):
            if not upload.done() or upload.result() is None:
                break
            texts.append(join(upload.result() or []))
        return texts

    def finish(self, tail: Recording, *, released_at: float | None = None, had_speech: bool | None = None) -> Result:
        """Send the tail and return the whole text; raise NothingToSend or TranscriptionFailed."""
        self._keep(tail)
        whole = Recording(np.concatenate(self._audio), self._rate)
        if not self._uploads and self.source != "retry" and had_speech is None:
            try:
                check_sendable(whole, self.config)
            except NothingToSend:
                self.pipeline.discard(self.entry_id, "nothing to send")
                raise
        self._spool()
        if (
            self.failure is None
            and len(tail.samples)
            and (had_speech is not None or has_speech(tail) or not self._uploads)
        ):
            self._submit(tail)
        texts: list[str] = []
        for upload in self._uploads:
            texts.extend(upload.result() or [])
        self.finished = True
        if self._executor is not None:
            self._executor.shutdown(wait=False)
        if self.failure is not None:
            saved = ""
            if self.entry_id is not None and self.pipeline.history is not None:
                entry_id, failure = self.entry_id, self.failure
                self.pipeline._record(lambda h: h.mark_failed(entry_id, failure, attempts=max(1, self.attempts)))
                if not self.pipeline.keep_claims:
                    self.pipeline._record(lambda h: h.release(entry_id))
                saved = f"; the recording is saved: run `dictate retry {entry_id}`"
            raise TranscriptionFailed(self.failure + saved, self.entry_id)
        speech = has_speech(whole) if had_speech is None else had_speech
        text = process(join(texts), had_speech=speech, allow_newlines=self.config.output.allow_newlines)
        self._record_outcome(text, released_at)
        return Result(text, self.entry_id, whole.seconds, self.attempts, self.bytes_sent, self.sent_at, self.server)

    def part_texts(self) -> list[str]:
        """After finish: the text of each part, in order (to deliver what was not streamed)."""
        return [join(upload.result() or []) for upload in self._uploads]

    def cancel(self) -> None:
        self.pipeline.discard(self.entry_id, "cancelled")

    def _keep(self, part: Recording) -> None:
        self._rate = part.rate
        self._audio.append(part.samples)

    def _submit(self, part: Recording) -> Future[list[str] | None]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dictate-upload")
        upload = self._executor.submit(self._send, part, self.ready_texts())
        self._uploads.append(upload)
        return upload

    def _spool(self) -> None:
        """Make the spool hold everything recorded so far: the first time all of it, then only what
        came since, so the cost before an upload does not grow with the dictation."""
        history = self.pipeline.history
        if history is None or self.source == "retry":
            return
        api = self.config.api
        audio = np.concatenate(self._audio)
        try:
            if not self._spooled:
                # The spool is WAV whatever the upload format: it only ever grows by appending samples.
                entry = history.spool(
                    encode(Recording(audio, self._rate), "wav"),
                    source=self.source,
                    model=api.model,
                    base_url=api.base_url,
                    press_to_audio_ms=self.press_ms,
                )
                self.entry_id, self._spooled = entry.id, True
            elif len(audio) > self._spooled_samples:
                assert self.entry_id is not None
                history.append_audio(self.entry_id, audio[self._spooled_samples :].tobytes(), len(audio) / self._rate)
            self._spooled_samples = len(audio)
        except HistoryError as exc:  # a full disk must not also cost the dictation in memory
            log.warning("warning: the recording could not be saved (%s); sending it anyway", exc.message)

    def _send(self, part: Recording, context: list[str]) -> list[str] | None:
        """Upload one part (in pieces under the upload limit) after the text in `context`; None when it failed."""
        api = self.config.api
        texts: list[str] = []
        limit = int(api.max_upload_mb * 1_000_000)
        try:
            for piece, encoded in split_for_upload(part, self.pipeline.upload_format, limit):
                transcript = self.pipeline.upload(piece, encoded, prompt_for(api.prompt, context + texts))
                texts.append(speech_text(transcript))
                with self._lock:
                    self.attempts += transcript.attempts
                    self.bytes_sent += transcript.bytes_sent
                    self.sent_at = max(self.sent_at or 0.0, transcript.sent_at or 0.0) or None
                    if transcript.server_seconds is not None:
                        self.server = (self.server or 0.0) + transcript.server_seconds
        except TranscriptionError as exc:
            with self._lock:
                self.failure = self.failure or exc.message
            return None
        return texts

    def _record_outcome(self, text: str, released_at: float | None) -> None:
        if self.entry_id is None or self.pipeline.history is None:
            return
        entry_id = self.entry_id
        if not text:
            self.pipeline.discard(entry_id, "the server heard no words")
            return
        to_request = (self.sent_at - released_at) * 1000 if self.sent_at and released_at else None
        server_ms = self.server * 1000 if self.server is not None else None
        self.pipeline._record(
            lambda h: h.mark_done(
                entry_id,
                text,
                attempts=self.attempts,
                bytes_uploaded=self.bytes_sent,
                release_to_request_ms=to_request,
                server_ms=server_ms,
            )
        )


def open_history(config: Config) -> History | None:
    """The history and spool, or None (with a warning) when they cannot be used."""
    try:
        return History.open(config.history)
    except HistoryError as exc:
        log.warning("warning: %s; dictations will not be saved", exc.message)
        return None
