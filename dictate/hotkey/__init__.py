"""Hotkeys: the pure parser and state machine (`keys`), and the pynput listener (`listener`, imported
only by whoever listens)."""

from dictate.hotkey.keys import (
    ACCEPTED_HELP,
    Hotkey,
    HotkeyState,
    canonical_key,
    modifier_of,
    parse_hotkey,
    pynput_key_name,
    satisfied,
)

__all__ = [
    "ACCEPTED_HELP",
    "Hotkey",
    "HotkeyState",
    "canonical_key",
    "modifier_of",
    "parse_hotkey",
    "pynput_key_name",
    "satisfied",
]
