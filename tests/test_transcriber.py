from __future__ import annotations

import socket

import numpy as np
import pytest

from dictate.audio import EncodedAudio, Recording, encode
from dictate.config import ApiConfig
from dictate.transcriber import (
    NO_RETRY,
    RetryPolicy,
    Transcriber,
    TranscriptionError,
    build_request,
    parse_error,
    parse_response,
    parse_retry_after,
    speech_text,
)
from tests.rig.server import Reply, TranscriptionServer

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123"


def audio(seconds: float = 0.5) -> EncodedAudio:
    t = np.arange(int(seconds * 16000)) / 16000
    return encode(Recording((np.sin(2 * np.pi * 300 * t) * 8000).astype(np.int16), 16000))


def client(
    server: TranscriptionServer, key: str | None = KEY, retry: RetryPolicy = NO_RETRY, **api: object
) -> Transcriber:
    sleeps: list[float] = []
    t = Transcriber(ApiConfig(base_url=server.base_url, **api), key, retry=retry, sleep=sleeps.append)  # type: ignore[arg-type]
    t.sleeps = sleeps  # type: ignore[attr-defined]
    return t


# ---- pure parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ctype", "body", "text"),
    [
        ("application/json", b'{"text": "Hello there."}', "Hello there."),
        ("application/json", b'{"text": "", "usage": {"seconds": 1}}', ""),
        ("text/plain; charset=utf-8", "Grüße, 你好\n".encode(), "Grüße, 你好\n"),
        ("application/json", b'"vLLM answers text as a JSON string"', "vLLM answers text as a JSON string"),
        ("", b"plain body without a content type", "plain body without a content type"),
    ],
)
def test_parse_response_shapes(ctype: str, body: bytes, text: str) -> None:
    assert parse_response(ctype, body)[0] == text


def test_parse_response_rejects_json_without_text() -> None:
    with pytest.raises(TranscriptionError, match="no text"):
        parse_response("application/json", b'{"result": "x"}')
    with pytest.raises(TranscriptionError, match="not valid JSON"):
        parse_response("application/json", b"{broken")


def test_verbose_json_segments_drop_silence_by_whisper_rule() -> None:
    body = b"""{"text": " Hello. Thank you.", "segments": [
        {"text": " Hello.", "no_speech_prob": 0.1, "avg_logprob": -0.3, "compression_ratio": 1.2},
        {"text": " Thank you.", "no_speech_prob": 0.9, "avg_logprob": -1.5, "compression_ratio": 1.0},
        {"text": " la la la la la la", "no_speech_prob": 0.1, "avg_logprob": -0.2, "compression_ratio": 3.1},
        {"text": " Still speech.", "no_speech_prob": 0.9, "avg_logprob": -0.5, "compression_ratio": 1.0}]}"""
    from dictate.transcriber import Transcript

    text, segments = parse_response("application/json", body)
    assert segments is not None and len(segments) == 4
    assert speech_text(Transcript(text, segments)) == " Hello. Still speech."


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        (
            b'{"error": {"message": "Invalid file format.", "type": "invalid_request_error", "code": null}}',
            "Invalid file format.",
            "invalid_request_error",
        ),
        (
            b'{"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}',
            "You exceeded your current quota",
            "insufficient_quota",
        ),
        (b'{"error": "failed to read audio data"}', "failed to read audio data", ""),
        (b'{"detail": "Invalid API key"}', "Invalid API key", ""),
        (
            b'{"detail": [{"loc": ["body", "file"], "msg": "Field required", "type": "missing"}]}',
            "file: Field required",
            "",
        ),
        (b'{"message": "gateway says no"}', "gateway says no", ""),
        (b"<html><head><title>502 Bad Gateway</title></head></html>", "502 Bad Gateway", ""),
        (b"upstream connect error\n\x1b[31mred\x1b[0m", "upstream connect error red", ""),
    ],
)
def test_parse_error_shapes(body: bytes, message: str, code: str) -> None:
    assert parse_error("application/json", body) == (message, code)


def test_retry_after_headers() -> None:
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_backoff_is_exponential_capped_with_jitter() -> None:
    policy = RetryPolicy()
    assert [policy.delay(n, None, rand=lambda: 0.0) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]
    assert policy.delay(0, None, rand=lambda: 1.0) == 0.375
    assert policy.delay(0, 7.0) == 7.0
    assert policy.delay(0, 600.0, rand=lambda: 0.0) == 0.5  # an absurd Retry-After is not obeyed


def test_request_fields_only_when_set() -> None:
    req = build_request(ApiConfig(), audio())
    assert req.fields == (("model", "whisper-1"),)
    assert req.url == "https://api.openai.com/v1/audio/transcriptions"
    api = ApiConfig(
        base_url="http://x/v1/", language="de", prompt="Namen: Müller", temperature=0.2, response_format="json"
    )
    req = build_request(api, audio())
    assert dict(req.fields) == {
        "model": "whisper-1",
        "language": "de",
        "prompt": "Namen: Müller",
        "temperature": "0.2",
        "response_format": "json",
    }
    assert req.url == "http://x/v1/audio/transcriptions"
    assert "Bearer" not in repr(req)


# ---- against a real local server -------------------------------------------------------------


def test_upload_is_multipart_with_model_file_and_bearer(server: TranscriptionServer) -> None:
    result = client(server, model="whisper-large-v3-turbo", language="en").transcribe(audio(1.0))
    assert result.text == "Hello from the test server."
    (got,) = server.uploads
    assert got.fields["model"] == "whisper-large-v3-turbo"
    assert got.fields["language"] == "en"
    assert got.filename == "audio.wav" and got.audio_format == "WAV"
    assert (got.rate, got.channels) == (16000, 1)
    assert got.headers["authorization"] == f"Bearer {KEY}"
    assert result.bytes_sent == len(got.file_bytes)


def test_no_authorization_header_without_key(server: TranscriptionServer) -> None:
    client(server, key=None).transcribe(audio())
    assert "authorization" not in server.uploads[0].headers


def test_one_connection_is_kept_alive(server: TranscriptionServer) -> None:
    t = client(server)
    for _ in range(3):
        t.transcribe(audio())
    assert server.connections == 1


def test_plain_text_response_format(server: TranscriptionServer) -> None:
    assert client(server, response_format="text").transcribe(audio()).text.strip() == "Hello from the test server."


@pytest.mark.parametrize(
    ("reply", "kind", "needle"),
    [
        (Reply.openai_error(401, f"Incorrect API key provided: {KEY}."), "auth", "check the API key"),
        (Reply.speaches_error(403, "Invalid API key"), "auth", "HTTP 403"),
        (Reply.openai_error(404, "The model `nope` does not exist"), "not_found", "[api] model"),
        (Reply.speaches_error(404, "Model 'x' is not installed locally."), "not_found", "[api] base_url"),
        (Reply.openai_error(413, "Maximum content size limit exceeded"), "too_large", "max_upload_mb"),
        (
            Reply.openai_error(400, "Audio file is too short. Minimum audio length is 0.1 seconds."),
            "bad_request",
            "too short",
        ),
        (Reply.whispercpp_error(400, "failed to read audio data"), "bad_request", "failed to read audio data"),
        (Reply.openai_error(429, "You exceeded your current quota", "insufficient_quota"), "quota", "billing"),
    ],
)
def test_errors_are_one_readable_line(server: TranscriptionServer, reply: Reply, kind: str, needle: str) -> None:
    server.queue(reply)
    with pytest.raises(TranscriptionError) as info:
        client(server).transcribe(audio())
    err = info.value
    assert err.kind == kind and not err.retryable
    assert needle in err.message
    assert f"HTTP {reply.status}" in err.message
    assert "\n" not in err.message
    assert KEY not in err.message and "sk-test-abc" not in err.message


def test_auth_error_without_key_says_to_set_one(server: TranscriptionServer) -> None:
    server.queue(Reply.openai_error(401, "You didn't provide an API key."))
    with pytest.raises(TranscriptionError, match="no API key is set: export DICTATE_API_KEY or OPENAI_API_KEY"):
        client(server, key=None).transcribe(audio())


def test_retries_5xx_then_succeeds(server: TranscriptionServer) -> None:
    server.queue(Reply.openai_error(503, "overloaded", type_="server_error"), Reply(500, {"error": "boom"}))
    t = client(server, retry=RetryPolicy(max_retries=3))
    result = t.transcribe(audio())
    assert result.text == "Hello from the test server." and result.attempts == 3
    assert len(server.uploads) == 3
    assert len(t.sleeps) == 2  # type: ignore[attr-defined]


def test_rate_limit_honours_retry_after(server: TranscriptionServer) -> None:
    server.queue(
        Reply(
            429,
            {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}},
            headers={"Retry-After": "2"},
        )
    )
    t = client(server, retry=RetryPolicy(max_retries=2))
    assert t.transcribe(audio()).attempts == 2
    assert t.sleeps == [2.0]  # type: ignore[attr-defined]


def test_gives_up_after_max_retries(server: TranscriptionServer) -> None:
    server.queue(*[Reply(502, b"bad gateway", content_type="text/plain")] * 5)
    with pytest.raises(TranscriptionError, match="HTTP 502") as info:
        client(server, retry=RetryPolicy(max_retries=2)).transcribe(audio())
    assert info.value.retryable
    assert len(server.uploads) == 3


def test_timeout(server: TranscriptionServer) -> None:
    server.queue(Reply(delay=1.5))
    t = client(server)
    t.api = ApiConfig(base_url=server.base_url, timeout=0.3)
    with pytest.raises(TranscriptionError, match=r"no answer from 127\.0\.0\.1:\d+ within 0\.3 s") as info:
        t.transcribe(audio())
    assert info.value.kind == "timeout" and info.value.retryable


def test_dropped_connection_is_retryable_and_retried(server: TranscriptionServer) -> None:
    server.queue(Reply(drop=True))
    result = client(server, retry=RetryPolicy(max_retries=1)).transcribe(audio())
    assert result.text == "Hello from the test server." and result.attempts == 2


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = Transcriber(ApiConfig(base_url=f"http://127.0.0.1:{port}/v1"), KEY, retry=NO_RETRY)
    with pytest.raises(TranscriptionError, match=r"connection refused by 127\.0\.0\.1.*is the server running") as info:
        t.transcribe(audio())
    assert info.value.kind == "refused"


def test_dns_failure() -> None:
    t = Transcriber(ApiConfig(base_url="https://no-such-host.invalid/v1"), KEY, retry=NO_RETRY)
    with pytest.raises(TranscriptionError, match=r"cannot resolve no-such-host\.invalid") as info:
        t.transcribe(audio())
    assert info.value.kind == "dns"


def test_response_size_is_capped(server: TranscriptionServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dictate.transcriber.MAX_RESPONSE_BYTES", 1000)
    server.queue(Reply(body={"text": "x" * 5000}))
    with pytest.raises(TranscriptionError, match="exceeded"):
        client(server).transcribe(audio())


def test_key_echoed_by_server_is_redacted(server: TranscriptionServer) -> None:
    server.queue(Reply(body={"text": f"your key is {KEY}"}))
    assert KEY not in client(server).transcribe(audio()).text
