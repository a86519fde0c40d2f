"""Which settings one dictation gets: the file's, then the built-in defaults for terminals, then the first
[[profile]] whose match finds the class of the window that had the focus when the key was pressed.

A terminal (the built-in list in dictate.output.terminal_classes, and [output] terminal_classes) gets
no newline commands and no clean-up unless a profile says otherwise, and never a newline sent as
Enter, whatever a profile says: in a shell, Enter runs the line.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dictate.config import Config
from dictate.config.schema import Profile
from dictate.config.values import toml_value
from dictate.output.common import is_terminal

TERMINAL_DEFAULTS: dict[str, dict[str, Any]] = {"text": {"newline_commands": False}, "cleanup": {"enabled": False}}


@dataclass(frozen=True)
class Choice:
    config: Config  # the settings for this dictation
    reason: str  # one line for -v: the window, and what applied to it


def settings_for(config: Config, window: Sequence[str] | None) -> Choice:
    """The settings for a dictation into the window whose class (WM_CLASS instance and class, or app_id)
    is `window`; None when it is not known (then the file's settings apply)."""
    if not window:
        return Choice(config, "no focused window class known: the config file's settings apply")
    settings, notes = config, []
    terminal = is_terminal(window, config.output.terminal_classes)
    if terminal:
        settings = override(settings, TERMINAL_DEFAULTS)
        notes.append("a terminal (no newline commands, no clean-up, a newline is never Enter)")
    profile = first_match(config.profiles, window)
    if profile is not None:
        settings = override(settings, profile.overrides)
        notes.append(f"[[profile]] {profile.number} (match {toml_value(profile.match)}) sets {_listed(profile)}")
    elif config.profiles:
        count = len(config.profiles)
        notes.append(
            "the [[profile]] does not match" if count == 1 else f"none of the {count} [[profile]] tables match"
        )
    if terminal and settings.output.allow_newlines:
        settings = override(settings, {"output": {"allow_newlines": False}})
    names = " / ".join(window)
    return Choice(settings, f"focused window {names}: " + ("; ".join(notes) or "no profile applies"))


def printed_into_a_shell(config: Config) -> Config:
    """The settings for `dictate once`, whose text a shell reads (`$(dictate once)`, the key bindings):
    a terminal's, and one line."""
    return override(override(config, TERMINAL_DEFAULTS), {"output": {"allow_newlines": False}})


def first_match(profiles: Sequence[Profile], window: Sequence[str]) -> Profile | None:
    """The first profile whose match finds any of the window's names, in any case."""
    for profile in profiles:
        pattern = re.compile(profile.match, re.IGNORECASE)
        if any(name and pattern.search(name) for name in window):
            return profile
    return None


def override(config: Config, overrides: Mapping[str, Mapping[str, Any]]) -> Config:
    """`config` with the given keys of the given sections replaced."""
    changes = {
        section: dataclasses.replace(getattr(config, section), **values)
        for section, values in overrides.items()
        if values
    }
    return dataclasses.replace(config, **changes)


def _listed(profile: Profile) -> str:
    keys = [
        f"{section}.{key} = {toml_value(value)}"
        for section, values in profile.overrides.items()
        for key, value in values.items()
    ]
    return ", ".join(keys) or "nothing"
