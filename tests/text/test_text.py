from __future__ import annotations

import pytest

from dictate.text import has_words, join, process


def test_process_and_join() -> None:
    assert process(" hi ") == "hi"
    assert process("   ") == ""
    assert process(" Thank you. ", had_speech=False) == ""
    assert process(" Thank you. ", had_speech=True) == "Thank you."
    assert join(["Hello there.", " ", "How are you? "]) == "Hello there. How are you?"


@pytest.mark.parametrize(
    "text",
    [
        " . . . . . . . .",
        "." * 200,
        " ... ",
        "!?",
        "- — –",
        "♪ ♪",
        "🎵🎶",
        "「」。、",
    ],
)
def test_a_text_with_no_letter_or_digit_is_no_speech(text: str) -> None:
    assert not has_words(text)
    assert process(text, had_speech=True) == ""
    assert process(text, had_speech=False) == ""


@pytest.mark.parametrize(
    "text",
    ["Okay.", "42", "3.", "你好。", "こんにちは", "안녕", "Привет", "مرحبا", "שלום", "नमस्ते", "ไทย", "Ⅻ", "x"],
)
def test_letters_and_digits_of_every_script_are_words(text: str) -> None:
    assert has_words(text)
    assert process(text) == text
