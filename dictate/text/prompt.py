"""The prompt a model is given: the configured hint, then the end of the text before. Pure."""

from __future__ import annotations

PROMPT_CHARS = 800  # about the 224 tokens of prompt Whisper keeps


def prompt_for(hint: str, before: str) -> str | None:
    """The configured hint followed by the end of the text so far, within what the model keeps;
    None when there is neither."""
    before = " ".join(before.split())
    room = PROMPT_CHARS - len(hint)
    if not before or room <= 0:
        return hint or None
    tail = before[-room:]
    if len(before) > room and " " in tail:
        tail = tail[tail.index(" ") + 1 :]  # start at a word
    return f"{hint} {tail}".strip()
