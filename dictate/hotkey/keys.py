"""Hotkeys as data, pure: parse "ctrl+alt+space", and turn key presses and releases into the
combination's start, stop, toggle and cancel. Config validation names a bad key without pynput."""

from __future__ import annotations

from dataclasses import dataclass

from dictate.errors import ConfigError

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


def satisfied(combo: frozenset[str], pressed: set[str]) -> bool:
    """True when every key of the combination is down ("ctrl" is met by ctrl_l or ctrl_r)."""
    for key in combo:
        if key in pressed:
            continue
        if key in MODIFIERS and any(modifier_of(p) == key for p in pressed):
            continue
        return False
    return True


class HotkeyState:
    """Turn key presses and releases into "start", "stop", "toggle" and "cancel". Pure.

    Autorepeat (a held key sending presses without releases) is ignored: a press of a key that is
    already down changes nothing.
    """

    def __init__(self, hotkey: Hotkey, mode: str = "hold", cancel: Hotkey | None = None) -> None:
        self.hotkey = hotkey
        self.mode = mode
        self.cancel = cancel
        self.pressed: set[str] = set()
        self._active = False

    def press(self, key: str) -> str | None:
        if key in self.pressed:
            return None  # autorepeat
        self.pressed.add(key)
        if not self._active and satisfied(self.hotkey.keys, self.pressed):
            self._active = True
            return "start" if self.mode == "hold" else "toggle"
        if self.cancel is not None and key in self.cancel.keys and satisfied(self.cancel.keys, self.pressed):
            return "cancel"
        return None

    def release(self, key: str) -> str | None:
        self.pressed.discard(key)
        if self._active and not satisfied(self.hotkey.keys, self.pressed):
            self._active = False
            return "stop" if self.mode == "hold" else None
        return None

    def modifiers_down(self) -> bool:
        return any(modifier_of(k) for k in self.pressed)


# pynput's names for keys (Key.<name>) -> ours; the left-hand keys are reported without a side.
_PYNPUT_NAMES = {
    "ctrl": "ctrl_l",
    "alt": "alt_l",
    "shift": "shift_l",
    "cmd": "super_l",
    "cmd_r": "super_r",
    "alt_gr": "alt_gr",
    "ctrl_r": "ctrl_r",
    "alt_r": "alt_r",
    "shift_r": "shift_r",
}


def pynput_key_name(key: object) -> str | None:
    """Our canonical name for a pynput Key or KeyCode (after Listener.canonical), or None."""
    name = getattr(key, "name", None)
    if name:
        name = _PYNPUT_NAMES.get(name, name)
        return name if name in NAMED_KEYS or modifier_of(name) or name == "alt_gr" else None
    char = getattr(key, "char", None)
    if char and len(char) == 1 and char.isprintable():
        return char.lower()
    vk = getattr(key, "vk", None)
    if isinstance(vk, int) and 32 < vk < 127:
        return chr(vk).lower()
    return None
