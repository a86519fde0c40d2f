from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dictate.engines import TranscriptionError
from dictate.engines.replies import (
    PRE_CUT,
    NotATranscript,
    is_format_refusal,
    parse_error,
    parse_response,
    parse_retry_after,
)
from dictate.errors import add_secret

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123"


# ---- pure parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ctype", "body", "text"),
    [
        ("application/json", b'{"text": "Hello there."}', "Hello there."),
        ("application/json", b'{"text": "", "usage": {"seconds": 1}}', ""),
        ("application/json; charset=utf-8", b'  {"text": "padded"}', "padded"),
        ("application/json", b'"vLLM answers text as a JSON string"', "vLLM answers text as a JSON string"),
        ("text/plain", b'{"text": "JSON labelled as text"}', "JSON labelled as text"),
        ("", b'{"text": "no content type"}', "no content type"),
    ],
)
def test_parse_response_shapes(ctype: str, body: bytes, text: str) -> None:
    assert parse_response(ctype, body)[0] == text


@pytest.mark.parametrize(
    ("ctype", "body", "text"),
    [
        ("text/plain; charset=utf-8", "Grüße, 你好\n".encode(), "Grüße, 你好\n"),
        ("text/html; charset=utf-8", b" And so my fellow Americans\n", " And so my fellow Americans\n"),  # whisper.cpp
        ("", b"plain body without a content type", "plain body without a content type"),
        ("text/plain", b"", ""),
        ("application/json", b'"a JSON string"', "a JSON string"),
        ("application/json", b'{"text": "an object"}', "an object"),
    ],
)
def test_plain_text_is_taken_when_text_was_asked(ctype: str, body: bytes, text: str) -> None:
    assert parse_response(ctype, body, text_asked=True)[0] == text


@pytest.mark.parametrize(
    ("ctype", "body", "text_asked", "what"),
    [
        ("application/json", b'{"result": "x"}', False, "a JSON object without a text field (keys: result)"),
        ("application/json", b"{broken", False, "invalid JSON: {broken"),
        ("application/json", b"42", False, "a JSON number (42)"),
        ("application/json", b"true", False, "JSON true"),
        ("application/json", b'["hello"]', False, 'a JSON list: ["hello"]'),
        ("application/json", b'{"text": 5}', False, "a JSON object without a text field (keys: text)"),
        ("text/plain", b"hello", False, 'plain text where JSON was expected: "hello"'),
        ("", b"plain body without a content type", False, "plain text where JSON was expected"),
        ("text/html", b"<!DOCTYPE html><title>Log in</title>", True, 'an HTML page titled "Log in"'),
        ("text/plain", b"<html><body>portal</body></html>", True, "an HTML page (a captive portal or proxy?)"),
        ("image/png", b"PNG", True, "an answer of type image/png (3 bytes)"),
        ("application/octet-stream", b"hello", True, "an answer of type application/octet-stream (5 bytes)"),
        ("text/plain", b"\xff\xfehi", True, "4 bytes that are not UTF-8 text (text/plain)"),
        ("application/json", b"  ", False, "an empty answer"),
        ("application/json", b'{"error": {"message": "model not loaded"}}', False, "an error: model not loaded"),
    ],
)
def test_what_is_not_a_transcript_says_what_came_back(ctype: str, body: bytes, text_asked: bool, what: str) -> None:
    with pytest.raises(NotATranscript) as info:
        parse_response(ctype, body, text_asked=text_asked)
    assert what in info.value.what
    assert "\n" not in info.value.what


def test_a_key_echoed_in_an_answer_without_text_is_masked() -> None:
    add_secret(KEY)
    with pytest.raises(NotATranscript) as info:
        parse_response("application/json", json.dumps({"echo": KEY, KEY: 1}).encode())
    with pytest.raises(NotATranscript) as plain:
        parse_response("text/plain", f"your key: {KEY}".encode())
    for message in (info.value.what, info.value.message, plain.value.what):
        assert KEY[:8] not in message and KEY[-8:] not in message


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
        (b'{"detail": {"error": {"message": "Model is loading", "code": "loading"}}}', "Model is loading", "loading"),
        (b'{"error": {"error": {"message": "deep", "type": "proxy_error"}}}', "deep", "proxy_error"),
        (b'{"detail": {"message": "Rate limit", "type": "rate"}}', "Rate limit", "rate"),
        (b'{"statusCode": 400, "message": "Bad file", "error": "Bad Request"}', "Bad file", ""),
        (b'{"errors": [{"message": "one"}, {"message": "two"}]}', "one; two", ""),
        (b'{"error": {"code": 500, "message": "backend failed", "type": ""}}', "backend failed", "500"),
        (b'{"detail": {"error": "plain string inside"}}', "plain string inside", ""),
        (b'{"weird": true}', '{"weird": true}', ""),
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


def test_a_long_error_is_redacted_before_it_is_cut() -> None:
    add_secret(KEY)
    for pad in range(300 - len(KEY), 300 + 1):
        body = json.dumps({"error": {"message": "x" * pad + KEY + " tail"}}).encode()
        message, _ = parse_error("application/json", body)
        assert all(KEY[i : i + 8] not in message for i in range(len(KEY) - 7))
        assert len(message) <= 301


@pytest.mark.parametrize(
    ("status", "message", "refusal"),
    [
        (415, "Unsupported Media Type", True),
        (400, "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'wav']", True),
        (400, "The audio file could not be decoded or its format is not supported.", True),
        (400, "This model does not support the format you provided.", True),
        (400, "file must be one of the following types: [flac mp3 mp4 mpeg mpga m4a ogg opus wav webm]", True),
        (400, "failed to read WAV file", True),
        (200, "failed to read audio data", True),
        (200, "FFmpeg conversion failed.", True),
        (400, "Failed to decode audio. The provided file is likely empty.", True),
        (400, "Error opening <_io.BytesIO object>: Format not recognised.", True),
        (400, "The model `whisper-9` does not exist or you do not have access to it.", False),
        (400, "Invalid value: 'srt'. Supported values are: 'json', 'text' (response_format)", False),
        (422, "response_format: Input should be 'text', 'json' or 'verbose_json'", False),
        (400, "Audio file is too short. Minimum audio length is 0.1 seconds.", False),
        (400, "Maximum file size exceeded", False),
        (400, "language: 'xx' is not a valid ISO-639-1 code", False),
        (500, "failed to read audio data", False),
        (401, "Invalid file format", False),
    ],
)
def test_a_refusal_of_the_format_is_told_from_a_refusal_of_a_setting(status: int, message: str, refusal: bool) -> None:
    assert is_format_refusal(status, message) is refusal


# ---- fuzzed: whatever comes back, a transcript or a TranscriptionError, never anything else --------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["text", "error", "message", "detail", "code", "type", "msg", "loc", "segments", "x"])
            | st.text(max_size=5),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)
_BODIES = st.one_of(st.binary(max_size=300), _JSON.map(lambda v: json.dumps(v).encode()), st.text().map(str.encode))
_TYPES = st.sampled_from(
    [
        "",
        "application/json",
        "text/plain",
        "text/html",
        "image/png",
        "application/problem+json",
        "text/plain; charset=latin-1",
    ]
)


@settings(max_examples=400, deadline=None)
@given(_TYPES, _BODIES, st.booleans())
def test_parse_response_gives_a_transcript_or_a_transcription_error(ctype: str, body: bytes, text_asked: bool) -> None:
    try:
        text, segments = parse_response(ctype, body, text_asked=text_asked)
    except TranscriptionError as exc:
        assert "\n" not in exc.message and "\x1b" not in exc.message
        return
    assert isinstance(text, str)
    assert segments is None or all(isinstance(s.text, str) for s in segments)


@settings(max_examples=400, deadline=None)
@given(_TYPES, _BODIES)
def test_parse_error_gives_one_safe_line(ctype: str, body: bytes) -> None:
    message, code = parse_error(ctype, body)
    for part in (message, code):
        assert isinstance(part, str)
        assert not any(ch in part for ch in "\n\r\x1b\x9b\u202e")
    assert len(message) <= 301


@pytest.mark.parametrize("depth", [10, 990, 5000, 200_000])
def test_json_nested_deeper_than_the_parser_goes_is_refused_like_any_other(depth: int) -> None:
    for body in ("[" * depth + "]" * depth, '{"error":' * depth + "1" + "}" * depth):
        with pytest.raises(NotATranscript):
            parse_response("application/json", body.encode())
        message, _ = parse_error("application/json", body.encode())
        assert len(message) <= 301


def test_a_huge_answer_is_cut_before_it_is_cleaned_and_no_key_start_survives_the_cut() -> None:
    add_secret(KEY)
    for pad in range(PRE_CUT - 12, PRE_CUT + 1):
        body = (" " * pad + KEY + " " + "x" * 1_000_000).encode()
        message, _ = parse_error("text/plain", body)
        assert KEY[:6] not in message
        with pytest.raises(NotATranscript) as info:
            parse_response("text/plain", body)
        assert KEY[:6] not in info.value.what
