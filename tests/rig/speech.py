"""Comparing what a recognizer heard with what was said.

Speech played into the live virtual microphone is never heard twice the same way: the capture starts at
a slightly different moment, and pocketsphinx or Whisper tiny may mishear a word ("jump" for "jumps",
"fare" for "third"). So the e2e tests assert exact delivery against what the engine answered (the
server's record or the history), and hold recognition to a budget of word edits, never to exact words.
"""

from __future__ import annotations

import re


def words(text: str) -> list[str]:
    """Lower-case words, punctuation dropped."""
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


def misheard(heard: str | list[str], said: str | list[str]) -> int:
    """Word edits (substituted, dropped or added words) between what was heard and what was said."""
    got = words(heard) if isinstance(heard, str) else heard
    want = words(said) if isinstance(said, str) else said
    row = list(range(len(want) + 1))
    for i, g in enumerate(got, 1):
        diagonal, row[0] = row[0], i
        for j, w in enumerate(want, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (g != w))
    return row[-1]
