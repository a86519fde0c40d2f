"""Engines turn a recording into a transcript. One interface, `Engine`; each engine is a leaf behind it:
`http` (any OpenAI-compatible endpoint).

`open_engine` picks and builds the engine for a configuration, after the checks that protect the key.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from dictate.errors import DictateError

if TYPE_CHECKING:
    from dictate.audio import Recording
    from dictate.config import Config

log = logging.getLogger("dictate")


@dataclass(frozen=True)
class Segment:
    text: str
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 1.0

    @property
    def is_silence(self) -> bool:
        """Whisper's own rule for a segment over silence, plus its repetition check."""
        if self.no_speech_prob > 0.6 and self.avg_logprob < -1.0:
            return True
        return self.compression_ratio > 2.4


@dataclass(frozen=True)
class Transcript:
    text: str
    segments: tuple[Segment, ...] | None = None  # when the engine gives them (verbose_json, local)
    server_seconds: float | None = None  # processing time the server reports (openai-processing-ms)
    attempts: int = 1  # requests made
    bytes_sent: int = 0
    sent_at: float | None = None  # time.monotonic() the (last) request went out
    prompt: str | None = None  # the prompt the model was given (of the last request), to tell an echo

    @property
    def speech_text(self) -> str:
        """The text without the segments that Whisper's own rules mark as silence or repetition."""
        if not self.segments:
            return self.text
        return "".join(s.text for s in self.segments if not s.is_silence)


class TranscriptionError(DictateError):
    """The transcription failed; `retryable` says whether trying again may help."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class Engine(Protocol):
    name: str  # what and where, for messages ("api.openai.com, whisper-1")

    def transcribe(self, recording: Recording, before: str = "", vocabulary: Sequence[str] = ()) -> Transcript:
        """The transcript of a recording that follows the text `before` (the model is prompted with the
        configured hint, the vocabulary that fits and the end of that text); raise TranscriptionError."""
        ...

    def warm(self) -> None:
        """Get ready for a transcription that is about to come (open a connection); never raises."""
        ...

    def close(self) -> None: ...


def open_engine(config: Config) -> Engine:
    """The engine for this configuration, after the checks that protect the key."""
    from dictate import config as cfg
    from dictate.engines.http import HttpEngine, RetryPolicy

    cfg.check_endpoint(config)
    warning = cfg.insecure_permissions_warning(config)
    if warning:
        log.warning("warning: %s", warning)
    key, _source = cfg.api_key(config)
    retry = RetryPolicy(max_retries=config.api.max_retries, max_total_seconds=config.api.retry_seconds)
    return HttpEngine(config.api, key, retry=retry, key_env_hint=config.api.api_key_env or "OPENAI_API_KEY")
