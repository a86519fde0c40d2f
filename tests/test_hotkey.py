from __future__ import annotations

import pytest

from dictate import ConfigError
from dictate.hotkey import modifier_of, parse_hotkey


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("ctrl+alt+space", {"ctrl", "alt", "space"}),
        ("F9", {"f9"}),
        ("Control + Shift + D", {"ctrl", "shift", "d"}),
        ("super+space", {"super", "space"}),
        ("cmd+Escape", {"super", "esc"}),
        ("ctrl_r", {"ctrl_r"}),
        ("alt+`", {"alt", "`"}),
        ("pgup", {"page_up"}),
    ],
)
def test_parse(text: str, keys: set[str]) -> None:
    assert parse_hotkey(text).keys == frozenset(keys)


def test_canonical_text() -> None:
    assert str(parse_hotkey("Control+ALT+Space")) == "ctrl+alt+space"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty hotkey"),
        ("ctrl++x", "empty part"),
        ("ctrl+hyper", "unknown key name 'hyper'"),
        ("ctrl+f25", "unknown key name 'f25'"),
        ("ctrl+ctrl", "appears twice"),
        ("ctrl+control", "appears twice"),
        ("ab", "unknown key name 'ab'"),
    ],
)
def test_bad_hotkeys(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_hotkey(text)
    assert "accepted" in info.value.message or "twice" in message


def test_modifier_of() -> None:
    assert modifier_of("ctrl_r") == "ctrl"
    assert modifier_of("alt") == "alt"
    assert modifier_of("space") is None
