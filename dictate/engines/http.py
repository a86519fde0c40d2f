"""The http engine: any OpenAI-compatible `POST {base_url}/audio/transcriptions`. The request is built
as data, sent over one keep-alive session with the key added only at send time, and retried as the
official client does; a recording over the upload limit goes up in parts cut at pauses.

Every wait has an end: each attempt has a deadline scaled with its upload ([api] timeout plus the
upload at MIN_UPLOAD_RATE), held by the transport's watchdog whatever the server does, and one upload
with its retries has a budget (the first attempt's deadline plus [api] retry_seconds).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit

from dictate.audio import EncodedAudio, Recording, encode, split_for_upload
from dictate.config import ApiConfig, display_url, endpoint_problem
from dictate.engines import Transcript, TranscriptionError
from dictate.engines.replies import (
    NotATranscript,
    excerpt,
    is_format_refusal,
    most_characters,
    parse_error,
    parse_response,
    parse_retry_after,
)
from dictate.engines.transport import Answer, Transport, display_host
from dictate.errors import ConfigError, add_secret, redact
from dictate.text import join
from dictate.text.prompt import prompt_for

log = logging.getLogger("dictate")

# The slowest upload an attempt allows for, in bytes per second (160 kbit/s, a poor mobile uplink):
# a minute of FLAC (about 1 MB) adds 50 s to [api] timeout.
MIN_UPLOAD_RATE = 20_000
# A retry is not started with less time than this left in the upload's budget.
MIN_ATTEMPT_SECONDS = 1.0
WARM_SECONDS = 15.0
PROBE_SECONDS = 15.0


@dataclass(frozen=True)
class TranscriptionRequest:
    """Everything to send except the key, which is added only at the moment of sending."""

    url: str
    fields: tuple[tuple[str, str], ...]
    audio: EncodedAudio


@dataclass(frozen=True)
class RetryPolicy:
    """Retries as the official OpenAI client does them, bounded in attempts and in the time spent
    after the first attempt's deadline (`max_total_seconds`, [api] retry_seconds)."""

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
    fields.extend(api.fields.items())  # [api] fields: never one dictate sets itself (checked when loaded)
    return TranscriptionRequest(api.base_url.rstrip("/") + "/audio/transcriptions", tuple(fields), audio)


def attempt_seconds(api: ApiConfig, upload_bytes: int) -> float:
    """The deadline of one attempt: [api] timeout, plus the upload at the slowest rate allowed."""
    return api.timeout + upload_bytes / MIN_UPLOAD_RATE


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
        problem = endpoint_problem(api.base_url, api.allow_insecure)
        if problem:  # the one transport policy holds for every engine, however it was made
            raise ConfigError(problem)
        self.api = api
        self._key = key
        self._key_env_hint = key_env_hint
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.transport = Transport()
        self.format = api.format  # becomes "wav" for a server that refuses the configured format
        self.host = display_host(api.base_url)
        self.name = f"{self.host}, {api.model}"
        add_secret(key)

    def __repr__(self) -> str:
        return f"HttpEngine({display_url(self.api.base_url)!r}, model={self.api.model!r})"

    def close(self) -> None:
        self.transport.close()

    def prepare(self) -> None:
        """Nothing to load: the connection opens with the first request, or warm()."""

    def warm(self) -> None:
        """Open the connection now (DNS, TCP, TLS) so the upload on release starts at once."""
        with contextlib.suppress(TranscriptionError):  # the real request reports any problem
            self.transport.request("HEAD", self.api.base_url, seconds=WARM_SECONDS, read_timeout=5)

    def probe(self) -> Answer:
        """`GET {base_url}/models` with the key, as `doctor` checks the endpoint: within a deadline, no
        redirect followed; raise TranscriptionError when no answer came."""
        url = self.api.base_url.rstrip("/") + "/models"
        answer = self.transport.request(
            "GET", url, seconds=PROBE_SECONDS, read_timeout=min(self.api.timeout, 10), headers=self._auth()
        )
        if 300 <= answer.status < 400:
            raise self._redirected(answer, url, "/models")
        return answer

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
        """One upload; a server that refuses the encoding itself (not a setting) gets WAV from then on
        (older whisper.cpp servers read only WAV)."""
        try:
            return self._post(encoded, prompt)
        except TranscriptionError as exc:
            if self.format == "wav" or exc.kind != "format":
                raise
            transcript = self._post(encode(recording, "wav"), prompt)  # the same error means: not the format
            log.warning(
                'warning: the server refused %s but took WAV; sending WAV from now on (set [api] format = "wav")',
                self.format,
            )
            self.format = "wav"
            return transcript

    def _post(self, audio: EncodedAudio, prompt: str | None) -> Transcript:
        """Send one file, retrying what may pass within the upload's budget; raise TranscriptionError."""
        request = build_request(self.api, audio, prompt)
        seconds = attempt_seconds(self.api, len(audio.data))
        end = time.monotonic() + seconds + self.retry.max_total_seconds
        attempt = 0
        while True:
            try:
                transcript = self._send(request, min(seconds, end - time.monotonic()))
                return replace(transcript, attempts=attempt + 1)
            except TranscriptionError as exc:
                if not exc.retryable or attempt >= self.retry.max_retries:
                    raise
                pause = self.retry.delay(attempt, exc.retry_after)
                if time.monotonic() + pause + MIN_ATTEMPT_SECONDS > end:
                    raise
                attempt += 1
                self._sleep(pause)

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}"} if self._key else {}

    def _send(self, request: TranscriptionRequest, seconds: float) -> Transcript:
        headers = {"Accept": "application/json, text/plain;q=0.9", **self._auth()}
        files = {"file": (request.audio.filename, request.audio.data, request.audio.mime)}
        sent = time.monotonic()
        answer = self.transport.request(
            "POST",
            request.url,
            seconds=seconds,
            read_timeout=self.api.timeout,
            headers=headers,
            data=list(request.fields),
            files=files,
        )
        size = len(request.audio.data)
        if 300 <= answer.status < 400:
            raise self._redirected(answer, request.url, "/audio/transcriptions")
        if answer.status >= 400 or answer.status < 200:
            raise self._http_error(answer, size)
        try:
            text, segments = parse_response(
                answer.content_type, answer.body, text_asked=self.api.response_format == "text"
            )
        except NotATranscript as exc:
            raise self._not_a_transcript(answer, exc) from None
        heard = max(len(text), sum(len(s.text) for s in segments or ()))
        if heard > most_characters(request.audio.seconds):
            raise TranscriptionError(
                f"{self.host} answered HTTP {answer.status} with {heard} characters for {request.audio.seconds:.1f} s "
                "of audio, more than speech holds: not a transcript; check [api] base_url",
                kind="bad_response",
                status=answer.status,
            )
        server_ms = answer.headers.get("openai-processing-ms")
        if segments is not None:  # the typed text is made of the segments when there are some
            segments = tuple(replace(s, text=redact(s.text, shapes=False)) for s in segments)
        return Transcript(
            text=redact(text, shapes=False),  # a server that echoes the key must not get it typed
            segments=segments,
            server_seconds=float(server_ms) / 1000 if server_ms and server_ms.replace(".", "", 1).isdigit() else None,
            bytes_sent=size,
            sent_at=sent,
        )

    # ---- errors ------------------------------------------------------------------------------

    def _redirected(self, answer: Answer, url: str, suffix: str) -> TranscriptionError:
        """Never follow a redirect: the key and the voice would go where nobody configured them to."""
        location = answer.headers.get("Location", "")
        if not location:
            return TranscriptionError(
                f"HTTP {answer.status} from {self.host} without a Location; check [api] base_url", kind="redirect"
            )
        target = display_url(urljoin(url, location.strip()))
        parts = urlsplit(target)
        base = target.split("?", 1)[0].rstrip("/")
        base = base.removesuffix(suffix) if base.endswith(suffix) else base
        return TranscriptionError(
            f"HTTP {answer.status} from {self.host}: it redirects to {excerpt(target, 200)}; dictate does not "
            f"follow redirects with your key and audio: if you trust {parts.hostname or 'it'}, set [api] base_url "
            f"to {excerpt(base, 200)}",
            kind="redirect",
            status=answer.status,
        )

    def _not_a_transcript(self, answer: Answer, exc: NotATranscript) -> TranscriptionError:
        if exc.server_error is not None:  # whisper.cpp answers its errors with HTTP 200
            if is_format_refusal(answer.status, exc.server_error):
                return TranscriptionError(
                    f'{self.host} refused the audio: {exc.server_error}; set [api] format = "wav"',
                    kind="format",
                    status=answer.status,
                )
            return TranscriptionError(
                f"{self.host} answered HTTP {answer.status} with {exc.what}", kind="bad_response", status=answer.status
            )
        return TranscriptionError(
            f"{self.host} answered HTTP {answer.status} with {exc.what}, not a transcript; "
            "check the network and [api] base_url",
            kind="bad_response",
            status=answer.status,
        )

    def _http_error(self, answer: Answer, size: int) -> TranscriptionError:
        status = answer.status
        detail, code = parse_error(answer.content_type, answer.body)
        host = self.host
        said = f": {detail}" if detail else ""
        retry_after = parse_retry_after(answer.headers)
        if status in (401, 403):
            if self._key:
                hint = (
                    f"check the API key is valid for {host} (`dictate config check` says where it comes from; "
                    "`dictate key set` stores another)"
                )
            else:
                hint = (
                    "no API key is set: store one with `dictate key set`, or export DICTATE_API_KEY or "
                    + self._key_env_hint
                )
            return TranscriptionError(f"HTTP {status} from {host}{said}; {hint}", kind="auth", status=status)
        if status == 404:
            return TranscriptionError(
                f"HTTP 404 from {host}{said}; check [api] base_url ({display_url(self.api.base_url)}, without "
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
            if is_format_refusal(status, detail):
                return TranscriptionError(
                    f"HTTP {status} from {host}{said}; the server refused the audio's encoding: "
                    'set [api] format = "wav"',
                    kind="format",
                    status=status,
                )
            return TranscriptionError(
                f"HTTP {status} from {host}{said}; the server refused the audio or a setting: check [api] "
                "model, language, response_format and prompt (audio shorter than 0.1 s is refused)",
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
