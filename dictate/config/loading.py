"""Read the TOML config file and validate it against the schema into a frozen `Config`.

Every error is one line naming the file, the section and key, the value given and what is accepted,
with a "did you mean" for a misspelt section or key.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dictate.config.paths import config_path, init_command
from dictate.config.schema import PROFILE_SECTIONS, SECTIONS, Config, Profile, field_default
from dictate.config.values import MAX_ENTRY_CHARS, toml_value
from dictate.errors import ConfigError, DictateError
from dictate.files import read_small

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def load(cli_path: str | None = None, environ: Mapping[str, str] = os.environ) -> Config:
    """Load and validate the configuration; a missing file at the default location means defaults."""
    path, source = config_path(cli_path, environ)
    if path.is_symlink() and not path.exists():
        raise ConfigError(f"config file {path} is a link to {os.readlink(path)}, which does not exist")
    if not path.exists():
        if source != "default location":
            raise ConfigError(
                f"config file {path} (from {source}) does not exist; create it with `{init_command(cli_path)}`"
            )
        return with_vocabulary_file(Config(), path.parent)
    try:  # within bounds: a pipe with no writer or /dev/zero named as the config ends in one line
        raw = read_small(str(path), "the config file", MAX_CONFIG_BYTES)
    except DictateError as exc:
        raise ConfigError(exc.message) from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))  # a byte-order mark, as some editors write, is fine
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    return with_vocabulary_file(from_dict(data, path), path.parent)


def from_dict(data: Mapping[str, Any], path: Path | None = None) -> Config:
    """Build a validated Config from parsed TOML; errors name the file, the key and what is accepted."""
    where = f"{path}: " if path else ""
    sections: dict[str, Any] = {}
    for name, values in data.items():
        if name == "profile":
            sections["profiles"] = _build_profiles(values, where)
            continue
        if name not in SECTIONS:
            known = ", ".join([*(f"[{s}]" for s in SECTIONS), "[[profile]]"])
            raise ConfigError(f"{where}unknown section [{name}]{_suggest(name, SECTIONS)}; sections: {known}")
        if not isinstance(values, dict):
            raise ConfigError(f"{where}{name} must be a section written as [{name}], not a value")
        sections[name] = _build_section(name, SECTIONS[name], values, where)
    return Config(**sections, path=path)


def _build_section(section: str, cls: type, values: Mapping[str, Any], where: str) -> Any:
    return cls(**_section_values(section, cls, values, where))


def _section_values(section: str, cls: type, values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The validated values of one section's keys (all of them, or a profile's few)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(
                f"{where}unknown key [{section}] {key}{_suggest(key, fields)}; keys in [{section}]: {', '.join(fields)}"
            )
        f = fields[key]
        try:
            kwargs[key] = _validate(value, f)
        except ValueError as exc:
            shown = f.metadata["show"](value) if f.metadata["show"] else toml_value(value)
            raise ConfigError(f"{where}[{section}] {key} = {shown}: {exc}") from None
    return kwargs


def _build_profiles(value: Any, where: str) -> tuple[Profile, ...]:
    """[[profile]] tables: each a `match` regular expression and tables of the keys it overrides."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(f"{where}profile must be written as [[profile]] tables, one per application")
    profiles = []
    for number, item in enumerate(value, 1):
        name = f"{where}[[profile]] {number}: "
        match = item.get("match")
        if not isinstance(match, str) or not match.strip():
            raise ConfigError(
                f'{name}match is missing: give a regular expression for the window class, e.g. match = "XTerm|kitty"'
            )
        try:
            re.compile(match)
        except re.error as exc:
            raise ConfigError(f"{name}match = {toml_value(match)} is not a regular expression: {exc}") from None
        overrides: dict[str, dict[str, Any]] = {}
        for key, table in item.items():
            if key == "match":
                continue
            if key not in PROFILE_SECTIONS:
                tables = ", ".join(PROFILE_SECTIONS)
                raise ConfigError(
                    f"{name}unknown key {key}{_suggest(key, dict.fromkeys(PROFILE_SECTIONS))}; a profile has match "
                    f"and the tables {tables}"
                )
            if not isinstance(table, dict):
                raise ConfigError(f"{name}{key} must be a table of [{key}] keys, e.g. {key} = {{ ... }}")
            overrides[key] = _section_values(key, SECTIONS[key], table, name)
        profiles.append(Profile(number, match, overrides))
    return tuple(profiles)


# ---- the vocabulary file ----------------------------------------------------------------------------


def vocabulary_path(config: Config, folder: Path) -> Path | None:
    """Where [text] vocabulary_file is: as given when a full path, else in `folder` (the config file's)."""
    name = config.text.vocabulary_file
    if not name:
        return None
    path = Path(name).expanduser()
    return path if path.is_absolute() else folder / path


MAX_VOCABULARY_BYTES = 16 * 2**20  # a list of a million names is under this
MAX_CONFIG_BYTES = 2**20  # the commented file of every key is 12 kB


def read_vocabulary(path: Path | str) -> list[str]:
    """The entries of a vocabulary file ("-": stdin): one a line; blank lines and lines starting with
    # are skipped. Read within bounds (dictate.files.read_small); an entry over MAX_ENTRY_CHARS is a
    ConfigError naming its line."""
    try:
        data = read_small(str(path), "the vocabulary list", MAX_VOCABULARY_BYTES)
    except DictateError as exc:
        raise ConfigError(exc.message) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8, one entry a line") from None
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        entry = " ".join(line.split())
        if not entry or entry.startswith("#"):
            continue
        if len(entry) > MAX_ENTRY_CHARS:
            raise ConfigError(
                f"{path}, line {number}: an entry of {len(entry)} characters; a vocabulary entry is a word, a name "
                f"or a phrase of at most {MAX_ENTRY_CHARS} characters, one a line"
            )
        entries.append(entry)
    return entries


def with_vocabulary_file(config: Config, folder: Path) -> Config:
    """The config with the entries of its vocabulary file (when there is one) after [text] vocabulary."""
    path = vocabulary_path(config, folder)
    if path is None or not path.exists():
        return config
    entries = list(dict.fromkeys([*config.text.vocabulary, *read_vocabulary(path)]))
    return dataclasses.replace(config, text=dataclasses.replace(config.text, vocabulary=entries))


def _validate(value: Any, f: dataclasses.Field[Any]) -> Any:
    default = field_default(f)
    meta = f.metadata
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
    elif isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected {'an integer' if isinstance(default, int) else 'a number'}{_range(meta)}")
        if isinstance(default, int) and not isinstance(value, int):
            raise ValueError(f"expected an integer{_range(meta)}")
        if not math.isfinite(value):
            raise ValueError(f"expected a number{_range(meta)}, not {value}")
        if (meta["min"] is not None and value < meta["min"]) or (meta["max"] is not None and value > meta["max"]):
            raise ValueError(f"expected a number{_range(meta)}")
        value = type(default)(value)
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise ValueError(f"expected a string{_choices(meta)}")
        if meta["choices"] and value not in meta["choices"]:
            raise ValueError(f"accepted values: {_choices(meta).removeprefix(': ')}")
    if meta["check"]:
        meta["check"](value)
    return value


def _range(meta: Mapping[str, Any]) -> str:
    lo, hi = meta["min"], meta["max"]
    if lo is not None and hi is not None:
        return f" from {lo:g} to {hi:g}"
    return f" of at least {lo:g}" if lo is not None else ""


def _choices(meta: Mapping[str, Any]) -> str:
    return ": " + ", ".join(repr(c) for c in meta["choices"]) if meta["choices"] else ""


def _suggest(name: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
