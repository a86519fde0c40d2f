"""The values of settings: the checks the schema runs on each (a ValueError says what is expected),
and how a value is shown in a message, in `config show` and in the example file (a secret never is)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dictate.errors import ConfigError
from dictate.hotkey import parse_hotkey


def check_hotkey(value: str) -> None:
    try:
        parse_hotkey(value)
    except ConfigError as exc:
        raise ValueError(exc.message) from None


def check_optional_hotkey(value: str) -> None:
    if value:
        check_hotkey(value)


def check_names(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError('expected a list of names, such as ["xterm", "kitty"]')


MAX_ENTRY_CHARS = 200  # a vocabulary entry: a word, a name or a phrase; not a paragraph


def check_vocabulary(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() and "\n" not in v for v in value):
        raise ValueError('expected a list of words or names, such as ["Kubernetes", "PostgreSQL"]')
    for entry in value:
        if len(entry) > MAX_ENTRY_CHARS:
            raise ValueError(
                f"an entry of {len(entry)} characters; an entry is a word, a name or a phrase of at most "
                f"{MAX_ENTRY_CHARS} characters"
            )


# A spoken phrase: words (letters, digits, inner apostrophes or hyphens) separated by spaces.
_SPOKEN = re.compile(r"\s*[^\W_]+(?:['’-][^\W_]+)*(?:\s+[^\W_]+(?:['’-][^\W_]+)*)*\s*")


def check_replacements(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValueError('expected a table of spoken phrase = what to write, such as { "fast api" = "FastAPI" }')
    for spoken, written in value.items():
        if not isinstance(written, str):
            raise ValueError(f"{json.dumps(spoken, ensure_ascii=False)}: expected the text to write, as a string")
        if not _SPOKEN.fullmatch(spoken):
            raise ValueError(
                f"{json.dumps(spoken, ensure_ascii=False)} is not a spoken phrase: write the words as they are said "
                '(letters, digits and spaces), e.g. "c sharp" = "C#"'
            )


def check_language(value: str) -> None:
    if value and not re.fullmatch(r"[a-z]{2,3}", value):
        raise ValueError("expected an ISO-639-1 code such as 'en' or 'de', or empty to detect")


def display_url(url: str) -> str:
    """`url` fit to show: without a user name or password."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[1], parts.path, parts.query, parts.fragment))


def check_base_url(value: str) -> None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http(s) URL such as 'https://api.openai.com/v1'")
    if "@" in parts.netloc:
        raise ValueError("a URL with a user name or password is refused: remove it and give the key in DICTATE_API_KEY")
    if parts.query or parts.fragment or value.rstrip().endswith(("?", "#")):
        raise ValueError("expected a URL without ?query or #fragment (the endpoint's path is appended to it)")


# The form fields dictate sends itself, and the [api] key that sets each.
OWN_FIELDS = {
    "model": "[api] model",
    "language": "[api] language",
    "prompt": "[api] prompt",
    "temperature": "[api] temperature",
    "response_format": "[api] response_format",
}
_FIELD_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")


def check_fields(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValueError('expected a table of extra form fields, such as { model_name = "small" }')
    for name, text in value.items():
        if not _FIELD_NAME.fullmatch(name):
            raise ValueError(f"field name {name!r}: expected letters, digits, _ . - [ ] (at most 64)")
        if name == "file":
            raise ValueError("'file' is the audio dictate sends; it cannot be replaced")
        if name in OWN_FIELDS:
            raise ValueError(f"{name!r} is sent by dictate itself from {OWN_FIELDS[name]}; set that instead")
        if not isinstance(text, str):
            raise ValueError(f'{name} = {toml_value(text)}: expected a string, such as {name} = "{text}"')
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
            raise ValueError(f"{name}: a control character or line break is not allowed in a field")


def show_url(value: Any) -> str:
    return toml_value(display_url(value)) if isinstance(value, str) else toml_value(value)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _looks_like_key(value: str) -> bool:
    from dictate.errors import redact

    return redact(value) != value


def check_env_name(value: str) -> None:
    if value and (not _ENV_NAME.fullmatch(value) or _looks_like_key(value)):
        raise ValueError(
            "expected the name of an environment variable, such as OPENAI_API_KEY (a key itself goes in "
            "that variable, or in DICTATE_API_KEY)"
        )


def show_env_name(value: Any) -> str:
    if isinstance(value, str) and _ENV_NAME.fullmatch(value) and not _looks_like_key(value):
        return toml_value(value)
    return "(hidden)"


def toml_value(value: Any) -> str:
    """A setting's value written as TOML, as error messages, `config show` and the example file show it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value, ensure_ascii=False, default=str)


def _toml_key(key: str) -> str:
    """A key of an inline table: bare when TOML allows it, else quoted."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)
