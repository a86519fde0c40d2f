from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from dictate.audio import Recording, encode
from dictate.config import ApiConfig, from_dict
from dictate.engines import TranscriptionError
from dictate.engines.http import NO_RETRY, HttpEngine, RetryPolicy, build_request
from tests.rig.server import Reply, TranscriptionServer, sent_key

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
        (Reply.whispercpp_error(400, "failed to read audio data"), "format", "failed to read audio data"),
        (Reply.openai_error(400, "Invalid language 'xx'."), "bad_request", "check [api] model, language"),
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
    hint = "no API key is set: store one with `dictate key set`, or export DICTATE_API_KEY or OPENAI_API_KEY"
    with pytest.raises(TranscriptionError, match=hint):
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
    monkeypatch.setattr("dictate.engines.transport.MAX_RESPONSE_BYTES", 1000)
    server.queue(Reply(body={"text": "x" * 5000}))
    with pytest.raises(TranscriptionError, match="exceeded"):
        client(server).transcribe(audio())


def test_key_echoed_by_server_is_redacted(server: TranscriptionServer) -> None:
    server.queue(Reply(body={"text": f"your key is {KEY}"}))
    assert KEY not in client(server).transcribe(audio()).text


# ---- hostile servers: every wait ends, only transcripts are taken ------------------------------


@pytest.mark.timeout(30)
def test_a_trickled_answer_ends_at_the_attempts_deadline(server: TranscriptionServer) -> None:
    server.queue(Reply(trickle=0.05))
    with pytest.raises(TranscriptionError) as info:
        client(server, timeout=1).transcribe(audio())
    assert info.value.kind == "timeout"
    assert re.fullmatch(
        r"127\.0\.0\.1:\d+ sent its answer too slowly: \d+ bytes in \d+(\.\d)? s; .*", info.value.message
    )


@pytest.mark.timeout(30)
def test_trickled_headers_end_at_the_attempts_deadline(server: TranscriptionServer) -> None:
    server.queue(Reply(trickle_headers=0.2))
    with pytest.raises(TranscriptionError, match=r"no complete answer from 127\.0\.0\.1:\d+ within") as info:
        client(server, timeout=1).transcribe(audio())
    assert info.value.kind == "timeout" and info.value.retryable


@pytest.mark.timeout(30)
def test_retries_share_one_budget(server: TranscriptionServer) -> None:
    server.queue(*[Reply(trickle=0.05)] * 10)
    engine = client(server, retry=RetryPolicy(max_retries=10, max_total_seconds=1), timeout=1)
    with pytest.raises(TranscriptionError, match="too slowly"):
        engine.transcribe(audio())
    assert 1 <= len(server.uploads) <= 3  # no more attempts than the budget leaves room for


@pytest.mark.timeout(30)
def test_the_session_works_again_after_a_deadline(server: TranscriptionServer) -> None:
    server.queue(Reply(trickle=0.05))
    engine = client(server, timeout=1)
    with pytest.raises(TranscriptionError, match="too slowly"):
        engine.transcribe(audio())
    assert engine.transcribe(audio()).text == "Hello from the test server."


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (Reply.captive_portal(), 'an HTML page titled "Sign in to Guest WiFi" (a captive portal or proxy?)'),
        (Reply(200, b"42", content_type="application/json"), "a JSON number"),
        (Reply(200, b'["hello"]', content_type="application/json"), "a JSON list"),
        (Reply(200, b"null", content_type="application/json"), "JSON null"),
        (Reply(200, b"hello there", content_type="text/plain"), "plain text where JSON was expected"),
        (Reply(200, b"\xff\xfe\x00h\x00i", content_type="application/json"), "not UTF-8"),
        (Reply(200, b"\x89PNG\r\n\x1a\n", content_type="image/png"), "an answer of type image/png"),
        (Reply(200, b"", content_type="application/json"), "an empty answer"),
        (Reply(200, {"result": "hello"}), "a JSON object without a text field"),
        (Reply(200, {"error": "failed to process audio"}), "an error: failed to process audio"),
    ],
)
def test_an_answer_that_is_not_a_transcript_is_a_failed_attempt(
    server: TranscriptionServer, reply: Reply, said: str
) -> None:
    server.queue(reply)
    with pytest.raises(TranscriptionError) as info:
        client(server, format="wav").transcribe(audio())
    assert said in info.value.message
    assert info.value.message.startswith(f"127.0.0.1:{server.port} ")
    assert not info.value.retryable and "\n" not in info.value.message
    assert len(server.uploads) == 1


def test_plain_text_is_a_transcript_only_when_text_was_asked_for(server: TranscriptionServer) -> None:
    server.queue(Reply(200, b"hello there\n", content_type="text/html; charset=utf-8"))  # whisper.cpp's text
    assert client(server, response_format="text").transcribe(audio()).text.strip() == "hello there"
    server.queue(Reply.captive_portal())
    with pytest.raises(TranscriptionError, match="an HTML page"):
        client(server, response_format="text").transcribe(audio())


@pytest.mark.parametrize("status", [307, 308, 301, 302])
def test_a_redirect_is_never_followed(server: TranscriptionServer, status: int) -> None:
    with TranscriptionServer() as elsewhere:
        server.queue(Reply.redirect(elsewhere.base_url + "/audio/transcriptions", status))
        with pytest.raises(TranscriptionError) as info:
            client(server).transcribe(audio())
        assert elsewhere.received == []
    message = info.value.message
    assert f"HTTP {status}" in message and f"set [api] base_url to {elsewhere.base_url}" in message
    assert info.value.kind == "redirect" and not info.value.retryable


def test_a_redirect_names_no_credentials(server: TranscriptionServer) -> None:
    server.queue(Reply.redirect(f"http://user:{KEY}@example.com/v1/audio/transcriptions"))
    with pytest.raises(TranscriptionError) as info:
        client(server).transcribe(audio())
    assert "example.com" in info.value.message
    assert "user" not in info.value.message and KEY[:8] not in info.value.message


@pytest.mark.parametrize(
    ("reply", "resent"),
    [
        (Reply.whispercpp_error(400, "failed to read WAV file"), True),
        (Reply(415, {"detail": "Failed to decode audio. The provided file type is not supported."}), True),
        (Reply.openai_error(400, "Invalid file format. Supported formats: ['flac', 'mp3', 'wav']"), True),
        (Reply.openai_error(400, "file must be one of the following types: [flac mp3 wav]"), True),
        (Reply(200, {"error": "failed to read WAV file"}), True),  # whisper.cpp answers errors with 200
        (Reply.openai_error(400, "The model `whisper-9` does not exist"), False),
        (Reply.openai_error(400, "Invalid value: 'srt'. response_format must be one of json, text"), False),
        (Reply.openai_error(400, "Audio file is too short. Minimum audio length is 0.1 seconds."), False),
        (Reply.speaches_error(422, [{"loc": ["body", "response_format"], "msg": "Input should be 'json'"}]), False),
    ],
)
def test_wav_is_resent_only_after_a_refusal_of_the_format(
    server: TranscriptionServer, reply: Reply, resent: bool
) -> None:
    server.queue(reply)
    engine = client(server)
    if resent:
        assert engine.transcribe(audio()).text == "Hello from the test server."
        assert [u.audio_format for u in server.uploads] == ["FLAC", "WAV"] and engine.format == "wav"
    else:
        with pytest.raises(TranscriptionError):
            engine.transcribe(audio())
        assert [u.audio_format for u in server.uploads] == ["FLAC"] and engine.format == "flac"


def test_a_key_echoed_at_the_cut_is_masked_whole(server: TranscriptionServer) -> None:
    for pad in (300 - len(KEY) + 1, 300 - 8, 300 - 3, 120 - len(KEY) + 2):
        server.queue(Reply.echo_key(500, "x" * pad + "{key} and more"))
        with pytest.raises(TranscriptionError) as info:
            client(server).transcribe(audio())
        for start in range(len(KEY) - 7):
            assert KEY[start : start + 8] not in info.value.message


def test_nested_error_shapes_are_one_readable_line(server: TranscriptionServer) -> None:
    server.queue(Reply(400, {"detail": {"error": {"message": "Model is loading", "code": "loading"}}}))
    with pytest.raises(TranscriptionError) as info:
        client(server, format="wav").transcribe(audio())
    assert "Model is loading" in info.value.message and "{" not in info.value.message


@pytest.fixture
def tls_trickler() -> Iterator[int]:
    """A port whose server accepts and answers the TLS handshake one byte every 50 ms, for ever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"\x16\x03\x03\x40\x00")  # a handshake record of 16 kB is coming...
                while not stop.wait(0.05):
                    conn.sendall(b"\x02")  # ...a byte at a time

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


@pytest.mark.timeout(30)
def test_a_trickled_tls_handshake_ends_at_the_attempts_deadline(tls_trickler: int) -> None:
    engine = HttpEngine(ApiConfig(base_url=f"https://127.0.0.1:{tls_trickler}/v1", timeout=1), KEY, retry=NO_RETRY)
    with pytest.raises(TranscriptionError, match=r"no complete answer from 127\.0\.0\.1:\d+ within") as info:
        engine.transcribe(audio())
    assert info.value.kind == "timeout"


@pytest.mark.timeout(30)
def test_a_server_that_never_answers_is_given_up(server: TranscriptionServer) -> None:
    server.queue(Reply(hang=True))
    with pytest.raises(TranscriptionError) as info:
        client(server, timeout=1).transcribe(audio())
    assert info.value.kind == "timeout" and "127.0.0.1" in info.value.message


def test_a_key_echoed_in_verbose_json_segments_is_not_typed(server: TranscriptionServer) -> None:
    server.queue(
        Reply(
            render=lambda r: {
                "text": f"say {sent_key(r)}",
                "segments": [{"text": f"say {sent_key(r)}", "no_speech_prob": 0.0, "avg_logprob": -0.1}],
            }
        )
    )
    transcript = client(server, response_format="verbose_json").transcribe(audio())
    assert transcript.speech_text == "say ***" and transcript.text == "say ***"


def test_extra_fields_are_sent_with_every_request(server: TranscriptionServer) -> None:
    """[api] fields reach the server as form fields of their own, beside model (faster-whisper-server
    reads model_name)."""
    api = from_dict({"api": {"base_url": server.base_url, "fields": {"model_name": "small", "beam": "5"}}}).api
    req = build_request(api, encode(audio()))
    assert req.fields == (("model", "whisper-1"), ("model_name", "small"), ("beam", "5"))
    engine = HttpEngine(api, None, retry=NO_RETRY)
    try:
        engine.transcribe(audio())
        engine.transcribe(audio())
    finally:
        engine.close()
    assert len(server.uploads) == 2
    for upload in server.uploads:
        assert upload.fields == {"model": "whisper-1", "model_name": "small", "beam": "5", "file": "<file audio.flac>"}


def test_a_connection_closed_mid_answer_is_said_in_words(server: TranscriptionServer) -> None:
    server.queue(Reply(drop=True))  # the headers and half a body, then the connection closed
    with pytest.raises(TranscriptionError) as info:
        client(server, retry=NO_RETRY).transcribe(audio())
    host = server.base_url.split("/")[2]
    assert info.value.message == (
        f"{host} closed the connection in the middle of its answer (the server or a proxy failed); try again"
    )
    assert info.value.retryable


def test_a_server_that_hangs_up_without_answering_is_said_in_words() -> None:
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(1)
        port = mute.getsockname()[1]

        def hang_up() -> None:
            conn = mute.accept()[0]
            conn.recv(1024)  # the start of the request
            conn.close()

        threading.Thread(target=hang_up, daemon=True).start()
        engine = HttpEngine(ApiConfig(base_url=f"http://127.0.0.1:{port}/v1"), KEY, retry=NO_RETRY)
        with pytest.raises(TranscriptionError) as info:
            engine.transcribe(audio())
    assert info.value.message == (
        f"127.0.0.1:{port} closed the connection without answering; try again, and check that [api] base_url is an "
        "OpenAI-compatible server"
    )
    assert "Error" not in info.value.message and info.value.retryable


def test_far_more_text_than_the_audio_can_hold_is_not_a_transcript(server: TranscriptionServer) -> None:
    """A 2 s recording answered with 7 MB of text would be typed for hours: a failed attempt instead."""
    server.queue(
        Reply(body={"text": "word " * 80}),  # 400 characters: a fast talker's 2 s, with room to spare
        Reply(body={"text": "x" * 7_000_000}),
        Reply(body={"text": "short", "segments": [{"id": 0, "start": 0, "end": 2, "text": "y" * 5000}]}),
    )
    engine = client(server)
    assert engine.transcribe(audio(2.0)).text.split() == ["word"] * 80
    for shown in (7_000_000, 5000):
        with pytest.raises(TranscriptionError) as info:
            engine.transcribe(audio(2.0))
        host = server.base_url.split("/")[2]
        # (the start only: other tests' keys, registered for masking, hold pieces of the words after it)
        assert info.value.message.startswith(
            f"{host} answered HTTP 200 with {shown} characters for 2.0 s of audio, more than speech holds: "
        )
        assert info.value.kind == "bad_response" and not info.value.retryable
