"""The prompt a model is given: the configured hint, the vocabulary, then the end of the text before,
within the part of a prompt Whisper keeps. Pure.

Whisper keeps only the last 223 tokens of a prompt (n_text_ctx // 2 - 1; OpenAI documents "the final
224"), dropping the beginning. So the prompt is built to fit, counted with the safe estimate of
`tokens`: the most recent text always keeps CONTEXT_TOKENS (or all of it, when shorter), the
vocabulary takes what room is left, in its order, and the rest of the vocabulary is left out (it
still restores spellings after transcription: see `vocabulary`).
"""

from __future__ import annotations

from collections.abc import Sequence

from dictate.text.tokens import piece_tokens

PROMPT_TOKENS = 223
CONTEXT_TOKENS = 96  # estimated tokens of the text before that the vocabulary never displaces


def prompt_for(hint: str, before: str, vocabulary: Sequence[str] = ()) -> str | None:
    """The configured hint, the vocabulary entries that fit, and the end of the text so far, within
    what the model keeps; None when there is nothing to say."""
    hint = " ".join(hint.split())
    words = before.split()
    room = PROMPT_TOKENS - piece_tokens(hint)
    if room <= 0:
        return hint or None
    context_wanted = min(_tail_cost(words, CONTEXT_TOKENS), room)
    entries = _entries_within(vocabulary, room - context_wanted)
    listed = ", ".join(entries) + "." if entries else ""
    context = _tail(words, room - piece_tokens(" " + listed) if listed else room)
    return " ".join(part for part in (hint, listed, context) if part) or None


def vocabulary_room(hint: str, vocabulary: Sequence[str]) -> int:
    """How many vocabulary entries always fit in a prompt, even after a long text before."""
    room = PROMPT_TOKENS - piece_tokens(" ".join(hint.split())) - CONTEXT_TOKENS
    return len(_entries_within(vocabulary, room))


def _entries_within(vocabulary: Sequence[str], room: float) -> list[str]:
    """The first entries whose list ("A, B, C.") fits in `room` tokens."""
    entries: list[str] = []
    used = 0.0
    for written in vocabulary:
        entry = " ".join(written.split())
        if not entry:
            continue
        cost = piece_tokens(" " + entry) + 1  # and its comma, or the final period
        if used + cost > room:
            break
        entries.append(entry)
        used += cost
    return entries


def _tail_cost(words: list[str], limit: float) -> float:
    """The estimated tokens of the end of `words` that fits in `limit` (all of them when they fit)."""
    used = 0.0
    for word in reversed(words):
        cost = piece_tokens(" " + word)
        if used + cost > limit:
            break
        used += cost
    return used


def _tail(words: list[str], room: float) -> str:
    """The end of `words` that fits in `room` tokens, from a word start."""
    used, start = 0.0, len(words)
    while start > 0:
        cost = piece_tokens(" " + words[start - 1])
        if used + cost > room:
            break
        used += cost
        start -= 1
    return " ".join(words[start:])
