"""The clean-up client: any OpenAI-compatible `POST {base_url}/chat/completions` (OpenAI, Groq, a
llama.cpp server, Ollama's /v1, vLLM), over one keep-alive session per endpoint, with the key added
only at send time, no redirect followed, and one total deadline ([cleanup] timeout) that holds
even when a server sends its answer a byte at a time.

`Cleaner` is what a dictation calls: it builds the request from text.cleanup, sends it, and checks
the answer; every failure is one CleanupError line, and the caller then delivers the transcript as
it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import urlsplit

import requests

from dictate.config import CleanupConfig, Config
from dictate.engines.replies import parse_error
from dictate.errors import ConfigError, DictateError, add_secret, redact
from dictate.text import cleanup

log = logging.getLogger("dictate")

MAX_ANSWER_BYTES = 1024 * 1024
USER_AGENT = "dictate"


class CleanupError(DictateError):
    """The clean-up failed or its answer was refused; the message is one line."""


def enabled_cleanups(config: Config) -> list[CleanupConfig]:
    """Every [cleanup] setting a dictation may use: the file's and each profile's, where enabled."""
    found = [config.cleanup] if config.cleanup.enabled else []
    for profile in config.profiles:
        values = profile.overrides.get("cleanup")
        if values and values.get("enabled", config.cleanup.enabled):
            found.append(dataclasses.replace(config.cleanup, **values))
    return found


def cleanup_key(config: Config, settings: CleanupConfig, environ: Mapping[str, str] = os.environ) -> str | None:
    """The chat endpoint's key: the variable named by [cleanup] api_key_env, else the transcription key
    when both endpoints are on the same host, else None. Masked in every message from then on."""
    key = environ.get(settings.api_key_env, "").strip() if settings.api_key_env else ""
    if not key and urlsplit(settings.base_url).netloc == urlsplit(config.api.base_url).netloc:
        from dictate.config import api_key

        key = api_key(config, environ)[0] or ""
    add_secret(key or None)
    return key or None


def check_policy(config: Config, settings: CleanupConfig) -> None:
    """The transport policy of transcription, for the chat endpoint: ConfigError when the transcript
    and the key may not go there."""
    from dictate.config import check_endpoint

    as_api = dataclasses.replace(
        config, api=dataclasses.replace(config.api, base_url=settings.base_url, allow_insecure=settings.allow_insecure)
    )
    try:
        check_endpoint(as_api)
    except ConfigError as exc:
        raise ConfigError(exc.message.replace("[api]", "[cleanup]").replace("the audio", "the text")) from None


class ChatClient:
    """One chat endpoint over one keep-alive session."""

    def __init__(self, settings: CleanupConfig, key: str | None) -> None:
        self.settings = settings
        self._key = key
        add_secret(key)
        self.url = settings.base_url.rstrip("/") + "/chat/completions"
        self.host = urlsplit(settings.base_url).netloc or settings.base_url
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        # The wait happens here; a request that outlives its deadline finishes (or fails) in the background.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dictate-cleanup")

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self.session.close()

    def complete(self, messages: Sequence[Mapping[str, str]], *, timeout: float) -> str:
        """The model's answer to `messages`, within `timeout` seconds in all; raise CleanupError."""
        body = {"model": self.settings.model, "messages": list(messages), "temperature": 0, "stream": False}
        deadline = time.monotonic() + timeout
        future = self._pool.submit(self._post, json.dumps(body).encode(), deadline)
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            raise CleanupError(
                f"no answer from {self.host} within {timeout:g} s; raise [cleanup] timeout, or use a faster model"
            ) from None

    def _post(self, payload: bytes, deadline: float) -> str:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        left = max(0.1, deadline - time.monotonic())
        try:
            with self.session.post(
                self.url, data=payload, headers=headers, timeout=(left, left), stream=True, allow_redirects=False
            ) as response:
                status, ctype = response.status_code, response.headers.get("Content-Type", "")
                location = response.headers.get("Location", "")
                body = self._read(response, deadline)
        except requests.RequestException as exc:
            raise CleanupError(_network_failure(exc, self.host)) from None
        if 300 <= status < 400:
            raise CleanupError(
                f"{self.host} redirected the clean-up (HTTP {status}) to {redact(location)[:200]}; redirects are "
                "not followed: set [cleanup] base_url to the final address"
            )
        if status >= 400:
            raise CleanupError(self._http_error(status, ctype, body))
        return _answer_text(body, self.host)

    def _read(self, response: requests.Response, deadline: float) -> bytes:
        chunks, total = [], 0
        for chunk in response.iter_content(16 * 1024):
            total += len(chunk)
            if total > MAX_ANSWER_BYTES:
                raise CleanupError(f"the answer from {self.host} exceeded {MAX_ANSWER_BYTES // 1024} KB")
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise CleanupError(f"{self.host} sent its answer too slowly")
        return b"".join(chunks)

    def _http_error(self, status: int, ctype: str, body: bytes) -> str:
        detail, _code = parse_error(ctype, body)
        said = f": {redact(detail)}" if detail else ""
        if status in (401, 403):
            env = self.settings.api_key_env or "the [cleanup] api_key_env variable"
            hint = f"check the key in {env}" if self._key else f"no key was sent: export {env}"
            return f"HTTP {status} from {self.host}{said}; {hint}"
        if status == 404:
            return (
                f"HTTP 404 from {self.host}{said}; check [cleanup] base_url (without /chat/completions) and "
                f"that the server has [cleanup] model ({self.settings.model})"
            )
        return f"HTTP {status} from {self.host}{said}"


def _answer_text(body: bytes, host: str) -> str:
    """The text of the first choice of an OpenAI chat completion."""
    try:
        data = json.loads(body.decode("utf-8", errors="replace"))
        content: Any = data["choices"][0]["message"]["content"]
    except (ValueError, LookupError, TypeError):
        raise CleanupError(f"the answer from {host} is not a chat completion; is [cleanup] base_url right?") from None
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise CleanupError(f"the answer from {host} has no text")
    return redact(content, shapes=False)  # a server that echoes the key must not get it typed


def _network_failure(exc: requests.RequestException, host: str) -> str:
    text = repr(exc)
    if isinstance(exc, requests.ConnectionError) and ("refused" in text or "ConnectionRefused" in text):
        return f"connection refused by {host}: is the chat server running? check [cleanup] base_url"
    if isinstance(exc, requests.Timeout):
        return f"no answer from {host} in time; raise [cleanup] timeout, or use a faster model"
    if "NameResolution" in text or "Name or service not known" in text:
        return f"cannot resolve {host}: check [cleanup] base_url and the network"
    return f"connection to {host} failed: {type(exc).__name__}"


class Cleaner:
    """Clean-up for every dictation: a ChatClient per endpoint in use, the messages, the check."""

    def __init__(self, config: Config, environ: Mapping[str, str] = os.environ) -> None:
        self.config = config
        self.environ = dict(environ)
        self._clients: dict[tuple[str, str, str], ChatClient] = {}
        for settings in enabled_cleanups(config):
            check_policy(config, settings)  # a bad endpoint is a config error at start, not at the first dictation

    def clean(self, text: str, settings: Config) -> str:
        """`text` cleaned by the model of settings.cleanup; CleanupError (one line) when it cannot be."""
        chosen = settings.cleanup
        client = self._client(chosen)
        messages = cleanup.messages(text, extra=chosen.prompt, vocabulary=settings.text.vocabulary)
        answer = client.complete(messages, timeout=chosen.timeout)
        try:
            return cleanup.check(text, answer, allow_newlines=settings.output.allow_newlines)
        except cleanup.Rejected as exc:
            raise CleanupError(f"the answer from {client.host} was refused: {exc}") from None

    def _client(self, settings: CleanupConfig) -> ChatClient:
        ident = (settings.base_url, settings.model, settings.api_key_env)
        client = self._clients.get(ident)
        if client is None:
            check_policy(self.config, settings)
            client = ChatClient(settings, cleanup_key(self.config, settings, self.environ))
            self._clients[ident] = client
        return client

    def close(self) -> None:
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                client.close()
        self._clients.clear()
