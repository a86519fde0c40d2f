"""What a text offers as an X selection."""

from __future__ import annotations

from dictate.output.x11.selection import text_contents


def test_text_is_offered_as_utf8_under_every_common_name() -> None:
    contents = text_contents("naïve")
    utf8 = "naïve".encode()
    assert contents["UTF8_STRING"] == ("UTF8_STRING", 8, utf8)
    assert contents["text/plain;charset=utf-8"] == ("text/plain;charset=utf-8", 8, utf8)
    assert contents["TEXT"] == ("UTF8_STRING", 8, utf8)
    assert contents["STRING"] == ("STRING", 8, "naïve".encode("latin-1"))
    assert contents["text/plain"] == ("text/plain", 8, "naïve".encode("latin-1"))


def test_latin1_targets_only_when_the_text_fits() -> None:
    assert set(text_contents("日本語 😀")) == {"UTF8_STRING", "text/plain;charset=utf-8", "TEXT"}
