from __future__ import annotations

import pytest

from dictate.text import sanitize


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  hello   world \n", "hello world"),
        ("line one\nline two", "line one line two"),
        ("red\x1b[31m text\x1b[0m", "red text"),
        ("title\x1b]0;pwned\x07 here", "title here"),
        ("osc\x1b]52;c;ZXZpbA==\x1b\\ end", "osc end"),
        ("bell\x07 and\x08 backspace\x00", "bell and backspace"),
        ("c1\x9b31m csi", "c1 csi"),
        ("abc\u202edcba\u202c", "abcdcba"),
        ("tab\there", "tab here"),
        ("café 你好 😀 — “quotes”", "café 你好 😀 — “quotes”"),
        ("family 👨\u200d👩\u200d👧 flag 🇩🇪", "family 👨\u200d👩\u200d👧 flag 🇩🇪"),
    ],
)
def test_sanitize(raw: str, clean: str) -> None:
    assert sanitize(raw) == clean


def test_newlines_only_when_allowed() -> None:
    assert sanitize("a\r\nb\n\n\n\nc ", allow_newlines=True) == "a\nb\n\nc"
    assert sanitize("a\r\nb", allow_newlines=False) == "a b"
    assert sanitize("a\u2028b") == "a b"
