"""What OpenAI-compatible servers answer, parsed: transcripts and errors in every provider's shape. Pure.

A transcript is only what a provider sends: a JSON object with a string `text` (OpenAI, Groq,
speaches, whisper.cpp, LocalAI), a JSON string (vLLM), or plain text when `response_format = "text"`
was asked for (whisper.cpp labels it text/html). Anything else (a captive portal's page, `42`, a
list, bytes that are not UTF-8, an image) raises NotATranscript, which says what came back.

Errors: OpenAI, Groq, LocalAI and vLLM send {"error": {"message": ...}}, whisper.cpp {"error": "..."}
(with HTTP 200), speaches and other FastAPI servers {"detail": ...}, proxies {"detail": {"error": ...}}
or {"message": ...}, gateways an HTML page. Every message is made safe (sanitize), redacted, and only
then cut.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from typing import Any

from dictate.engines import Segment, TranscriptionError
from dictate.errors import redact
from dictate.text import sanitize

MESSAGE_CHARS = 300  # the longest server message shown
EXCERPT_CHARS = 80  # the longest piece of an unexpected answer shown


# Speech holds about 15-20 characters a second, and Whisper writes at most 224 tokens per 30 s
# window; an answer far beyond that (megabytes for a second of audio) is not a transcript.
CHARACTERS_PER_SECOND = 50
CHARACTERS_SLACK = 300


def most_characters(seconds: float) -> int:
    """The longest transcript that `seconds` of audio can have."""
    return int(CHARACTERS_PER_SECOND * seconds) + CHARACTERS_SLACK


class NotATranscript(TranscriptionError):
    """A successful answer that holds no transcript; `what` says what came back, `server_error` is the
    message when it was an error in a provider's shape (whisper.cpp answers errors with HTTP 200)."""

    def __init__(self, what: str, server_error: str | None = None) -> None:
        super().__init__(what, kind="bad_response")
        self.what = what
        self.server_error = server_error


PRE_CUT = 65536  # no more of an answer than this is cleaned: a hostile one may be megabytes
_TRAILING_TOKEN = re.compile(r"[A-Za-z0-9_\-]+$")


def safe_line(text: str) -> str:
    """`text` on one safe line with every secret masked, whatever its length: a long text is cut
    first, and the word at that cut dropped, as it may be the start of a key too short to recognise."""
    if len(text) <= PRE_CUT:
        return redact(sanitize(text))
    return _TRAILING_TOKEN.sub("", redact(sanitize(text[:PRE_CUT])))


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` on one safe line, secrets masked, then cut to `limit` characters."""
    return _cut(safe_line(text), limit)


def _mime(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json_type(mime: str) -> bool:
    return mime in ("application/json", "text/json") or mime.endswith("+json")


_HTML_START = re.compile(r"\s*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<!--|<\?xml)", re.I)


def _html_page(text: str) -> str:
    title = re.search(r"<title[^>]*>(.*?)</title>", text[:65536], re.I | re.S)
    name = excerpt(title.group(1)) if title else ""
    called = f' titled "{name}"' if name else ""
    return f"an HTML page{called} (a captive portal or proxy?)"


def parse_response(
    content_type: str, body: bytes, *, text_asked: bool = False
) -> tuple[str, tuple[Segment, ...] | None]:
    """Text (and verbose_json segments) from a successful answer; raise NotATranscript for anything else.

    `text_asked`: `response_format = "text"` was sent, so a plain-text body is the transcript."""
    mime = _mime(content_type)
    if not body.strip():
        if text_asked and not _is_json_type(mime):
            return "", None  # plain text with no words
        return _refuse("an empty answer")
    if mime not in ("", "text/plain", "text/html", "application/xhtml+xml") and not _is_json_type(mime):
        return _refuse(f"an answer of type {excerpt(mime, 60)} ({len(body)} bytes)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _refuse(f"{len(body)} bytes that are not UTF-8 text ({mime or 'no content type'})")
    stripped = text.strip()
    looks_json = stripped[:1] in ("{", "[", '"') or _is_json_type(mime)
    if looks_json:
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            data = _NOT_JSON
        if data is not _NOT_JSON:
            return _from_json(data)
        if _is_json_type(mime):
            return _refuse(f"invalid JSON: {excerpt(stripped)}")
    if _HTML_START.match(text) or mime in ("application/xhtml+xml",) or (mime == "text/html" and not text_asked):
        return _refuse(_html_page(text))
    if text_asked:
        return text, None
    return _refuse(f'plain text where JSON was expected: "{excerpt(stripped)}"')


_NOT_JSON = object()


def _from_json(data: Any) -> tuple[str, tuple[Segment, ...] | None]:
    if isinstance(data, str):
        return data, None
    if isinstance(data, dict):
        if isinstance(data.get("text"), str):
            segments = None
            if isinstance(data.get("segments"), list):
                segments = tuple(_segment(s) for s in data["segments"] if isinstance(s, dict))
            return data["text"], segments
        message = _message_of({k: v for k, v in data.items() if k in _MESSAGE_KEYS})
        if message:
            message = _cut(safe_line(message), MESSAGE_CHARS)
            return _refuse(f"an error: {message}", server_error=message)
        keys = ", ".join(excerpt(str(k), 30) for k in list(data)[:6])
        return _refuse(f"a JSON object without a text field (keys: {keys or 'none'})")
    if isinstance(data, bool):
        return _refuse(f"JSON {'true' if data else 'false'}")
    if isinstance(data, int | float):
        return _refuse(f"a JSON number ({excerpt(_dumps(data), 40)})")
    if isinstance(data, list):
        return _refuse(f"a JSON list: {excerpt(_dumps(data))}")
    return _refuse("JSON null")


def _refuse(what: str, server_error: str | None = None) -> tuple[str, tuple[Segment, ...] | None]:
    raise NotATranscript(what, server_error)


def _segment(raw: dict[str, Any]) -> Segment:
    def num(name: str, default: float) -> float:
        value = raw.get(name)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default

    text = raw.get("text")
    return Segment(
        text if isinstance(text, str) else "",
        num("no_speech_prob", 0.0),
        num("avg_logprob", 0.0),
        num("compression_ratio", 1.0),
    )


# ---- errors ------------------------------------------------------------------------------------

# Where providers put the words of an error, in the order they are looked for, at any depth.
_MESSAGE_KEYS = ("message", "msg", "detail", "error", "error_message", "errors", "title", "description", "reason")
_CODE_KEYS = ("code", "type")
_DEPTH = 6


def _message_of(value: Any, depth: int = 0) -> str:
    """The readable words in any nesting of error objects, lists and strings ("" when there are none)."""
    if depth > _DEPTH:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [_item_message(item, depth + 1) for item in value[:10]]
        return "; ".join(p for p in parts if p)
    if isinstance(value, dict):
        for key in _MESSAGE_KEYS:
            if key in value:
                found = _message_of(value[key], depth + 1)
                if found:
                    return found
    return ""


def _item_message(item: Any, depth: int) -> str:
    # FastAPI validation errors: [{"loc": ["body", "file"], "msg": "Field required"}]
    if isinstance(item, dict) and isinstance(item.get("loc"), list):
        loc = ".".join(str(p) for p in item["loc"] if p != "body")
        msg = _message_of(item, depth)
        return f"{loc}: {msg}" if loc and msg else msg
    return _message_of(item, depth)


def _code_of(value: Any, depth: int = 0) -> str:
    if depth > _DEPTH or not isinstance(value, dict):
        return ""
    for key in _CODE_KEYS:
        code = value.get(key)
        if isinstance(code, str | int) and not isinstance(code, bool) and str(code):
            return str(code)
    for key in ("error", "detail"):
        found = _code_of(value.get(key), depth + 1)
        if found:
            return found
    return ""


def parse_error(content_type: str, body: bytes) -> tuple[str, str]:
    """A readable one-line message (redacted, then cut) and a machine code (may be empty) from any
    provider's error."""
    text = body.decode("utf-8", errors="replace").strip()
    message, code = "", ""
    try:
        data = json.loads(text) if text[:1] in ("{", "[", '"') else None
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict | list | str):
        message = _message_of(data)
        code = _code_of(data)
        if not message and isinstance(data, dict):
            message = _dumps(data)
    elif text.startswith("<"):
        title = re.search(r"<title[^>]*>(.*?)</title>", text[:65536], re.I | re.S)
        message = title.group(1) if title else ""
    else:
        message = text
    return _cut(safe_line(message), MESSAGE_CHARS), excerpt(code, 60)


def _dumps(data: Any) -> str:
    try:
        return json.dumps(data, ensure_ascii=False)
    except (ValueError, RecursionError):
        return "(nested too deep to show)"


def _cut(text: str, limit: int) -> str:
    return text[:limit] + "…" if len(text) > limit else text


# A refusal of the audio itself, which another encoding may pass: OpenAI ("Invalid file format",
# "could not be decoded", "does not support the format"), Groq ("file must be one of the following
# types"), whisper.cpp ("failed to read WAV file", "failed to read audio data", "FFmpeg conversion
# failed"), speaches ("Failed to decode audio"), vLLM/librosa ("Format not recognised").
_FORMAT_WORDS = re.compile(
    r"format|decod|codec|file type|following types|media file|audio file|audio data|read (?:the )?(?:wav|audio)"
    r"|wav file|ffmpeg|corrupt|not recogni[sz]ed|unsupported (?:file|media|audio|content)|invalid file",
    re.I,
)
# ...unless it is about a setting or the length, which no other encoding changes.
_NOT_FORMAT = re.compile(
    r"response[_ ]format|too (?:short|long|large|big)|minimum|maximum|duration|size|exceed|quota|api key", re.I
)


def is_format_refusal(status: int, message: str) -> bool:
    """True when the server refused the audio's encoding (so WAV may pass), not a setting or the length."""
    if status == 415:
        return True
    if status not in (200, 400, 422):
        return False
    return bool(_FORMAT_WORDS.search(message)) and not _NOT_FORMAT.search(message)


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
