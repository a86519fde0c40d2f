"""The one formatter: every failure is one line, and no secret survives it, whole or in pieces."""

from __future__ import annotations

import pytest

from dictate import errors
from dictate.errors import ConfigError, DictateError, ExitCode, add_secret, describe, exit_code, redact

KEY = "sk-proj-Zq8rT2vLmN4xW9yB7cK1pJ5hG3fD6sA0"


@pytest.fixture(autouse=True)
def _no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(errors, "_secrets", set())


def test_a_dictate_error_is_its_message_and_code() -> None:
    assert describe(DictateError("cannot reach the server")) == "cannot reach the server"
    assert exit_code(DictateError("x")) == ExitCode.FAILURE
    assert exit_code(ConfigError("x")) == ExitCode.USAGE
    assert exit_code(DictateError("x", ExitCode.USAGE)) == 2
    assert exit_code(KeyboardInterrupt()) == 130


def test_anything_else_is_one_line_naming_its_type() -> None:
    message = describe(ValueError("bad\nvalue\r\n  here"))
    assert message == "unexpected ValueError: bad value here (run with --debug for a traceback)"
    assert describe(RuntimeError()) == "unexpected RuntimeError (run with --debug for a traceback)"


def test_a_registered_key_is_masked_whole_and_cut_short() -> None:
    add_secret(KEY)
    assert KEY not in describe(DictateError(f"HTTP 401: Incorrect API key provided: {KEY}."))
    assert describe(DictateError(f"echo: {KEY[:-1]}… (cut)")) == "echo: ***… (cut)"
    assert describe(DictateError(f"tail only: {KEY[12:]}")) == "tail only: ***"
    assert describe(DictateError(f"glued:{KEY}xyz")) == "glued:***"


def test_a_key_without_a_provider_prefix_is_masked_too() -> None:
    add_secret("0123456789abcdefghij")
    assert redact("token=0123456789abcdefghij;") == "token=***;"
    assert redact("a piece 89abcdef of it") == "a piece *** of it"
    assert redact("short pieces 0123 stay") == "short pieces 0123 stay"


def test_shapes_of_provider_keys_are_masked_without_being_registered() -> None:
    assert redact("key sk-abcdefghijklmnopqrstu here") == "key sk-*** here"
    assert redact("groq gsk_abcdefghijklmnopqrstu") == "groq gsk_***"
    assert redact("task-management-system") == "task-management-system"  # words with "sk-" inside are words
    assert redact("ask-me-anything-and-more", shapes=True) == "ask-me-anything-and-more"


def test_transcripts_are_masked_only_for_registered_secrets() -> None:
    add_secret(KEY)
    assert redact(f"said {KEY}", shapes=False) == "said ***"
    assert redact("the sk-abcdefghijklmnopqrstu shape stays in dictated text", shapes=False).startswith("the sk-abc")


def test_short_values_are_not_secrets() -> None:
    add_secret("abc")
    add_secret("")
    add_secret(None)
    assert redact("abc def") == "abc def"


def test_key_shapes_are_found_after_any_character_that_is_not_a_letter_or_digit() -> None:
    for text in (
        "key=sk-abcdefghijklmnopqrstu",
        "_sk-abcdefghijklmnopqrstu",
        '"gsk_abcdefghijklmnopqrstu"',
        "Bearer:gsk_abcdefghijklmnopqrstu",
        "(xai-abcdefghijklmnopqrstu)",
        "x-api-key:rk-abcdefghijklmnopqrstu;",
    ):
        assert "abcdefghijkl" not in redact(text), text
