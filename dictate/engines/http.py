"""The http engine: any OpenAI-compatible `POST {base_url}/audio/transcriptions`. The request is built
as data, sent over one keep-alive session with the key added only at send time, and retried as the
official client does; a recording over the upload limit goes up in parts cut at pauses.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import requests

from dictate.audio import EncodedAudio, Recording, encode, split_for_upload
from dictate.config import ApiConfig
from dictate.engines import Transcript, TranscriptionError
from dictate.engines.replies import parse_error, parse_response, parse_retry_after
from dictate.errors import add_secret, redact
from dictate.text import join, sanitize
from dictate.text.prompt import prompt_for

log = logging.getLogger("dictate")

MAX_RESPONSE_BYTES = 8 * 1024 * 1024
CONNECT_TIMEOUT = 10.0
USER_AGENT = "dictate"


@dataclass(frozen=True)
class TranscriptionRequest:
    """Everything to send except the key, which is added only at the moment of sending."""

    url: str
    fields: tuple[tuple[str, str], ...]
    audio: EncodedAudio


@dataclass(frozen=True)
class RetryPolicy:
    """Retries as the official OpenAI client does them, bounded in attempts and total time."""

    max_retries: int = 3
    max_total_seconds: float = 45.0
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, retry: int, retry_after: float | None, rand: Callable[[], float] = random.random) -> float:
        if retry_after is not None and 0 <= retry_after <= self.max_retry_after:
            return retry_after
        return min(self.base_delay * 2**retry, self.max_delay) * (1 - 0.25 * rand())


NO_RETRY = RetryPolicy(max_retries=0)


def build_request(api: ApiConfig, audio: EncodedAudio, prompt: str | None = None) -> TranscriptionRequest:
    """The multipart fields for one upload (`prompt` is the whole prompt); optional fields only when set."""
    fields = [("model", api.model)]
    if api.language:
        fields.append(("language", api.language))
    if prompt:
        fields.append(("prompt", prompt))
    if api.temperature:
        fields.append(("temperature", f"{api.temperature:g}"))
    if api.response_format:
        fields.append(("response_format", api.response_format))
    return TranscriptionRequest(api.base_url.rstrip("/") + "/audio/transcriptions", tuple(fields), audio)


class HttpEngine:
    """Sends recordings to one endpoint over one keep-alive HTTP session."""

    def __init__(
        self,
        api: ApiConfig,
        key: str | None,
        *,
        retry: RetryPolicy | None = None,
        key_env_hint: str = "OPENAI_API_KEY",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = api
        self._key = key
        self._key_env_hint = key_env_hint
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.format = api.format  # becomes "wav" for a server that refuses the configured format
        self.name = f"{self._host()}, {api.model}"
        add_secret(key)

    def __repr__(self) -> str:
        return f"HttpEngine({self.api.base_url!r}, model={self.api.model!r})"

    def close(self) -> None:
        self.session.close()

    def warm(self) -> None:
        """Open the connection now (DNS, TCP, TLS) so the upload on release starts at once."""
        with contextlib.suppress(requests.RequestException):  # the real request reports any problem
            self.session.head(self.api.base_url, timeout=(CONNECT_TIMEOUT, 5), allow_redirects=False)

    def transcribe(self, recording: Recording, before: str = "", vocabulary: Sequence[str] = ()) -> Transcript:
        """Upload a recording (in parts under the upload limit, each prompted with the text before it)
        and return its transcript; raise TranscriptionError."""
        limit = int(self.api.max_upload_mb * 1_000_000)
        pieces: list[Transcript] = []
        for piece, encoded in split_for_upload(recording, self.format, limit):
            prompt = prompt_for(self.api.prompt, join([before, *(t.speech_text for t in pieces)]), vocabulary)
            pieces.append(replace(self._upload(piece, encoded, prompt), prompt=prompt))
        if len(pieces) == 1:
            return pieces[0]
        segments = [s for t in pieces for s in t.segments or ()] if all(t.segments for t in pieces) else None
        servers = [t.server_seconds for t in pieces if t.server_seconds is not None]
        return Transcript(
            text=join([t.text for t in pieces]),
            segments=tuple(segments) if segments is not None else None,
            server_seconds=sum(servers) if servers else None,
            attempts=sum(t.attempts for t in pieces),
            bytes_sent=sum(t.bytes_sent for t in pieces),
            sent_at=max((t.sent_at for t in pieces if t.sent_at is not None), default=None),
            prompt=pieces[-1].prompt,
        )

    def _upload(self, recording: Recording, encoded: EncodedAudio, prompt: str | None) -> Transcript:
        """One upload; a server that refuses FLAC or Opus gets WAV from then on (older whisper.cpp
        servers read only WAV)."""
        try:
            return self._post(encoded, prompt)
        except TranscriptionError as exc:
            if self.format == "wav" or exc.status not in (400, 415):
                raise
            transcript = self._post(encode(recording, "wav"), prompt)  # the same error means: not the format
            log.warning(
                'warning: the server refused %s but took WAV; sending WAV from now on (set [api] format = "wav")',
                self.format,
            )
            self.format = "wav"
            return transcript

    def _post(self, audio: EncodedAudio, prompt: str | None) -> Transcript:
        """Send one file, retrying what may pass; raise TranscriptionError."""
        request = build_request(self.api, audio, prompt)
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                transcript = self._send(request)
                return replace(transcript, attempts=attempt + 1)
            except TranscriptionError as exc:
                if not exc.retryable or attempt >= self.retry.max_retries:
                    raise
                pause = self.retry.delay(attempt, exc.retry_after)
                if time.monotonic() - started + pause > self.retry.max_total_seconds:
                    raise
                attempt += 1
                self._sleep(pause)

    def _send(self, request: TranscriptionRequest) -> Transcript:
        headers = {"Accept": "application/json, text/plain;q=0.9"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        files = {"file": (request.audio.filename, request.audio.data, request.audio.mime)}
        sent = time.monotonic()
        try:
            with self.session.post(
                request.url,
                data=list(request.fields),
                files=files,
                headers=headers,
                timeout=(CONNECT_TIMEOUT, self.api.timeout),
                stream=True,
            ) as response:
                body = _read_capped(response)
                status, ctype = response.status_code, response.headers.get("Content-Type", "")
                resp_headers = response.headers
        except requests.RequestException as exc:
            raise network_error(exc, self.api) from None
        if status >= 400:
            raise self._http_error(status, ctype, body, resp_headers, len(request.audio.data))
        text, segments = parse_response(ctype, body)
        server_ms = resp_headers.get("openai-processing-ms")
        return Transcript(
            text=redact(text, shapes=False),  # a server that echoes the key must not get it typed
            segments=segments,
            server_seconds=float(server_ms) / 1000 if server_ms and server_ms.replace(".", "", 1).isdigit() else None,
            bytes_sent=len(request.audio.data),
            sent_at=sent,
        )

    # ---- errors ------------------------------------------------------------------------------

    def _host(self) -> str:
        parts = urlsplit(self.api.base_url)
        return parts.netloc or self.api.base_url

    def _http_error(self, status: int, ctype: str, body: bytes, headers: Any, size: int) -> TranscriptionError:
        detail, code = parse_error(ctype, body)
        detail = redact(detail)
        host = self._host()
        said = f": {detail}" if detail else ""
        retry_after = parse_retry_after(headers)
        if status in (401, 403):
            if self._key:
                hint = f"check the API key (DICTATE_API_KEY or {self._key_env_hint}) is valid for {host}"
            else:
                hint = f"no API key is set: export DICTATE_API_KEY or {self._key_env_hint}"
            return TranscriptionError(f"HTTP {status} from {host}{said}; {hint}", kind="auth", status=status)
        if status == 404:
            return TranscriptionError(
                f"HTTP 404 from {host}{said}; check [api] base_url ({self.api.base_url}, without "
                f"/audio/transcriptions) and that the server knows [api] model ({self.api.model})",
                kind="not_found",
                status=status,
            )
        if status == 413:
            return TranscriptionError(
                f"HTTP 413 from {host}: the upload ({size / 1e6:.1f} MB) is too large{said}; lower [api] "
                'max_upload_mb or use [api] format = "ogg"',
                kind="too_large",
                status=status,
            )
        if status in (400, 415, 422):
            return TranscriptionError(
                f"HTTP {status} from {host}{said}; the server refused the audio or a setting: check [api] "
                "format, model and language (audio shorter than 0.1 s is refused)",
                kind="bad_request",
                status=status,
            )
        if status == 429:
            if code == "insufficient_quota" or "quota" in detail.lower():
                return TranscriptionError(
                    f"HTTP 429 from {host}{said}; the account's quota is used up: check billing with the provider",
                    kind="quota",
                    status=status,
                )
            return TranscriptionError(
                f"HTTP 429 from {host}{said}; rate limited, try again shortly",
                kind="rate",
                status=status,
                retryable=True,
                retry_after=retry_after,
            )
        if status in (408, 409) or status >= 500:
            return TranscriptionError(
                f"HTTP {status} from {host}{said}; the server failed, try again later",
                kind="server",
                status=status,
                retryable=True,
                retry_after=retry_after,
            )
        return TranscriptionError(f"HTTP {status} from {host}{said}", kind="http", status=status)


def network_error(exc: requests.RequestException, api: ApiConfig) -> TranscriptionError:
    """A readable, classified error for a request that got no HTTP answer."""
    host = urlsplit(api.base_url).netloc or api.base_url
    text = repr(exc)
    if isinstance(exc, requests.Timeout) and not isinstance(exc, requests.ConnectTimeout):
        return TranscriptionError(
            f"no answer from {host} within {api.timeout:g} s; the server may be overloaded, or raise [api] timeout",
            kind="timeout",
            retryable=True,
        )
    if isinstance(exc, requests.ConnectTimeout):
        return TranscriptionError(
            f"cannot connect to {host}: timed out; check the network and [api] base_url",
            kind="connect",
            retryable=True,
        )
    if "NameResolution" in text or "Name or service not known" in text or "name resolution" in text:
        return TranscriptionError(
            f"cannot resolve {urlsplit(api.base_url).hostname}: check [api] base_url and the network",
            kind="dns",
            retryable=True,
        )
    if "Connection refused" in text or "ConnectionRefused" in text:
        return TranscriptionError(
            f"connection refused by {host}: is the server running? check [api] base_url",
            kind="refused",
            retryable=True,
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return TranscriptionError(f"TLS failed with {host}: {_short(exc)}", kind="tls")
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return TranscriptionError(f"invalid [api] base_url {api.base_url!r}", kind="config")
    return TranscriptionError(f"connection to {host} failed: {_short(exc)}", kind="connection", retryable=True)


def _read_capped(response: requests.Response) -> bytes:
    chunks, total = [], 0
    for chunk in response.iter_content(64 * 1024):
        total += len(chunk)
        if total > MAX_RESPONSE_BYTES:
            raise TranscriptionError(
                f"the server's answer exceeded {MAX_RESPONSE_BYTES // 2**20} MB; "
                "is [api] base_url a transcription endpoint?",
                kind="bad_response",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _short(exc: BaseException) -> str:
    text = str(exc)
    inner = re.search(r"\(Caused by (\w+)\((?:[^:]*: )?(.*?)\)\)?\s*$", text)
    return sanitize(redact(inner.group(2) if inner else text))[:200] or type(exc).__name__
