"""Engines turn a recording into a transcript. One interface, `Engine`; each engine is a leaf behind it:
`http` (any OpenAI-compatible endpoint) and `local` (Whisper on this machine, the `[local]` extra).

`choose_engine` decides which one a configuration means, `open_engine` builds it after the checks
that protect the key or find the model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from dictate.errors import ConfigError, DictateError, redact

if TYPE_CHECKING:
    from dictate.audio import Recording
    from dictate.config import Config

log = logging.getLogger("dictate")

DEFAULT_BASE_URL = "https://api.openai.com/v1"


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
    """The transcription failed; `retryable` says whether trying again may help.

    The message is redacted here, once, so no path (the history's error column, a log line, a
    notification) can carry a key a server echoed."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(redact(message))
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

    def prepare(self) -> None:
        """Get ready now, for a process that keeps the engine (load the model); raise a DictateError."""
        ...

    def warm(self) -> None:
        """Get ready for a transcription that is about to come (open a connection, load the model in
        the background); never raises."""
        ...

    def close(self) -> None: ...


GROQ_MIN_PART_SECONDS = 10.0  # Groq bills every request as at least 10 s of audio


def choose_engine(config: Config, environ: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """("http" or "local", why) for [api] engine; ConfigError, before anyone speaks, when the choice
    cannot work: no key for the default endpoint, or the local engine not installed."""
    from dictate import config as cfg
    from dictate.engines import local

    key, source = cfg.api_key(config, environ)
    default_url = config.api.base_url.rstrip("/") == DEFAULT_BASE_URL
    engine = config.api.engine
    if engine == "local" or (engine == "auto" and not key and default_url and local.installed()):
        if not local.installed():
            raise ConfigError(f'[api] engine = "local" needs faster-whisper; install it: {local.pip_command()}')
        why = '[api] engine = "local"' if engine == "local" else "no API key, and Whisper is installed here"
        return "local", why
    if key:
        return "http", f"the key from {source}"
    if not default_url:
        return "http", "[api] base_url (a server that needs no key)"
    local_way = (
        'set [api] engine = "local"'
        if local.installed()
        else f"install Whisper for this machine: {local.pip_command()}"
    )
    name = config.api.api_key_env or "OPENAI_API_KEY"
    raise ConfigError(
        f"no API key for {DEFAULT_BASE_URL}: store one with `dictate key set` (or export DICTATE_API_KEY or "
        f"{name}); or {local_way}"
    )


def min_part_seconds(config: Config) -> float:
    """The shortest part to send while the speaker goes on: [api] min_part_seconds, else the provider's
    need (Groq's per-request minimum), else 0 (the cuts' own lengths)."""
    if config.api.min_part_seconds:
        return config.api.min_part_seconds
    if config.api.engine != "local" and "api.groq.com" in config.api.base_url.lower():
        return GROQ_MIN_PART_SECONDS
    return 0.0


def open_engine(config: Config) -> Engine:
    """The engine for this configuration, after the checks that protect the key (http) or find the
    model (local); the local model is not loaded yet (prepare() or the first transcription does)."""
    from dictate import config as cfg

    kind, why = choose_engine(config)
    log.debug("engine: %s (%s)", kind, why)
    if kind == "local":
        from dictate.engines.local import LocalEngine, locate

        locate(config.local.model)  # a bad name or folder is a config error now, not after speaking
        return LocalEngine(config.api, config.local)
    from dictate.engines.http import HttpEngine, RetryPolicy

    cfg.check_endpoint(config)
    warning = cfg.insecure_permissions_warning(config)
    if warning:
        log.warning("warning: %s", warning)
    key, _source = cfg.api_key(config)
    retry = RetryPolicy(max_retries=config.api.max_retries, max_total_seconds=config.api.retry_seconds)
    return HttpEngine(config.api, key, retry=retry, key_env_hint=config.api.api_key_env or "OPENAI_API_KEY")
