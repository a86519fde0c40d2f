from __future__ import annotations

import re

import pytest

from dictate import ConfigError
from dictate.hotkey.keys import modifier_of, parse_hotkey


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
        ("", "empty hotkey; accepted: "),
        ("ctrl++x", "empty part; accepted: "),
        ("ctrl+hyper", "unknown key name 'hyper' in hotkey 'ctrl+hyper'; accepted: "),
        ("ctrl+f25", "unknown key name 'f25' in hotkey 'ctrl+f25'; accepted: "),
        ("ab", "unknown key name 'ab' in hotkey 'ab'; accepted: "),
    ],
)
def test_bad_hotkeys_list_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        parse_hotkey(text)
    assert info.value.message.endswith("or a single character")


@pytest.mark.parametrize(("text", "key"), [("ctrl+ctrl", "ctrl"), ("ctrl+control", "control")])
def test_a_key_named_twice_is_named_in_the_error(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_hotkey(text)
    assert info.value.message == f"key {key!r} appears twice in hotkey {text!r}"


def test_modifier_of() -> None:
    assert modifier_of("ctrl_r") == "ctrl"
    assert modifier_of("alt") == "alt"
    assert modifier_of("space") is None


def state(keys: str = "ctrl+alt+space", mode: str = "hold", cancel: str | None = "esc"):  # type: ignore[no-untyped-def]
    from dictate.hotkey.keys import HotkeyState

    return HotkeyState(parse_hotkey(keys), mode, parse_hotkey(cancel) if cancel else None)


def test_hold_starts_when_complete_and_stops_on_first_release() -> None:
    s = state()
    assert s.press("ctrl_l") is None
    assert s.press("alt_l") is None
    assert s.press("space") == "start"
    assert s.release("space") == "stop"
    assert s.release("alt_l") is None
    assert s.release("ctrl_l") is None


def test_either_side_of_a_modifier_counts() -> None:
    s = state("ctrl+f9")
    s.press("ctrl_r")
    assert s.press("f9") == "start"


def test_sided_hotkey_needs_that_side() -> None:
    s = state("ctrl_r", cancel=None)
    assert s.press("ctrl_l") is None
    assert s.press("ctrl_r") == "start"


def test_autorepeat_presses_are_ignored() -> None:
    s = state("f9")
    assert s.press("f9") == "start"
    for _ in range(20):  # X autorepeat: presses without releases
        assert s.press("f9") is None
    assert s.release("f9") == "stop"


def test_toggle_mode_only_reacts_to_presses() -> None:
    s = state("f9", mode="toggle")
    assert s.press("f9") == "toggle"
    assert s.press("f9") is None  # autorepeat
    assert s.release("f9") is None
    assert s.press("f9") == "toggle"


def test_cancel_and_other_keys() -> None:
    s = state("f9")
    s.press("f9")
    assert s.press("a") is None
    assert s.press("esc") == "cancel"
    assert s.modifiers_down() is False
    s.press("shift_l")
    assert s.modifiers_down() is True


def test_pynput_names() -> None:
    from types import SimpleNamespace

    from dictate.hotkey.keys import pynput_key_name

    assert pynput_key_name(SimpleNamespace(name="ctrl")) == "ctrl_l"
    assert pynput_key_name(SimpleNamespace(name="ctrl_r")) == "ctrl_r"
    assert pynput_key_name(SimpleNamespace(name="cmd")) == "super_l"
    assert pynput_key_name(SimpleNamespace(name="f9")) == "f9"
    assert pynput_key_name(SimpleNamespace(name="media_play_pause")) is None
    assert pynput_key_name(SimpleNamespace(name=None, char="D")) == "d"
    assert pynput_key_name(SimpleNamespace(name=None, char="\x04", vk=100)) == "d"
