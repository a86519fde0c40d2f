"""Spoken commands: punctuation, new lines, "scratch that" and "literal", one table per language. Pure.

- A punctuation mark attaches to the word before it ("hello comma world" -> "hello, world"), taking
  the place of any . , ; : ! ? the model had already put there; opening marks attach to the word
  after. A mark with no word to attach to stands alone. After . ! ? the next word gets a capital.
- "new line" and "new paragraph" write "\\n" and "\\n\\n" (when `newlines` is on); whether that
  reaches the window as Enter is the output's rule, applied after this.
- "scratch that" drops the text of its part (a stretch of speech between pauses) said before it, or,
  when it opens its part, the text of the part before it in the same dictation.
- "literal" makes the command after it (or the next word) plain words: "literal comma" -> "comma".

The punctuation the model wrote against a command's own words is dropped with them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dictate.text.words import Word, capitalized, word

_REPLACEABLE = ".,;:!?"  # a model's own marks that a spoken mark takes the place of


@dataclass(frozen=True)
class Mark:
    text: str
    opens: bool = False  # attaches to the word after it, like "(", not to the word before
    ends_sentence: bool = False


@dataclass(frozen=True)
class Table:
    """One language's commands, each a tuple of case-folded words."""

    marks: Mapping[tuple[str, ...], Mark]
    newline: frozenset[tuple[str, ...]]
    paragraph: frozenset[tuple[str, ...]]
    scratch: frozenset[tuple[str, ...]]
    literal: frozenset[tuple[str, ...]]
    longest: int = field(init=False)
    firsts: frozenset[str] = field(init=False)  # the words a command can start with

    def __post_init__(self) -> None:
        phrases = [*self.marks, *self.newline, *self.paragraph, *self.scratch, *self.literal]
        object.__setattr__(self, "longest", max(len(p) for p in phrases))
        object.__setattr__(self, "firsts", frozenset(p[0] for p in phrases))


def _phrases(*texts: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(text.split()) for text in texts)


def _marks(table: Mapping[str, Mark]) -> dict[tuple[str, ...], Mark]:
    return {tuple(spoken.split()): mark for spoken, mark in table.items()}


_COMMA, _PERIOD = Mark(","), Mark(".", ends_sentence=True)
_QUESTION, _EXCLAMATION = Mark("?", ends_sentence=True), Mark("!", ends_sentence=True)
_OPEN_QUOTE, _CLOSE_QUOTE = Mark('"', opens=True), Mark('"')
_OPEN_PAREN, _CLOSE_PAREN = Mark("(", opens=True), Mark(")")

ENGLISH = Table(
    marks=_marks(
        {
            "comma": _COMMA,
            "period": _PERIOD,
            "full stop": _PERIOD,
            "fullstop": _PERIOD,
            "full-stop": _PERIOD,
            "question mark": _QUESTION,
            "question-mark": _QUESTION,
            "exclamation mark": _EXCLAMATION,
            "exclamation point": _EXCLAMATION,
            "colon": Mark(":"),
            "semicolon": Mark(";"),
            "semi colon": Mark(";"),
            "semi-colon": Mark(";"),
            "open quote": _OPEN_QUOTE,
            "begin quote": _OPEN_QUOTE,
            "close quote": _CLOSE_QUOTE,
            "end quote": _CLOSE_QUOTE,
            "unquote": _CLOSE_QUOTE,
            "open parenthesis": _OPEN_PAREN,
            "open paren": _OPEN_PAREN,
            "close parenthesis": _CLOSE_PAREN,
            "close paren": _CLOSE_PAREN,
        }
    ),
    newline=_phrases("new line", "newline"),
    paragraph=_phrases("new paragraph"),
    scratch=_phrases("scratch that"),
    literal=_phrases("literal"),
)

# Commands by the language of [api] language; a language without a table of its own uses English.
TABLES: dict[str, Table] = {"en": ENGLISH}


def table_for(language: str) -> Table:
    return TABLES.get(language.lower(), ENGLISH) if language else ENGLISH


class _Writer:
    """The words written so far, in units that "scratch that" can take back, and what the next word gets."""

    def __init__(self) -> None:
        self.units: list[list[Word]] = []
        self.opening = ""  # opening marks waiting for the next word
        self.capital = False  # the next word starts a sentence

    def start_unit(self) -> None:
        self.units.append([])

    def last(self) -> Word | None:
        for unit in reversed(self.units):
            if unit:
                return unit[-1]
        return None

    def write(self, w: Word, *, literal: bool = False) -> None:
        if self.opening:
            w = word(w.core, self.opening + w.lead, w.trail)
            self.opening = ""
        if self.capital and not w.newline and w.core.islower() and not literal:
            w = word(capitalized(w.core), w.lead, w.trail)
        self.capital = False
        self.units[-1].append(w)

    def mark(self, mark: Mark) -> None:
        if mark.opens:
            self.opening += mark.text
            return
        before = self.last()
        if before is None or before.newline:
            self.write(word(mark.text))  # nothing to attach to: it stands alone
        else:
            unit = next(u for u in reversed(self.units) if u)
            trail = before.trail.rstrip(_REPLACEABLE) if mark.text in _REPLACEABLE else before.trail
            unit[-1] = word(before.core, before.lead, trail + mark.text)
        self.capital = mark.ends_sentence

    def newline(self, text: str) -> None:
        self.flush()
        self.units[-1].append(Word(text, key=text))

    def scratch(self) -> None:
        self.opening, self.capital = "", False
        if self.units[-1]:
            self.units[-1].clear()
            return
        for unit in reversed(self.units):
            if unit:
                unit.clear()
                return

    def flush(self) -> None:
        """Opening marks with no word after them stand alone."""
        if self.opening:
            text, self.opening = self.opening, ""
            self.units[-1].append(word(text))

    def words(self) -> list[Word]:
        self.flush()
        return [w for unit in self.units for w in unit]


def apply(parts: Sequence[list[Word]], table: Table = ENGLISH, *, newlines: bool = True) -> list[Word]:
    """The words of a dictation's parts, in order, with the spoken commands carried out."""
    out = _Writer()
    for words in parts:
        out.start_unit()
        index = 0
        while index < len(words):
            end, kind, mark = _command(words, index, table, newlines)
            if kind == "literal":
                if end < len(words):  # the command after it, or the next word, as plain words
                    after, after_kind, _ = _command(words, end, table, newlines)
                    stop = after if after_kind else end + 1
                    for plain in words[end:stop]:
                        out.write(plain, literal=True)
                    index = stop
                else:
                    out.write(words[index], literal=True)
                    index = end
                continue
            if kind == "mark":
                assert mark is not None
                out.mark(mark)
            elif kind == "newline":
                out.newline("\n")
            elif kind == "paragraph":
                out.newline("\n\n")
            elif kind == "scratch":
                out.scratch()
            else:
                out.write(words[index])
                end = index + 1
            index = end
    return out.words()


def _command(words: list[Word], start: int, table: Table, newlines: bool) -> tuple[int, str | None, Mark | None]:
    """(end, kind, mark) of the longest command starting at `start`, or (start, None, None)."""
    if words[start].key not in table.firsts:
        return start, None, None
    for size in range(min(table.longest, len(words) - start), 0, -1):
        key = tuple(w.key for w in words[start : start + size])
        if key in table.marks:
            return start + size, "mark", table.marks[key]
        if newlines and key in table.newline:
            return start + size, "newline", None
        if newlines and key in table.paragraph:
            return start + size, "paragraph", None
        if key in table.scratch:
            return start + size, "scratch", None
        if key in table.literal:
            return start + size, "literal", None
    return start, None, None
