"""A text as a list of words, each with the punctuation written against it, and back. Pure.

The rules that follow (vocabulary, replacements, spoken commands) match words, not characters: a
word is what lies between spaces, less the sentence punctuation at its ends ("(Hello," is the word
"Hello" with "(" before and "," after). Symbols inside a word stay in it ("C++", "Node.js").
A newline is a word of its own whose text is the newline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

# Sentence punctuation, stripped from a word's ends for matching and kept for writing it back.
PUNCTUATION = ",.;:!?\"'()[]{}“”‘’«»„‚…¿¡"
_TOKENS = re.compile(r"\n+|[^\s]+")
SENTENCE_ENDS = frozenset(".!?…")


class Word(NamedTuple):  # a tuple: made thousands of times per dictation, so made cheaply
    core: str  # the word as written, without its sentence punctuation
    lead: str = ""  # punctuation written before it
    trail: str = ""  # punctuation written after it
    key: str = ""  # the core case-folded, for matching

    @property
    def newline(self) -> bool:
        return self.core.startswith("\n")

    @property
    def text(self) -> str:
        return self.lead + self.core + self.trail

    def ends_sentence(self) -> bool:
        return bool(self.trail) and self.trail.rstrip("\"')]}”’»")[-1:] in SENTENCE_ENDS


def word(core: str, lead: str = "", trail: str = "") -> Word:
    return Word(core, lead, trail, core.casefold())


def split(text: str) -> list[Word]:
    """The words of a text (newlines kept as words of their own)."""
    words = []
    for token in _TOKENS.findall(text):
        if token[0] == "\n":
            words.append(Word(token, key=token))
            continue
        core = token.strip(PUNCTUATION)
        if not core:  # punctuation alone ("—" is a core, "..." is not): keep it as written
            words.append(Word(token, key=token.casefold()))
            continue
        start = len(token) - len(token.lstrip(PUNCTUATION))
        words.append(Word(core, token[:start], token[start + len(core) :], core.casefold()))
    return words


def render(words: Iterable[Word]) -> str:
    """The words written back with single spaces (none around newlines)."""
    out: list[str] = []
    previous_newline = True
    for w in words:
        if w.newline:
            if out and out[-1] == " ":
                out.pop()
            out.append(w.core)
            previous_newline = True
            continue
        if not previous_newline:
            out.append(" ")
        out.append(w.text)
        previous_newline = False
    return "".join(out)


def starts_sentence(words: list[Word], index: int) -> bool:
    """Whether the word at `index` begins a sentence: the first, after a newline, or after . ! ?"""
    if index == 0:
        return True
    before = words[index - 1]
    return before.newline or before.ends_sentence()


def capitalized(text: str) -> str:
    """`text` with its first letter upper-cased."""
    return text[:1].upper() + text[1:]
