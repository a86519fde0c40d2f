from __future__ import annotations

import pytest

from dictate.text import is_hallucination, process, sanitize


@pytest.mark.parametrize(
    "text",
    [
        "Thank you.",
        "Thanks for watching!",
        "Subtitles by the Amara.org community",
        "thank you. Thank you. Thank you.",
        " you",
        "ご視聴ありがとうございました",
    ],
)
def test_hallucinations(text: str) -> None:
    assert is_hallucination(text)
    assert process(text, had_speech=False) == ""
    assert process(text, had_speech=True) == sanitize(text)


@pytest.mark.parametrize("text", ["Thank you for the report on Tuesday.", "Bye for now, see you", "hello"])
def test_real_sentences_are_not_hallucinations(text: str) -> None:
    assert not is_hallucination(text)
    assert process(text, had_speech=False) == text
