"""One dictation from captured audio to clean text. Collaborators are passed in, so tests can swap them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from dictate import DictateError
from dictate.audio import Recording, SpeechTracker, encode, has_speech
from dictate.config import Config
from dictate.recorder import Recorder
from dictate.textproc import process
from dictate.transcriber import Transcriber, Transcript, speech_text

log = logging.getLogger(__name__)


class NothingToSend(DictateError):
    """The recording was too short or silent; nothing was uploaded."""


@dataclass(frozen=True)
class Dictation:
    text: str
    seconds: float
    had_speech: bool
    transcript: Transcript


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
    captured = 0
    deadline = time.monotonic() + max_seconds
    reason = "stopped"
    while True:
        block = recorder.read(timeout=poll)
        if block is not None:
            tracker.feed(block)
            captured += len(block)
        if should_stop():
            break
        if captured >= max_seconds * recorder.capture_rate or time.monotonic() > deadline + 1:
            reason = "max_seconds"
            break
        if silence_seconds and tracker.speech_started and tracker.silence_after_speech >= silence_seconds:
            reason = "silence"
            break
    recording = recorder.take()
    if reason == "max_seconds":
        recording = Recording(recording.samples[: int(max_seconds * recording.rate)], recording.rate)
    return recording, reason


def check_sendable(recording: Recording, config: Config) -> bool:
    """Raise NothingToSend for a recording that should not be uploaded; return whether it has speech."""
    if recording.seconds < config.audio.min_seconds:
        raise NothingToSend(
            f"recording too short ({recording.seconds:.2f} s < [audio] min_seconds "
            f"{config.audio.min_seconds:g}); nothing sent"
        )
    speech = has_speech(recording)
    if not speech:
        raise NothingToSend(f"no speech heard in {recording.seconds:.1f} s of audio; nothing sent")
    return speech


def transcribe(
    recording: Recording, config: Config, transcriber: Transcriber, *, had_speech: bool, trailing_space: bool = False
) -> Dictation:
    """Encode, upload and clean one recording."""
    audio = encode(recording, config.api.format)
    transcript = transcriber.transcribe(audio)
    log.debug(
        "uploaded %d bytes (%s, %.1f s audio) in %.3f s, %d attempt(s)",
        transcript.bytes_sent,
        config.api.format,
        recording.seconds,
        transcript.request_seconds,
        transcript.attempts,
    )
    text = process(speech_text(transcript), had_speech=had_speech, allow_newlines=False, trailing_space=trailing_space)
    return Dictation(text, recording.seconds, had_speech, transcript)
