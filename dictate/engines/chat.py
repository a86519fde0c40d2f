"""The clean-up client: any OpenAI-compatible `POST {base_url}/chat/completions` (OpenAI, Groq, a
llama.cpp server, Ollama's /v1, vLLM), over the engines' transport (transport.py): one keep-alive
session per endpoint, the key added only at send time, no redirect followed, and one total deadline
([cleanup] timeout) that the transport's watchdog holds even when a server sends its answer a byte at
a time; the request runs on the caller's thread, so nothing of it outlives the deadline. The
endpoint is held to the one transport policy (config.secrets), as the transcription's is.

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
from collections.abc import Mapping, Sequence
from typing import Any

from dictate.config import CleanupConfig, Config, check_endpoint, cleanup_key, endpoint_problem
from dictate.engines import TranscriptionError
from dictate.engines.replies import parse_error
from dictate.engines.transport import Transport, display_host
from dictate.errors import ConfigError, DictateError, add_secret, redact
from dictate.text import cleanup

log = logging.getLogger("dictate")


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


class ChatClient:
    """One chat endpoint over one keep-alive session."""

    def __init__(self, settings: CleanupConfig, key: str | None) -> None:
        problem = endpoint_problem(settings.base_url, settings.allow_insecure, "cleanup")
        if problem:  # the one transport policy holds for every client, however it was made
            raise ConfigError(problem)
        self.settings = settings
        self._key = key
        add_secret(key)
        self.url = settings.base_url.rstrip("/") + "/chat/completions"
        self.host = display_host(settings.base_url)
        self.transport = Transport("cleanup")

    def close(self) -> None:
        self.transport.close()

    def complete(self, messages: Sequence[Mapping[str, str]], *, timeout: float) -> str:
        """The model's answer to `messages`, within `timeout` seconds in all; raise CleanupError."""
        body = {"model": self.settings.model, "messages": list(messages), "temperature": 0, "stream": False}
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        try:
            answer = self.transport.request(
                "POST", self.url, seconds=timeout, read_timeout=timeout, headers=headers, data=json.dumps(body).encode()
            )
        except TranscriptionError as exc:
            raise CleanupError(exc.message) from None
        if 300 <= answer.status < 400:
            location = answer.headers.get("Location", "")
            raise CleanupError(
                f"{self.host} redirected the clean-up (HTTP {answer.status}) to {redact(location)[:200]}; redirects "
                "are not followed: set [cleanup] base_url to the final address"
            )
        if answer.status >= 400:
            raise CleanupError(self._http_error(answer.status, answer.content_type, answer.body))
        return _answer_text(answer.body, self.host)

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
    except (ValueError, LookupError, TypeError, RecursionError):  # RecursionError: JSON nested beyond the parser
        raise CleanupError(f"the answer from {host} is not a chat completion; is [cleanup] base_url right?") from None
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        content = "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    if not isinstance(content, str):
        raise CleanupError(f"the answer from {host} has no text")
    return redact(content, shapes=False)  # a server that echoes the key must not get it typed


class Cleaner:
    """Clean-up for every dictation: a ChatClient per endpoint in use, the messages, the check."""

    def __init__(self, config: Config, environ: Mapping[str, str] = os.environ) -> None:
        self.config = config
        self.environ = dict(environ)
        self._clients: dict[tuple[str, str, str], ChatClient] = {}
        for settings in enabled_cleanups(config):
            check_endpoint(config, settings)  # a bad endpoint is a config error at start, not at the first dictation

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
            check_endpoint(self.config, settings)
            client = ChatClient(settings, cleanup_key(self.config, settings, self.environ))
            self._clients[ident] = client
        return client

    def close(self) -> None:
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                client.close()
        self._clients.clear()
