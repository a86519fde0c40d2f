"""What OpenAI-compatible servers answer, parsed: transcripts and errors in every provider's shape. Pure.

Providers differ: OpenAI, Groq, LocalAI and vLLM send errors as {"error": {"message": ...}},
whisper.cpp as {"error": "..."}, speaches (FastAPI) as {"detail": ...}. Success is {"text": ...},
a JSON string (vLLM with response_format=text) or a plain-text body.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from typing import Any

from dictate.engines import Segment, TranscriptionError
from dictate.text import sanitize


def _decode(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def parse_response(content_type: str, body: bytes) -> tuple[str, tuple[Segment, ...] | None]:
    """Text (and verbose_json segments) from a successful answer of any provider."""
    text = _decode(body)
    stripped = text.strip()
    is_json = "json" in content_type.lower() or stripped[:1] in ("{", '"')
    if not is_json:
        return text, None
    try:
        data = json.loads(stripped)
    except ValueError:
        if "json" in content_type.lower():
            raise TranscriptionError("the server's answer is not valid JSON", kind="bad_response") from None
        return text, None
    if isinstance(data, str):
        return data, None
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        segments = None
        if isinstance(data.get("segments"), list):
            segments = tuple(_segment(s) for s in data["segments"] if isinstance(s, dict))
        return data["text"], segments
    raise TranscriptionError(f"the server's answer has no text: {sanitize(stripped)[:120]}", kind="bad_response")


def _segment(raw: dict[str, Any]) -> Segment:
    def num(name: str, default: float) -> float:
        value = raw.get(name)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default

    return Segment(
        str(raw.get("text", "")), num("no_speech_prob", 0.0), num("avg_logprob", 0.0), num("compression_ratio", 1.0)
    )


def parse_error(content_type: str, body: bytes) -> tuple[str, str]:
    """A readable one-line message and a machine code (may be empty) from any provider's error."""
    text = _decode(body).strip()
    message, code = "", ""
    try:
        data = json.loads(text) if text[:1] in ("{", "[", '"') else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            message = str(err.get("message") or "")
            code = str(err.get("code") or err.get("type") or "")
        elif isinstance(err, str):
            message = err
        detail = data.get("detail")
        if not message and detail is not None:
            message = _detail_text(detail)
        if not message and isinstance(data.get("message"), str):
            message = data["message"]
        if not message:
            message = json.dumps(data)[:200]
    elif isinstance(data, str):
        message = data
    elif text.startswith("<"):
        title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
        message = title.group(1) if title else ""
    else:
        message = text
    message = sanitize(message)
    return (message[:300] + "…" if len(message) > 300 else message), code


def _detail_text(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):  # FastAPI validation errors: [{"loc": [...], "msg": "..."}]
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", "")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("msg") or json.dumps(detail))
    return str(detail)


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
