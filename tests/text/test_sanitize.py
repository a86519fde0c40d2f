from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
        ("emoji \ud83d cut", "emoji cut"),  # a lone surrogate, as a server that slices UTF-16 sends it
        ("zero\u200bwidth\u2060 joined\ufeff", "zerowidth joined"),
        ("soft\u00adhyphen", "softhyphen"),
        ("می\u200cخواهم", "می\u200cخواهم"),  # the zero-width non-joiner is part of Persian spelling
        ("hi\U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065 there", "hi there"),  # smuggled tags
        (
            "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f team",
            "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f team",
        ),
        ("🏴\U000e0067 broken", "🏴 broken"),
        ("a\u206ab\u3164c\u2800d\u034fe\U0001fffef\U0010ffffg \u115fh", "abcdefg h"),  # blank and deprecated
    ],
)
def test_sanitize(raw: str, clean: str) -> None:
    assert sanitize(raw) == clean


def test_newlines_only_when_allowed() -> None:
    assert sanitize("a\r\nb\n\n\n\nc ", allow_newlines=True) == "a\nb\n\nc"
    assert sanitize("a\r\nb", allow_newlines=False) == "a b"
    assert sanitize("a\u2028b") == "a b"


# ---- fuzzed: whatever a server answers, nothing unsafe comes out, and once is enough ----------------

_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_NASTY = st.sampled_from(
    ["\x1b", "\x1b[", "\x1b]", "\x9b", "\x9d", "\x07", "\x1b\\", "\x9c", "\r", "\n", "\u2028", "\ud83d", "\U000e0041"]
)
_TEXTS = st.lists(st.one_of(st.text(), _NASTY, st.sampled_from(sorted(_BIDI))), max_size=30).map("".join)


@settings(max_examples=500, deadline=None)
@given(_TEXTS, st.booleans())
def test_nothing_unsafe_comes_out_and_once_is_enough(raw: str, newlines: bool) -> None:
    clean = sanitize(raw, allow_newlines=newlines)
    allowed = {"\n"} if newlines else set()
    assert all(ch in allowed or unicodedata.category(ch) not in ("Cc", "Cs") for ch in clean)
    clean.encode("utf-8")  # storable and typeable
    assert not _BIDI & set(clean)
    assert "\x1b" not in clean
    assert sanitize(clean, allow_newlines=newlines) == clean
