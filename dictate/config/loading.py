"""Read the TOML config file and validate it against the schema into a frozen `Config`.

Every error is one line naming the file, the section and key, the value given and what is accepted,
with a "did you mean" for a misspelt section or key.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dictate.config.paths import config_path, init_command
from dictate.config.schema import SECTIONS, Config, field_default, toml_value
from dictate.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def load(cli_path: str | None = None, environ: Mapping[str, str] = os.environ) -> Config:
    """Load and validate the configuration; a missing file at the default location means defaults."""
    path, source = config_path(cli_path, environ)
    if not path.exists():
        if source != "default location":
            raise ConfigError(
                f"config file {path} (from {source}) does not exist; create it with `{init_command(cli_path)}`"
            )
        return Config()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return from_dict(data, path)


def from_dict(data: Mapping[str, Any], path: Path | None = None) -> Config:
    """Build a validated Config from parsed TOML; errors name the file, the key and what is accepted."""
    where = f"{path}: " if path else ""
    sections: dict[str, Any] = {}
    for name, values in data.items():
        if name not in SECTIONS:
            known = ", ".join(f"[{s}]" for s in SECTIONS)
            raise ConfigError(f"{where}unknown section [{name}]{_suggest(name, SECTIONS)}; sections: {known}")
        if not isinstance(values, dict):
            raise ConfigError(f"{where}{name} must be a section written as [{name}], not a value")
        sections[name] = _build_section(name, SECTIONS[name], values, where)
    return Config(**sections, path=path)


def _build_section(section: str, cls: type, values: Mapping[str, Any], where: str) -> Any:
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
    return cls(**kwargs)


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
