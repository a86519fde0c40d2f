from dictate.text.prompt import PROMPT_CHARS, prompt_for


def test_no_hint_and_nothing_before_is_no_prompt() -> None:
    assert prompt_for("", "") is None
    assert prompt_for("", "   ") is None


def test_hint_alone_and_hint_then_text_before() -> None:
    assert prompt_for("Glossary: Zoë.", "") == "Glossary: Zoë."
    assert prompt_for("Glossary: Zoë.", "First sentence.") == "Glossary: Zoë. First sentence."
    assert prompt_for("", "First  sentence.\nSecond.") == "First sentence. Second."


def test_long_text_before_keeps_its_end_from_a_word_start() -> None:
    words = [f"word{i}" for i in range(400)]
    prompt = prompt_for("Names: Ada.", " ".join(words))
    assert prompt is not None
    assert prompt.startswith("Names: Ada. word")
    assert prompt.endswith("word399")
    assert len(prompt) <= PROMPT_CHARS
    first = prompt.split()[2]
    assert first in words  # not a word cut in half
