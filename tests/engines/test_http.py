from __future__ import annotations

import socket

import numpy as np
import pytest

from dictate.audio import Recording, encode
from dictate.config import ApiConfig
from dictate.engines import TranscriptionError
from dictate.engines.http import NO_RETRY, HttpEngine, RetryPolicy, build_request
from tests.rig.server import Reply, TranscriptionServer

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123"


def audio(seconds: float = 0.5) -> Recording:
    t = np.arange(int(seconds * 16000)) / 16000
    return Recording((np.sin(2 * np.pi * 300 * t) * 8000).astype(np.int16), 16000)


def client(
    server: TranscriptionServer, key: str | None = KEY, retry: RetryPolicy = NO_RETRY, **api: object
) -> HttpEngine:
    sleeps: list[float] = []
    t = HttpEngine(ApiConfig(base_url=server.base_url, **api), key, retry=retry, sleep=sleeps.append)  # type: ignore[arg-type]
    t.sleeps = sleeps  # type: ignore[attr-defined]
    return t


def test_backoff_is_exponential_capped_with_jitter() -> None:
    policy = RetryPolicy()
    assert [policy.delay(n, None, rand=lambda: 0.0) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]
    assert policy.delay(0, None, rand=lambda: 1.0) == 0.375
    assert policy.delay(0, 7.0) == 7.0
    assert policy.delay(0, 600.0, rand=lambda: 0.0) == 0.5  # an absurd Retry-After is not obeyed


def test_request_fields_only_when_set() -> None:
    req = build_request(ApiConfig(), encode(audio()))
    assert req.fields == (("model", "whisper-1"),)
    assert req.url == "https://api.openai.com/v1/audio/transcriptions"
    api = ApiConfig(
        base_url="http://x/v1/", language="de", prompt="Namen: Müller", temperature=0.2, response_format="json"
    )
    req = build_request(api, encode(audio()), "Namen: Müller. Der Text davor.")
    assert dict(req.fields) == {
        "model": "whisper-1",
        "language": "de",
        "prompt": "Namen: Müller. Der Text davor.",
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
    assert got.filename == "audio.flac" and got.audio_format == "FLAC"  # [api] format, flac by default
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
        client(server, format="wav").transcribe(audio())  # WAV: no second try in another format
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
    t = HttpEngine(ApiConfig(base_url=f"http://127.0.0.1:{port}/v1"), KEY, retry=NO_RETRY)
    with pytest.raises(TranscriptionError, match=r"connection refused by 127\.0\.0\.1.*is the server running") as info:
        t.transcribe(audio())
    assert info.value.kind == "refused"


def test_dns_failure() -> None:
    t = HttpEngine(ApiConfig(base_url="https://no-such-host.invalid/v1"), KEY, retry=NO_RETRY)
    with pytest.raises(TranscriptionError, match=r"cannot resolve no-such-host\.invalid") as info:
        t.transcribe(audio())
    assert info.value.kind == "dns"


def test_response_size_is_capped(server: TranscriptionServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dictate.engines.http.MAX_RESPONSE_BYTES", 1000)
    server.queue(Reply(body={"text": "x" * 5000}))
    with pytest.raises(TranscriptionError, match="exceeded"):
        client(server).transcribe(audio())


def test_key_echoed_by_server_is_redacted(server: TranscriptionServer) -> None:
    server.queue(Reply(body={"text": f"your key is {KEY}"}))
    assert KEY not in client(server).transcribe(audio()).text
