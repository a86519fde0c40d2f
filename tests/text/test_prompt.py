from __future__ import annotations

from dictate.text.prompt import CONTEXT_TOKENS, PROMPT_TOKENS, prompt_for, vocabulary_room
from dictate.text.tokens import estimate_tokens


def test_no_hint_and_nothing_before_is_no_prompt() -> None:
    assert prompt_for("", "") is None
    assert prompt_for("", "   ") is None
    assert prompt_for("", "", ["  "]) is None


def test_hint_alone_and_hint_then_text_before() -> None:
    assert prompt_for("Glossary: Zoë.", "") == "Glossary: Zoë."
    assert prompt_for("Glossary: Zoë.", "First sentence.") == "Glossary: Zoë. First sentence."
    assert prompt_for("", "First  sentence.\nSecond.") == "First sentence. Second."


def test_vocabulary_goes_between_the_hint_and_the_text_before() -> None:
    prompt = prompt_for("British spelling.", "We met on Monday.", ["Kubernetes", "PostgreSQL", "Visual Studio Code"])
    assert prompt == "British spelling. Kubernetes, PostgreSQL, Visual Studio Code. We met on Monday."


def test_long_text_before_keeps_its_end_from_a_word_start() -> None:
    words = [f"word{i}" for i in range(400)]
    prompt = prompt_for("Names: Ada.", " ".join(words))
    assert prompt is not None
    assert prompt.startswith("Names: Ada. word")
    assert prompt.endswith("word399")
    assert estimate_tokens(prompt) <= PROMPT_TOKENS
    assert prompt.split()[2] in words  # not a word cut in half


def test_the_recent_text_is_kept_and_the_vocabulary_trimmed() -> None:
    vocabulary = [f"Term{i}" for i in range(500)]
    before = " ".join(f"said{i}" for i in range(300))
    prompt = prompt_for("", before, vocabulary)
    assert prompt is not None
    assert estimate_tokens(prompt) <= PROMPT_TOKENS
    listed, _, context = prompt.partition(". ")
    entries = listed.split(", ")
    assert entries == vocabulary[: len(entries)]  # the first entries, in order
    assert 0 < len(entries) < 500
    assert context.endswith("said299")
    assert estimate_tokens(" " + context) >= CONTEXT_TOKENS - 5  # the recent text keeps its room
    assert len(entries) >= vocabulary_room("", vocabulary)


def test_a_short_text_before_leaves_the_vocabulary_more_room() -> None:
    vocabulary = [f"Term{i}" for i in range(500)]
    alone = prompt_for("", "", vocabulary)
    after = prompt_for("", " ".join(f"said{i}" for i in range(300)), vocabulary)
    assert alone is not None and after is not None
    assert alone.count(",") > after.count(",")
    assert estimate_tokens(alone) <= PROMPT_TOKENS


def test_vocabulary_room_counts_what_always_fits() -> None:
    assert vocabulary_room("", ["Kubernetes", "PostgreSQL"]) == 2
    assert 0 < vocabulary_room("", [f"Term{i}" for i in range(500)]) < 500
    assert vocabulary_room("word " * 300, ["Kubernetes"]) == 0
