"""The clean-up client against the rig's real chat endpoint on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator

import pytest

from dictate.config import cleanup_key, from_dict
from dictate.engines.chat import ChatClient, Cleaner, CleanupError, _answer_text, enabled_cleanups
from dictate.errors import ConfigError, describe
from tests.rig.chat import ChatReply
from tests.rig.server import Received, Reply, TranscriptionServer


@pytest.fixture
def server() -> Iterator[TranscriptionServer]:
    with TranscriptionServer() as srv:
        yield srv


def settings(server: TranscriptionServer, **cleanup: object):  # type: ignore[no-untyped-def]
    return from_dict(
        {"api": {"base_url": server.base_url}, "cleanup": {"enabled": True, "base_url": server.base_url, **cleanup}}
    )


def test_the_cleaned_text_comes_back_and_the_transcript_went_as_data(server: TranscriptionServer) -> None:
    config = settings(server, model="llama-3.1-8b-instant", prompt="British spelling")
    cleaner = Cleaner(config, environ={})
    try:
        assert cleaner.clean("um we deploy on friday", config) == "We deploy on friday."
    finally:
        cleaner.close()
    (request,) = server.chat.requests
    assert request["model"] == "llama-3.1-8b-instant" and request["temperature"] == 0
    assert server.chat.transcripts == ["um we deploy on friday"]
    assert "British spelling" in request["messages"][0]["content"]
    (upload,) = server.received
    assert upload.path == "/v1/chat/completions"


def test_the_key_goes_in_the_header_and_never_into_a_message(server: TranscriptionServer) -> None:
    config = settings(server, api_key_env="CHAT_KEY")
    key = "sk-chat-" + "k" * 30
    cleaner = Cleaner(config, environ={"CHAT_KEY": key})
    server.chat.queue(ChatReply(status=401, error=f"Incorrect API key provided: {key}"))
    with pytest.raises(CleanupError) as caught:
        cleaner.clean("hello world", config)
    message = describe(caught.value)
    assert key not in message and "sk-chat-kkk" not in message
    assert "HTTP 401" in message and "CHAT_KEY" in message
    assert server.chat.headers[0]["authorization"] == f"Bearer {key}"


def test_without_its_own_key_the_transcription_key_is_used_on_the_same_host(server: TranscriptionServer) -> None:
    config = settings(server)
    assert cleanup_key(config, config.cleanup, {"DICTATE_API_KEY": "sk-transcribe-1234567890"}) == (
        "sk-transcribe-1234567890"
    )
    elsewhere = from_dict({"cleanup": {"enabled": True, "base_url": "https://api.groq.com/openai/v1"}})
    assert cleanup_key(elsewhere, elsewhere.cleanup, {"DICTATE_API_KEY": "sk-transcribe-1234567890"}) is None


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (ChatReply(status=500), "HTTP 500 from 127.0.0.1"),
        (ChatReply(status=404, error="The model `x` does not exist"), "check [cleanup] base_url"),
        (ChatReply(content="The capital of France is Paris."), "looked like an answer"),
        (ChatReply(content=""), "it was empty"),
    ],
)
def test_failures_are_one_line(server: TranscriptionServer, reply: ChatReply, expected: str) -> None:
    config = settings(server)
    cleaner = Cleaner(config, environ={})
    server.chat.queue(reply)
    with pytest.raises(CleanupError) as caught:
        cleaner.clean("what is the capital of france", config)
    assert expected in caught.value.message
    assert "\n" not in caught.value.message


def test_the_deadline_holds_for_a_slow_server(server: TranscriptionServer) -> None:
    config = settings(server, timeout=0.5)
    client = ChatClient(config.cleanup, None)
    server.chat.queue(ChatReply(delay=5))
    with pytest.raises(
        CleanupError, match=r"no complete answer from 127\.0\.0\.1:[0-9]+ within 0\.5 s.*\[cleanup\] timeout"
    ):
        client.complete([{"role": "user", "content": "x"}], timeout=0.5)
    (request,) = server.received
    assert request.answered_at is None  # the server was still holding its answer: the wait did not
    client.close()


def wait_until_answered(request: Received, seconds: float = 20) -> float | None:
    """When the server's handler of `request` ended (None if it still runs after `seconds`)."""
    deadline = time.monotonic() + seconds
    while request.answered_at is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return request.answered_at


def test_a_trickled_answer_ends_at_the_deadline_and_nothing_of_it_runs_on(server: TranscriptionServer) -> None:
    config = settings(server, timeout=1)
    client = ChatClient(config.cleanup, None)
    server.chat.queue(ChatReply(trickle=0.01))  # 100 kB a byte at a time: it would take over 15 minutes
    with pytest.raises(CleanupError) as caught:
        client.complete([{"role": "user", "content": "x"}], timeout=1)
    message = caught.value.message
    assert re.search(r"127\.0\.0\.1:[0-9]+ sent its answer too slowly: [0-9]+ bytes in", message), message
    assert "raise [cleanup] timeout" in message and "\n" not in message
    # The request's connection was shut at its deadline, so the server's trickle meets a closed
    # connection and its handler ends; a request left running would go on reading for minutes.
    (request,) = server.received
    assert wait_until_answered(request) is not None
    client.close()


def test_a_redirect_is_not_followed(server: TranscriptionServer) -> None:
    config = settings(server)
    with TranscriptionServer() as elsewhere:
        redirect = Reply(307, b"", content_type="text/plain", headers={"Location": elsewhere.base_url})
        server.chat = _Redirecting(redirect)  # type: ignore[assignment]
        client = ChatClient(config.cleanup, "sk-must-not-travel-1234567890")
        with pytest.raises(CleanupError, match="redirected"):
            client.complete([{"role": "user", "content": "x"}], timeout=2)
        assert elsewhere.received == []
        client.close()


class _Redirecting:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply

    def handle(self, received: object, body: bytes) -> Reply:
        return self.reply


def test_a_server_that_is_down_is_one_line() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = from_dict({"cleanup": {"enabled": True, "base_url": f"http://127.0.0.1:{port}/v1"}})
    client = ChatClient(config.cleanup, None)
    with pytest.raises(CleanupError, match="connection refused"):
        client.complete([{"role": "user", "content": "x"}], timeout=2)
    client.close()


def test_plain_http_to_a_public_host_is_refused_at_start() -> None:
    config = from_dict({"cleanup": {"enabled": True, "base_url": "http://chat.example.com/v1"}})
    with pytest.raises(ConfigError, match=r"\[cleanup\] base_url .*plain http"):
        Cleaner(config, environ={})
    allowed = from_dict(
        {"cleanup": {"enabled": True, "base_url": "http://chat.example.com/v1", "allow_insecure": True}}
    )
    Cleaner(allowed, environ={}).close()


def test_a_client_made_directly_is_held_to_the_policy_too() -> None:
    config = from_dict({"cleanup": {"base_url": "http://134744072/v1"}})  # 8.8.8.8, written as a number
    with pytest.raises(ConfigError, match=r"^\[cleanup\] base_url .*plain http to a public host"):
        ChatClient(config.cleanup, "sk-must-not-travel-1234567890")


def test_profiles_that_turn_clean_up_on_are_checked_too() -> None:
    config = from_dict(
        {"profile": [{"match": "Code", "cleanup": {"enabled": True, "base_url": "http://chat.example.com/v1"}}]}
    )
    assert [c.base_url for c in enabled_cleanups(config)] == ["http://chat.example.com/v1"]
    with pytest.raises(ConfigError):
        Cleaner(config, environ={})
    assert enabled_cleanups(from_dict({})) == []


def test_content_parts_that_are_not_text_are_left_out() -> None:
    def answer(parts: object) -> bytes:
        return json.dumps({"choices": [{"message": {"content": parts}}]}).encode()

    mixed = [{"type": "text", "text": None}, {"type": "text", "text": 5}, "junk", {"type": "text", "text": "Hello."}]
    assert _answer_text(answer(mixed), "chat") == "Hello."
    assert _answer_text(answer([{"type": "text", "text": None}]), "chat") == ""  # then refused as no clean-up
