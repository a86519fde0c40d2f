from __future__ import annotations

import pytest

from dictate.text.echo import is_echo

VOCABULARY_PROMPT = "Kubernetes, PostgreSQL, Anthropic, FastAPI."
CONTEXT_PROMPT = (
    "Kubernetes, PostgreSQL. We met the team on Monday and agreed to move the release to the end of the month "
    "because the tests were failing"
)


@pytest.mark.parametrize(
    ("text", "prompt", "echo"),
    [
        ("Kubernetes, PostgreSQL, Anthropic, FastAPI.", VOCABULARY_PROMPT, True),  # the prompt back
        ("kubernetes postgresql anthropic", VOCABULARY_PROMPT, True),  # most of a short prompt, any case
        (CONTEXT_PROMPT, CONTEXT_PROMPT, True),
        ("agreed to move the release to the end of the month", CONTEXT_PROMPT, True),  # a large part of it
        ("We deploy Kubernetes on Monday.", VOCABULARY_PROMPT, False),  # real speech that uses an entry
        ("Kubernetes.", VOCABULARY_PROMPT, False),  # one word: may well have been said
        ("the end of the month", CONTEXT_PROMPT, False),  # a few words said again are speech
        ("Yes, I agree.", CONTEXT_PROMPT, False),
        ("Grüße aus Köln", "Grüße aus Köln", True),  # non-ASCII
        ("anything at all here", None, False),
        ("anything at all here", "", False),
    ],
)
def test_echo(text: str, prompt: str | None, echo: bool) -> None:
    assert is_echo(text, prompt) is echo
