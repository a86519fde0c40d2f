"""The text layer, pure: what a transcript goes through between the engine and the output.

`sanitize` makes text safe to deliver; `silence` knows what a model says when nobody spoke; a text
with no letter or digit is no speech. The rules users set, in order, are `pipeline` over
`vocabulary`, `replacements` and `commands` (on `words`); `prompt`, `tokens` and `echo` concern the
transcription prompt, `cleanup` the clean-up.
"""

from __future__ import annotations

from dictate.text.sanitize import sanitize
from dictate.text.silence import HALLUCINATIONS, is_hallucination

__all__ = ["HALLUCINATIONS", "has_words", "is_hallucination", "join", "process", "sanitize"]


def process(text: str, *, had_speech: bool = True, allow_newlines: bool = False) -> str:
    """Clean one transcript for delivery; empty when it is a silence hallucination, or has no letter or
    digit of any script (Whisper answers " . . . ." or a row of dots over low noise)."""
    clean = sanitize(text, allow_newlines=allow_newlines)
    if not has_words(clean):
        return ""
    if not had_speech and is_hallucination(clean):
        return ""
    return clean


def has_words(text: str) -> bool:
    """True when the text holds a letter or a digit of any script (CJK ideographs are letters)."""
    return any(ch.isalnum() for ch in text)


def join(parts: list[str]) -> str:
    """Join transcripts of consecutive parts of one dictation with single spaces."""
    return " ".join(p.strip() for p in parts if p.strip())
