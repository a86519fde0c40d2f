from __future__ import annotations

from dictate.text import join, process


def test_process_and_join() -> None:
    assert process(" hi ") == "hi"
    assert process("   ") == ""
    assert process(" Thank you. ", had_speech=False) == ""
    assert process(" Thank you. ", had_speech=True) == "Thank you."
    assert join(["Hello there.", " ", "How are you? "]) == "Hello there. How are you?"
