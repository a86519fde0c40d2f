"""One dictation from captured audio to clean text, spooled so that nothing is lost on the way.

Collaborators (transcriber, history) are passed in, so tests and other front ends can swap them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from dictate import DictateError
from dictate.audio import EncodedAudio, Recording, SpeechTracker, decode, encode, encode_for_upload, has_speech
from dictate.config import Config
from dictate.history import History, HistoryError
from dictate.recorder import Recorder
from dictate.textproc import join, process
from dictate.transcriber import Transcriber, TranscriptionError, speech_text

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
    """Spool, transcribe (in parts under the upload limit) and record one dictation at a time."""

    def __init__(self, config: Config, transcriber: Transcriber, history: History | None) -> None:
        self.config = config
        self.transcriber = transcriber
        self.history = history

    def send(
        self,
        recording: Recording,
        *,
        source: str,
        had_speech: bool = True,
        pressed_at: float | None = None,
        first_sample_at: float | None = None,
        released_at: float | None = None,
    ) -> Result:
        """Spool the recording, then transcribe it; raise TranscriptionFailed naming the saved entry."""
        api = self.config.api
        parts = encode_for_upload(recording, api.format, int(api.max_upload_mb * 1_000_000))
        entry_id = None
        if self.history is not None:
            whole = parts[0] if len(parts) == 1 else encode(recording, api.format)
            press_ms = (first_sample_at - pressed_at) * 1000 if first_sample_at and pressed_at else None
            try:
                entry_id = self.history.spool(
                    whole, source=source, model=api.model, base_url=api.base_url, press_to_audio_ms=press_ms
                ).id
            except HistoryError as exc:  # a full disk must not also cost the dictation in memory
                log.warning("warning: the recording could not be saved (%s); sending it anyway", exc.message)
        return self._transcribe(parts, recording.seconds, entry_id, had_speech, released_at)

    def resend(self, entry_id: int) -> Result:
        """Transcribe a spooled recording again (dictate retry)."""
        assert self.history is not None
        recording = decode(self.history.read_audio(entry_id))
        api = self.config.api
        parts = encode_for_upload(recording, api.format, int(api.max_upload_mb * 1_000_000))
        return self._transcribe(parts, recording.seconds, entry_id, has_speech(recording), None)

    def _transcribe(
        self,
        parts: list[EncodedAudio],
        seconds: float,
        entry_id: int | None,
        had_speech: bool,
        released_at: float | None,
    ) -> Result:
        texts: list[str] = []
        attempts = sent = 0
        sent_at = server = None
        try:
            for part in parts:
                transcript = self.transcriber.transcribe(part, prompt_for(self.config.api.prompt, texts))
                texts.append(speech_text(transcript))
                attempts += transcript.attempts
                sent += transcript.bytes_sent
                sent_at = transcript.sent_at
                if transcript.server_seconds is not None:
                    server = (server or 0.0) + transcript.server_seconds
        except TranscriptionError as exc:
            message, saved = exc.message, ""
            if entry_id is not None and self.history is not None:
                self._record(lambda h: h.mark_failed(entry_id, message, attempts=max(1, attempts)))
                saved = f"; the recording is saved: run `dictate retry {entry_id}`"
            raise TranscriptionFailed(message + saved, entry_id) from None
        if len(parts) > 1:
            log.debug("sent %d parts under the %g MB upload limit", len(parts), self.config.api.max_upload_mb)
        text = process(join(texts), had_speech=had_speech, allow_newlines=self.config.output.allow_newlines)
        to_request = (sent_at - released_at) * 1000 if sent_at and released_at else None
        if entry_id is not None and self.history is not None:
            if text:
                server_ms = server * 1000 if server is not None else None
                self._record(
                    lambda h: h.mark_done(
                        entry_id,
                        text,
                        attempts=attempts,
                        bytes_uploaded=sent,
                        release_to_request_ms=to_request,
                        server_ms=server_ms,
                    )
                )
            else:
                self._record(lambda h: h.discard(entry_id, "the server heard no words"))
        return Result(text, entry_id, seconds, attempts, sent, sent_at, server)

    def delivered(self, result: Result, released_at: float | None = None) -> None:
        """Record that the text reached the user; the spooled audio goes unless kept."""
        if result.entry_id is None or self.history is None:
            return
        ms = (time.monotonic() - released_at) * 1000 if released_at else None
        entry_id = result.entry_id
        self._record(lambda h: h.mark_delivered(entry_id, release_to_delivery_ms=ms))

    def _record(self, step: Callable[[History], object]) -> None:
        assert self.history is not None
        try:
            step(self.history)
        except HistoryError as exc:
            log.warning("warning: history not updated: %s", exc.message)


def open_history(config: Config) -> History | None:
    """The history and spool, or None (with a warning) when they cannot be used."""
    try:
        return History.open(config.history)
    except HistoryError as exc:
        log.warning("warning: %s; dictations will not be saved", exc.message)
        return None
