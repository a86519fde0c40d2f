"""The OpenAI-compatible transcription client: request as data, one keep-alive session, retries,
and parsing of every provider's answers and error shapes.

Providers differ: OpenAI, Groq, LocalAI and vLLM send errors as {"error": {"message": ...}},
whisper.cpp as {"error": "..."}, speaches (FastAPI) as {"detail": ...}. Success is {"text": ...},
a JSON string (vLLM with response_format=text) or a plain-text body.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import requests

from dictate import DictateError
from dictate.audio import EncodedAudio
from dictate.config import ApiConfig
from dictate.textproc import sanitize

MAX_RESPONSE_BYTES = 8 * 1024 * 1024
CONNECT_TIMEOUT = 10.0
USER_AGENT = "dictate"


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
    segments: tuple[Segment, ...] | None = None  # present for verbose_json answers
    server_seconds: float | None = None  # from openai-processing-ms when the server sends it
    request_seconds: float = 0.0  # request sent -> answer read, as measured here
    attempts: int = 1
    bytes_sent: int = 0
    sent_at: float | None = None  # monotonic time the (last) request was sent


@dataclass(frozen=True)
class TranscriptionRequest:
    """Everything to send except the key, which is added only at the moment of sending."""

    url: str
    fields: tuple[tuple[str, str], ...]
    audio: EncodedAudio


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
    """The multipart fields for one upload; optional fields only when set."""
    fields = [("model", api.model)]
    if api.language:
        fields.append(("language", api.language))
    prompt = api.prompt if prompt is None else prompt
    if prompt:
        fields.append(("prompt", prompt))
    if api.temperature:
        fields.append(("temperature", f"{api.temperature:g}"))
    if api.response_format:
        fields.append(("response_format", api.response_format))
    return TranscriptionRequest(api.base_url.rstrip("/") + "/audio/transcriptions", tuple(fields), audio)


class Transcriber:
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

    def __repr__(self) -> str:
        return f"Transcriber({self.api.base_url!r}, model={self.api.model!r})"

    def close(self) -> None:
        self.session.close()

    def warm(self) -> None:
        """Open the connection now (DNS, TCP, TLS) so the upload on release starts at once."""
        with contextlib.suppress(requests.RequestException):  # the real request reports any problem
            self.session.head(self.api.base_url, timeout=(CONNECT_TIMEOUT, 5), allow_redirects=False)

    def transcribe(self, audio: EncodedAudio, prompt: str | None = None) -> Transcript:
        """Upload and return the transcript, retrying what may pass; raise TranscriptionError."""
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
                elapsed = time.monotonic() - sent
                status, ctype = response.status_code, response.headers.get("Content-Type", "")
                resp_headers = response.headers
        except requests.RequestException as exc:
            raise network_error(exc, self.api) from None
        if status >= 400:
            raise self._http_error(status, ctype, body, resp_headers, len(request.audio.data))
        text, segments = parse_response(ctype, body)
        server_ms = resp_headers.get("openai-processing-ms")
        return Transcript(
            text=redact(text, self._key),
            segments=segments,
            server_seconds=float(server_ms) / 1000 if server_ms and server_ms.replace(".", "", 1).isdigit() else None,
            request_seconds=elapsed,
            bytes_sent=len(request.audio.data),
            sent_at=sent,
        )

    # ---- errors ------------------------------------------------------------------------------

    def _host(self) -> str:
        parts = urlsplit(self.api.base_url)
        return parts.netloc or self.api.base_url

    def _http_error(self, status: int, ctype: str, body: bytes, headers: Any, size: int) -> TranscriptionError:
        detail, code = parse_error(ctype, body)
        detail = redact(detail, self._key)
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
    return sanitize(inner.group(2) if inner else text)[:200] or type(exc).__name__


def redact(text: str, key: str | None) -> str:
    """Never let a key, even echoed back by a server, reach the user's screen or logs."""
    if key:
        text = text.replace(key, "***")
    return re.sub(r"\b(sk|gsk|pk|rk)-[A-Za-z0-9_*\-]{6,}", r"\1-***", text)


def _decode(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def parse_response(content_type: str, body: bytes) -> tuple[str, tuple[Segment, ...] | None]:
    """Text (and verbose_json segments) from a successful answer of any provider."""
    text = _decode(body)
    stripped = text.strip()
    is_json = "json" in content_type.lower() or stripped[:1] in ("{", '"')
    if not is_json:
        return text, None
    try:
        data = json.loads(stripped)
    except ValueError:
        if "json" in content_type.lower():
            raise TranscriptionError("the server's answer is not valid JSON", kind="bad_response") from None
        return text, None
    if isinstance(data, str):
        return data, None
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        segments = None
        if isinstance(data.get("segments"), list):
            segments = tuple(_segment(s) for s in data["segments"] if isinstance(s, dict))
        return data["text"], segments
    raise TranscriptionError(f"the server's answer has no text: {sanitize(stripped)[:120]}", kind="bad_response")


def _segment(raw: dict[str, Any]) -> Segment:
    def num(name: str, default: float) -> float:
        value = raw.get(name)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default

    return Segment(
        str(raw.get("text", "")), num("no_speech_prob", 0.0), num("avg_logprob", 0.0), num("compression_ratio", 1.0)
    )


def speech_text(transcript: Transcript) -> str:
    """The transcript without segments that Whisper's own rules mark as silence or repetition."""
    if not transcript.segments:
        return transcript.text
    return "".join(s.text for s in transcript.segments if not s.is_silence)


def parse_error(content_type: str, body: bytes) -> tuple[str, str]:
    """A readable one-line message and a machine code (may be empty) from any provider's error."""
    text = _decode(body).strip()
    message, code = "", ""
    try:
        data = json.loads(text) if text[:1] in ("{", "[", '"') else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            message = str(err.get("message") or "")
            code = str(err.get("code") or err.get("type") or "")
        elif isinstance(err, str):
            message = err
        detail = data.get("detail")
        if not message and detail is not None:
            message = _detail_text(detail)
        if not message and isinstance(data.get("message"), str):
            message = data["message"]
        if not message:
            message = json.dumps(data)[:200]
    elif isinstance(data, str):
        message = data
    elif text.startswith("<"):
        title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
        message = title.group(1) if title else ""
    else:
        message = text
    message = sanitize(message)
    return (message[:300] + "…" if len(message) > 300 else message), code


def _detail_text(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):  # FastAPI validation errors: [{"loc": [...], "msg": "..."}]
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", "")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("msg") or json.dumps(detail))
    return str(detail)


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from retry-after-ms or Retry-After (seconds or an HTTP date), else None."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
