"""Which settings a dictation gets for the focused window: terminal defaults, then the first profile."""

from __future__ import annotations

import pytest

from dictate.config import from_dict
from dictate.profiles import settings_for

PROFILES = {
    "text": {"commands": True},
    "cleanup": {"enabled": True, "base_url": "http://127.0.0.1:1/v1"},
    "output": {"allow_newlines": True},
    "profile": [
        {"match": "^code$", "text": {"replacements": {"fast api": "FastAPI"}}},
        {"match": "XTerm|kitty", "output": {"method": "paste"}, "cleanup": {"enabled": True}},
        {"match": "code", "output": {"method": "stdout"}},
    ],
}


def test_no_window_means_the_files_settings() -> None:
    config = from_dict(PROFILES)
    choice = settings_for(config, None)
    assert choice.config == config
    assert "no focused window" in choice.reason


def test_the_first_matching_profile_overrides_only_its_keys() -> None:
    config = from_dict(PROFILES)
    choice = settings_for(config, ("code", "Code"))
    assert choice.config.text.replacements == {"fast api": "FastAPI"}
    assert choice.config.text.commands is True  # not listed: the file's
    assert choice.config.output.method == "auto"  # the third profile also matches, but the first wins
    assert "[[profile]] 1" in choice.reason and "code / Code" in choice.reason


def test_matching_is_a_search_in_any_case_on_instance_or_class() -> None:
    config = from_dict(PROFILES)
    assert settings_for(config, ("Navigator", "firefox")).config == config
    assert settings_for(config, ("vscode", "VSCode")).config.output.method == "stdout"


def test_terminals_get_safe_defaults() -> None:
    config = from_dict({"text": {"commands": True}, "cleanup": {"enabled": True}, "output": {"allow_newlines": True}})
    choice = settings_for(config, ("gnome-terminal-server", "Gnome-terminal"))
    assert choice.config.text.newline_commands is False
    assert choice.config.text.commands is True  # punctuation still works
    assert choice.config.cleanup.enabled is False
    assert choice.config.output.allow_newlines is False
    assert "a terminal" in choice.reason


def test_a_profile_may_turn_clean_up_back_on_in_a_terminal_but_never_enter() -> None:
    config = from_dict(PROFILES)
    choice = settings_for(config, ("xterm", "XTerm"))
    assert choice.config.output.method == "paste"
    assert choice.config.cleanup.enabled is True
    assert choice.config.output.allow_newlines is False  # whatever a profile says
    assert "[[profile]] 2" in choice.reason and 'output.method = "paste"' in choice.reason


def test_extra_terminal_classes_count_as_terminals() -> None:
    config = from_dict({"cleanup": {"enabled": True}, "output": {"terminal_classes": ["MyTerm"]}})
    assert settings_for(config, ("myterm",)).config.cleanup.enabled is False


@pytest.mark.parametrize("window", [("Tk", "dictate-target"), ("Navigator", "firefox")])
def test_other_windows_keep_the_files_settings(window: tuple[str, str]) -> None:
    config = from_dict({"cleanup": {"enabled": True}})
    assert settings_for(config, window).config == config
