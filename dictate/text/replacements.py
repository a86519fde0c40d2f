"""Replacements: spoken words and phrases written another way ("fast api" -> "FastAPI"). Pure.

Whole words only, matched in any case across plain spaces (never across punctuation, never inside a
longer word), longest phrase first, in one pass: what a replacement wrote is never replaced again.
The replacement is written in its own case, except that an all-lower-case replacement of words that
began a sentence with a capital keeps that capital ("Cube control is..." -> "Kubectl is...").
"""

from __future__ import annotations

from collections.abc import Iterable

from dictate.text.words import Word, capitalized, split, starts_sentence, word


class Replacements:
    """The phrases to replace, as tuples of case-folded words, and every beginning of one."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.table: dict[tuple[str, ...], str] = {}
        self.prefixes: set[tuple[str, ...]] = set()
        for spoken, written in pairs:
            key = tuple(w.key for w in split(spoken) if not w.newline)
            if not key:
                continue
            self.table.setdefault(key, written)
            self.prefixes.update(key[:end] for end in range(1, len(key)))

    def apply(self, words: list[Word]) -> list[Word]:
        """The words with every phrase replaced, in one pass from the start."""
        if not self.table:
            return words
        words = list(words)  # a phrase left out may change the word after it (_drop)
        out: list[Word] = []
        index = 0
        while index < len(words):
            end, written = self._match(words, index)
            if written is None:
                out.append(words[index])
                index += 1
                continue
            first, last = words[index], words[end - 1]
            if not written.strip():
                _drop(out, words, index, end)
                index = end
                continue
            if written == written.lower() and first.core[:1].isupper() and starts_sentence(words, index):
                written = capitalized(written)
            out.append(word(written, first.lead, last.trail))
            index = end
        return out

    def _match(self, words: list[Word], start: int) -> tuple[int, str | None]:
        key: tuple[str, ...] = ()
        found: tuple[int, str | None] = (start, None)
        for end in range(start, len(words)):
            current = words[end]
            if end > start and (words[end - 1].trail or current.lead):
                break  # punctuation between words ends a phrase
            key += (current.key,)
            if key in self.table:
                found = (end + 1, self.table[key])
            if key not in self.prefixes:
                break
        return found


def _drop(out: list[Word], words: list[Word], start: int, end: int) -> None:
    """Leave out words[start:end] (a phrase replaced by nothing: "um" = ""), and the commas around
    them with it: "So, um, it works." -> "So, it works."; a sentence end it carried goes to the word
    before, and a sentence it began starts with the next word, capitalized as it was."""
    first, last = words[start], words[end - 1]
    ending = last.trail.rstrip("\"')]}”’»")[-1:] if last.ends_sentence() else ""
    if ending and out and not out[-1].newline and not out[-1].ends_sentence():
        before = out[-1]
        out[-1] = before._replace(trail=before.trail.rstrip(",;:") + ending)
    if end < len(words) and starts_sentence(words, start) and not words[end].newline:
        after = words[end]
        core = capitalized(after.core) if first.core[:1].isupper() else after.core
        words[end] = after._replace(core=core, lead=first.lead + after.lead)
