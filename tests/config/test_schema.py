from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from dictate.config.schema import (
    SECTIONS,
    ApiConfig,
    Config,
    HotkeyConfig,
    OutputConfig,
    field_default,
)
from dictate.config.values import toml_value


def check_of(cls: type, name: str) -> Callable[[Any], None]:
    (f,) = [f for f in dataclasses.fields(cls) if f.name == name]
    check: Callable[[Any], None] = f.metadata["check"]
    return check


def test_sections_are_the_config_fields_in_order() -> None:
    fields = {f.name: f.type for f in dataclasses.fields(Config) if f.name not in ("path", "profiles")}
    assert list(fields) == list(SECTIONS)
    assert [getattr(Config(), name).__class__ for name in SECTIONS] == list(SECTIONS.values())


def test_every_default_has_help_and_passes_its_own_rules() -> None:
    for cls in SECTIONS.values():
        for f in dataclasses.fields(cls):
            meta, default = f.metadata, field_default(f)
            assert meta["help"].strip(), f"{cls.__name__}.{f.name} has no help"
            if meta["choices"]:
                assert default in meta["choices"], f.name
            if meta["min"] is not None:
                assert default >= meta["min"], f.name
            if meta["max"] is not None:
                assert default <= meta["max"], f.name
            if meta["check"]:
                meta["check"](default)


@pytest.mark.parametrize(
    ("cls", "name", "good", "bad", "message"),
    [
        (HotkeyConfig, "keys", "ctrl+shift+f9", "ctrl+hyper+x", "unknown key name 'hyper'"),
        (HotkeyConfig, "keys", "f9", "", "empty hotkey"),
        (HotkeyConfig, "cancel", "", "ctrl+hyper", "unknown key name 'hyper'"),
        (ApiConfig, "language", "de", "English", "ISO-639-1"),
        (ApiConfig, "language", "", "e", "ISO-639-1"),
        (ApiConfig, "base_url", "http://speaches:8000/v1", "ftp://example.com", r"http\(s\) URL"),
        (ApiConfig, "base_url", "https://api.groq.com/openai/v1", "https://", r"http\(s\) URL"),
        (OutputConfig, "terminal_classes", ["xterm"], ["xterm", " "], "list of names"),
        (OutputConfig, "terminal_classes", [], "xterm", "list of names"),
    ],
)
def test_checks_accept_good_values_and_explain_bad_ones(
    cls: type, name: str, good: Any, bad: Any, message: str
) -> None:
    check = check_of(cls, name)
    check(good)
    with pytest.raises(ValueError, match=message):
        check(bad)


def test_list_defaults_are_fresh_copies() -> None:
    (f,) = [f for f in dataclasses.fields(OutputConfig) if f.name == "terminal_classes"]
    first = field_default(f)
    first.append("changed")
    assert field_default(f) == []
    assert OutputConfig().terminal_classes == []
    assert OutputConfig().terminal_classes is not OutputConfig().terminal_classes


def test_config_is_frozen() -> None:
    cfg = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.api.model = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (0.5, "0.5"),
        ('say "hi"\n', r'"say \"hi\"\n"'),
        ("Zoë", '"Zoë"'),
        (["xterm", "kitty"], '["xterm", "kitty"]'),
    ],
)
def test_toml_value(value: Any, written: str) -> None:
    assert toml_value(value) == written


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"model": "small"}, "'model' is sent by dictate itself from [api] model; set that instead"),
        ({"language": "de"}, "'language' is sent by dictate itself from [api] language; set that instead"),
        ({"file": "x"}, "'file' is the audio dictate sends; it cannot be replaced"),
        ({"beam_size": 5}, 'beam_size = 5: expected a string, such as beam_size = "5"'),
        ({"a b": "x"}, "field name 'a b': expected letters, digits, _ . - [ ] (at most 64)"),
        ({'x"\r\nX-Evil': "x"}, "field name 'x\"\\r\\nX-Evil': expected letters"),
        ({"note": "two\nlines"}, "note: a control character or line break is not allowed in a field"),
        ("model_name=small", 'expected a table of extra form fields, such as { model_name = "small" }'),
    ],
)
def test_extra_fields_are_strings_and_never_dictates_own(fields: object, message: str) -> None:
    from dictate import ConfigError
    from dictate.config import from_dict

    with pytest.raises(ConfigError) as info:
        from_dict({"api": {"fields": fields}})
    assert message in info.value.message
    assert info.value.message.startswith("[api] fields = ")


def test_extra_fields_are_shown_as_toml_that_reads_back() -> None:
    import tomllib

    from dictate.config import from_dict, render

    cfg = from_dict({"api": {"fields": {"model_name": "small", "x.y": "z"}}})
    assert cfg.api.fields == {"model_name": "small", "x.y": "z"}
    assert ApiConfig().fields == {} and ApiConfig().fields is not ApiConfig().fields
    shown = render(cfg)
    assert 'fields = { model_name = "small", "x.y" = "z" }' in shown
    assert tomllib.loads(shown)["api"]["fields"] == {"model_name": "small", "x.y": "z"}
