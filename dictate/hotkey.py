"""Hotkeys: parse "ctrl+alt+space" (pure), and turn key events into press/release of the combination.

The parser is pure so config validation can name a bad key without loading pynput. The listener,
which needs a display, lives behind `HotkeyListener` and imports pynput only when started.
"""

from __future__ import annotations

from dataclasses import dataclass

from dictate import ConfigError

MODIFIERS = ("ctrl", "alt", "shift", "super", "alt_gr")
_SIDED = tuple(f"{m}_{side}" for m in ("ctrl", "alt", "shift", "super") for side in ("l", "r"))
NAMED_KEYS = (
    "space",
    "enter",
    "tab",
    "esc",
    "backspace",
    "delete",
    "insert",
    "home",
    "end",
    "page_up",
    "page_down",
    "up",
    "down",
    "left",
    "right",
    "caps_lock",
    "num_lock",
    "scroll_lock",
    "pause",
    "print_screen",
    "menu",
    *(f"f{n}" for n in range(1, 25)),
)
ALIASES = {
    "control": "ctrl",
    "ctl": "ctrl",
    "cmd": "super",
    "command": "super",
    "win": "super",
    "windows": "super",
    "meta": "super",
    "logo": "super",
    "option": "alt",
    "altgr": "alt_gr",
    "return": "enter",
    "escape": "esc",
    "del": "delete",
    "ins": "insert",
    "pageup": "page_up",
    "pgup": "page_up",
    "pagedown": "page_down",
    "pgdn": "page_down",
    "capslock": "caps_lock",
    "print": "print_screen",
    "prtsc": "print_screen",
    "numlock": "num_lock",
    "scrolllock": "scroll_lock",
    "ctrl_right": "ctrl_r",
    "ctrl_left": "ctrl_l",
    "alt_right": "alt_r",
    "alt_left": "alt_l",
    "shift_right": "shift_r",
    "shift_left": "shift_l",
}
ACCEPTED_HELP = (
    "'+'-joined key names: modifiers ctrl, alt, shift, super, alt_gr (or ctrl_r, alt_l, ...), "
    "f1-f24, space, enter, tab, esc, backspace, delete, insert, home, end, page_up, page_down, "
    "up, down, left, right, caps_lock, pause, print_screen, menu, or a single character"
)


@dataclass(frozen=True)
class Hotkey:
    """A key combination; `keys` holds canonical names ("ctrl", "f9", "d")."""

    keys: frozenset[str]
    text: str

    def __str__(self) -> str:
        return self.text


def canonical_key(name: str) -> str:
    """Return the canonical name of one key, or raise ValueError."""
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key in MODIFIERS or key in _SIDED or key in NAMED_KEYS:
        return key
    if len(key) == 1 and key.isprintable() and not key.isspace():
        return key
    raise ValueError(name)


def parse_hotkey(text: str) -> Hotkey:
    """Parse a combination such as "ctrl+alt+space" or "f9"; raise ConfigError naming the bad part."""
    if not text.strip():
        raise ConfigError(f"empty hotkey; accepted: {ACCEPTED_HELP}")
    names: list[str] = []
    for part in text.split("+"):
        if not part.strip():
            raise ConfigError(f"hotkey {text!r} has an empty part; accepted: {ACCEPTED_HELP}")
        try:
            key = canonical_key(part)
        except ValueError:
            raise ConfigError(
                f"unknown key name {part.strip()!r} in hotkey {text!r}; accepted: {ACCEPTED_HELP}"
            ) from None
        if key in names:
            raise ConfigError(f"key {part.strip()!r} appears twice in hotkey {text!r}")
        names.append(key)
    return Hotkey(keys=frozenset(names), text="+".join(names))


def modifier_of(key: str) -> str | None:
    """Return the side-less modifier a key belongs to ("ctrl_r" -> "ctrl"), or None."""
    if key in MODIFIERS:
        return key
    if key in _SIDED:
        return key[:-2]
    return None
