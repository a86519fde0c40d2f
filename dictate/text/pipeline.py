"""The text rules in order, for one dictation: vocabulary spellings, replacements, spoken commands. Pure.

The transcript of each part (a stretch of speech cut at a pause) comes in sanitized; the result is
the dictation's text before the output's newline rule (`sanitize` with allow_newlines) is applied.
Each step is optional: with no vocabulary, no replacements and commands off the text only has its
spaces made single. The rules are compiled once per set of settings (an index for each step).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dictate.text import commands
from dictate.text.replacements import Replacements
from dictate.text.vocabulary import Vocabulary
from dictate.text.words import Word, render, split


@dataclass(frozen=True)
class Rules:
    """What the text layer does to a dictation ([text] settings, after any profile)."""

    vocabulary: tuple[str, ...] = ()
    replacements: tuple[tuple[str, str], ...] = ()
    commands: bool = False
    newline_commands: bool = True
    language: str = ""

    @classmethod
    def of(
        cls,
        *,
        vocabulary: Sequence[str] = (),
        replacements: Mapping[str, str] | None = None,
        commands: bool = False,
        newline_commands: bool = True,
        language: str = "",
    ) -> Rules:
        return cls(tuple(vocabulary), tuple((replacements or {}).items()), commands, newline_commands, language)

    @property
    def active(self) -> bool:
        return bool(self.vocabulary or self.replacements or self.commands)


@dataclass(frozen=True)
class _Compiled:
    vocabulary: Vocabulary
    replacements: Replacements
    table: commands.Table


@functools.lru_cache(maxsize=16)
def _compile(vocabulary: tuple[str, ...], replacements: tuple[tuple[str, str], ...], language: str) -> _Compiled:
    return _Compiled(Vocabulary(vocabulary), Replacements(replacements), commands.table_for(language))


def apply(parts: Sequence[str], rules: Rules) -> str:
    """The text of a dictation's parts (each sanitized) after the rules, joined with single spaces."""
    if not rules.active:
        return " ".join(p.strip() for p in parts if p.strip())
    compiled = _compile(rules.vocabulary, rules.replacements, rules.language)
    word_parts: list[list[Word]] = []
    for part in parts:
        words = compiled.vocabulary.restore(split(part))
        word_parts.append(compiled.replacements.apply(words))
    if rules.commands:
        words = commands.apply(word_parts, compiled.table, newlines=rules.newline_commands)
    else:
        words = [w for part_words in word_parts for w in part_words]
    return render(words)
