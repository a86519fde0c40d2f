from __future__ import annotations

import pytest

from dictate.engines import TranscriptionError
from dictate.engines.replies import parse_error, parse_response, parse_retry_after

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123"


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
