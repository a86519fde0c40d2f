"""Word error rate: word-level Levenshtein distance between a reference and a hypothesis."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_NOT_WORD = re.compile(r"[^a-z0-9']+")


def normalize(text: str) -> list[str]:
    """Lowercase words without punctuation; apostrophes inside words are kept ("it's" is not "its")."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_APOSTROPHES)
    words = (w.strip("'") for w in _NOT_WORD.split(text))
    return [w for w in words if w]


@dataclass(frozen=True)
class Errors:
    """Word edits turning a reference into a hypothesis; add them up over several utterances."""

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    reference_words: int = 0

    @property
    def edits(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Edits per reference word; an empty reference counts every inserted word as one error."""
        if self.reference_words == 0:
            return float(self.insertions)
        return self.edits / self.reference_words

    def __add__(self, other: Errors) -> Errors:
        return Errors(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.reference_words + other.reference_words,
        )


def word_errors(reference: str, hypothesis: str) -> Errors:
    """The fewest substitutions, deletions and insertions of words (after `normalize`)."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    # row[j] = (edits, substitutions, deletions, insertions) to turn ref[:i] into hyp[:j]
    row = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i, ref_word in enumerate(ref, 1):
        new = [(i, 0, i, 0)]
        for j, hyp_word in enumerate(hyp, 1):
            e, s, d, n = row[j - 1]
            diagonal = (e, s, d, n) if ref_word == hyp_word else (e + 1, s + 1, d, n)
            e, s, d, n = row[j]
            deletion = (e + 1, s, d + 1, n)
            e, s, d, n = new[j - 1]
            insertion = (e + 1, s, d, n + 1)
            new.append(min(diagonal, deletion, insertion))
        row = new
    _, subs, dels, ins = row[-1]
    return Errors(subs, dels, ins, len(ref))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / words in the reference."""
    return word_errors(reference, hypothesis).rate
