"""An echo: a transcript that repeats the prompt, or a large part of it, instead of what was said. Pure.

Whisper sometimes answers a quiet or short recording with its prompt (the vocabulary list, or the
text before): that is not speech and must not be typed. A transcript is an echo when at least
ECHO_SHARE of its words lie in runs of three or more words found in the same order in the prompt,
and those words are a large part of the prompt too (PROMPT_SHARE of a short prompt, or ECHO_WORDS of
a long one), so that a person repeating a few words they said earlier is not mistaken for an echo.
"""

from __future__ import annotations

import math
import re

ECHO_SHARE = 0.8
ECHO_WORDS = 8
PROMPT_SHARE = 0.6
_RUN = 3
_WORD = re.compile(r"\w+")


def is_echo(text: str, prompt: str | None) -> bool:
    """Whether `text` is the model repeating `prompt` rather than a transcript of speech."""
    if not prompt:
        return False
    said = _WORD.findall(text.casefold())
    given = _WORD.findall(prompt.casefold())
    if len(said) < _RUN or len(given) < _RUN:
        return False
    runs = {tuple(given[i : i + _RUN]) for i in range(len(given) - _RUN + 1)}
    copied = [False] * len(said)
    for i in range(len(said) - _RUN + 1):
        if tuple(said[i : i + _RUN]) in runs:
            copied[i : i + _RUN] = [True] * _RUN
    count = sum(copied)
    return count >= ECHO_SHARE * len(said) and count >= min(math.ceil(PROMPT_SHARE * len(given)), ECHO_WORDS)
