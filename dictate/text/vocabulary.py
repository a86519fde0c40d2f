"""Vocabulary spellings restored after transcription: words that match an entry but for their case or
their spacing take the entry's spelling ("postgre sql" -> "PostgreSQL", "kubernetes" -> "Kubernetes").
Pure.

Words are joined for a match only across plain spaces: "postgre, sql" is two words, never one entry.
And a one-word entry takes several words only when it is spelt like a technical term (a capital
inside it, a digit, a symbol: "PostgreSQL", "GPT4", "Node.js"): two ordinary words are too often
just what was said ("red is" is not "Redis", "to bias" not "Tobias"). Entries of several words
("Visual Studio Code") take any spacing.
The entry's own spelling wins everywhere, also at the start of a sentence.
"""

from __future__ import annotations

from collections.abc import Iterable

from dictate.text.words import Word, split, word


class Vocabulary:
    """The entries, indexed by their spelling without case or spaces, and every prefix of those."""

    def __init__(self, entries: Iterable[str]) -> None:
        # key -> (spelling, its number of words, whether any spacing may match it)
        self.spellings: dict[str, tuple[str, int, bool]] = {}
        self.prefixes: set[str] = set()
        for entry in entries:
            cores = [w.core for w in split(entry) if not w.newline]
            if not cores:
                continue
            spelling = " ".join(cores)
            key = "".join(cores).casefold()
            self.spellings.setdefault(key, (spelling, len(cores), len(cores) > 1 or _technical(cores)))
            self.prefixes.update(key[:end] for end in range(1, len(key)))

    def restore(self, words: list[Word]) -> list[Word]:
        """The words with every run that matches an entry (longest first) spelt as the entry."""
        if not self.spellings:
            return words
        out: list[Word] = []
        index = 0
        while index < len(words):
            end, spelling = self._match(words, index)
            if spelling is None:
                out.append(words[index])
                index += 1
                continue
            first, last = words[index], words[end - 1]
            out.append(word(spelling, first.lead, last.trail))
            index = end
        return out

    def _match(self, words: list[Word], start: int) -> tuple[int, str | None]:
        key = ""
        found: tuple[int, str | None] = (start, None)
        for end in range(start, len(words)):
            current = words[end]
            if end > start and (words[end - 1].trail or current.lead):
                break  # only plain spaces may be dropped
            key += current.key
            known = self.spellings.get(key)
            if known is not None and (known[2] or known[1] == end + 1 - start):
                found = (end + 1, known[0])
            if key not in self.prefixes:
                break
        return found


def _technical(cores: list[str]) -> bool:
    """Whether an entry is spelt like a technical term: a capital inside a word, a digit, a symbol."""
    return any(ch.isdigit() or not ch.isalpha() or (i and ch.isupper()) for core in cores for i, ch in enumerate(core))
