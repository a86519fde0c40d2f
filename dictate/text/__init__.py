"""The text layer, pure: what a transcript goes through between the engine and the output.

`sanitize` makes text safe to deliver; `silence` knows what a model says when nobody spoke.
The rules users set, in order, are `pipeline` over `vocabulary`, `replacements` and `commands` (on
`words`); `prompt`, `tokens` and `echo` concern the transcription prompt, `cleanup` the clean-up.
"""

from __future__ import annotations

from dictate.text.sanitize import sanitize
from dictate.text.silence import HALLUCINATIONS, is_hallucination

__all__ = ["HALLUCINATIONS", "is_hallucination", "join", "process", "sanitize"]


def process(text: str, *, had_speech: bool = True, allow_newlines: bool = False) -> str:
    """Clean one transcript for delivery; empty when it is a silence hallucination."""
    clean = sanitize(text, allow_newlines=allow_newlines)
    if not had_speech and is_hallucination(clean):
        return ""
    return clean


def join(parts: list[str]) -> str:
    """Join transcripts of consecutive parts of one dictation with single spaces."""
    return " ".join(p.strip() for p in parts if p.strip())
