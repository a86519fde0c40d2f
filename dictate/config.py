"""Configuration: TOML file -> frozen dataclasses, paths, API-key lookup, validation.

The schema below is the single source of truth: validation, `dictate config show` and the commented
`config.example.toml` (written by `dictate config init`) are all derived from it.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import os
import re
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dictate import ConfigError
from dictate.hotkey import ACCEPTED_HELP, parse_hotkey

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

APP = "dictate"
FORMATS = ("wav", "flac", "ogg")
OUTPUT_METHODS = ("auto", "type", "paste", "stdout", "tmux")
PASTE_KEYS = ("", "ctrl+v", "ctrl+shift+v", "shift+insert")


def _opt(
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] = (),
    minimum: float | None = None,
    maximum: float | None = None,
    check: Callable[[Any], None] | None = None,
) -> Any:
    meta = {"help": help, "choices": choices, "min": minimum, "max": maximum, "check": check}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


def _check_hotkey(value: str) -> None:
    try:
        parse_hotkey(value)
    except ConfigError as exc:
        raise ValueError(exc.message) from None


def _check_optional_hotkey(value: str) -> None:
    if value:
        _check_hotkey(value)


def _check_names(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError('expected a list of names, such as ["xterm", "kitty"]')


def _check_language(value: str) -> None:
    if value and not re.fullmatch(r"[a-z]{2,3}", value):
        raise ValueError("expected an ISO-639-1 code such as 'en' or 'de', or empty to detect")


def _check_base_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http(s) URL such as 'https://api.openai.com/v1'")


@dataclass(frozen=True)
class ApiConfig:
    base_url: str = _opt(
        "https://api.openai.com/v1",
        "OpenAI-compatible endpoint; /audio/transcriptions is appended",
        check=_check_base_url,
    )
    model: str = _opt("whisper-1", "transcription model, e.g. whisper-1, whisper-large-v3-turbo (Groq)")
    api_key_env: str = _opt(
        "OPENAI_API_KEY", "name of the environment variable holding the key (DICTATE_API_KEY wins over it)"
    )
    api_key: str = _opt("", "the key itself; prefer the environment, and keep this file private (chmod 600)")
    language: str = _opt("", "ISO-639-1 code such as 'en'; empty lets the model detect", check=_check_language)
    prompt: str = _opt("", "vocabulary or style hint (the model keeps only its last 224 tokens)")
    temperature: float = _opt(0.0, "sampling temperature, 0 to 1; sent only when not 0", minimum=0, maximum=1)
    response_format: str = _opt(
        "", "empty for the server default, or json | text | verbose_json", choices=("", "json", "text", "verbose_json")
    )
    timeout: float = _opt(60.0, "seconds to wait for the server's answer", minimum=1, maximum=3600)
    format: str = _opt(
        "flac",
        "upload encoding: flac (lossless, half of wav) | wav | ogg (Opus: a tenth of wav, lossy, slow to encode)",
        choices=FORMATS,
    )
    max_upload_mb: float = _opt(
        25.0, "largest upload in MB; longer recordings are split at pauses", minimum=0.1, maximum=1000
    )
    max_retries: int = _opt(
        3,
        "retries of a failed upload (timeouts, connection errors, 408/409/429/5xx) before it is kept for later",
        minimum=0,
        maximum=20,
    )
    retry_seconds: float = _opt(45.0, "longest time spent retrying one upload", minimum=0, maximum=3600)
    allow_insecure: bool = _opt(
        False, "allow plain http to a public address (loopback and private addresses are always allowed)"
    )


@dataclass(frozen=True)
class AudioConfig:
    device: str = _opt(
        "", "input device: index or name substring (see `dictate devices`); empty means the system default"
    )
    sample_rate: int = _opt(16000, "recording rate in Hz; 16000 is what Whisper uses", minimum=8000, maximum=192000)
    max_seconds: float = _opt(600.0, "a recording ends by itself after this many seconds", minimum=1, maximum=36000)
    min_seconds: float = _opt(0.3, "shorter recordings are discarded without an API call", minimum=0, maximum=60)
    incremental: bool = _opt(
        True, "transcribe finished sentences in the background while you speak, so release leaves only the tail"
    )
    silence_seconds: float = _opt(
        2.0, "`dictate once` stops after this much silence following speech; 0 = never", minimum=0, maximum=60
    )


@dataclass(frozen=True)
class HotkeyConfig:
    keys: str = _opt(
        "ctrl+alt+space",
        ACCEPTED_HELP.replace("'+'-joined key names", "'+'-joined key names, case-insensitive"),
        check=_check_hotkey,
    )
    mode: str = _opt(
        "hold", "hold (record while held) | toggle (press to start, press to stop)", choices=("hold", "toggle")
    )
    cancel: str = _opt("esc", "drops the recording in progress; empty for none", check=_check_optional_hotkey)


@dataclass(frozen=True)
class OutputConfig:
    method: str = _opt("auto", "auto | type | paste | stdout | tmux", choices=OUTPUT_METHODS)
    allow_newlines: bool = _opt(False, "type newlines in a transcript as Enter (otherwise they become spaces)")
    trailing_space: bool = _opt(True, "add a space after text delivered at the cursor, so dictations join up")
    stream: bool = _opt(False, "type each part as soon as it is transcribed, while you still speak (needs incremental)")
    paste_keys: str = _opt(
        "",
        "keys that paste: empty = by the focused window (Shift+Insert in terminals, else Ctrl+V); "
        "ctrl+v | ctrl+shift+v | shift+insert",
        choices=PASTE_KEYS,
    )
    terminal_classes: list[str] = _opt(  # noqa: RUF009 - _opt gives lists a default_factory
        [],
        "window classes (X11 WM_CLASS, Wayland app_id; any case) treated as terminals, pasted into with "
        "Shift+Insert, in addition to the built-in list (xterm, kitty, foot, gnome-terminal and others)",
        check=_check_names,
    )
    restore_clipboard: bool = _opt(
        True, "after pasting, put back what the clipboard held (every format on X11) once the window has read it"
    )


@dataclass(frozen=True)
class FeedbackConfig:
    sounds: bool = _opt(True, "short tones when recording starts, stops, is cancelled or fails")
    volume: float = _opt(0.3, "loudness of the tones, 0 to 1", minimum=0, maximum=1)
    notify: bool = _opt(True, "a desktop notification on errors (uses notify-send when installed)")


@dataclass(frozen=True)
class HistoryConfig:
    enabled: bool = _opt(
        True,
        "keep each dictation's text in history.db; false = store no text and forget each dictation once "
        "delivered (its audio is still spooled until then)",
    )
    keep_audio: bool = _opt(
        False, "keep each recording's audio after its text was delivered (deleted with its entry; needs enabled)"
    )
    max_days: int = _opt(
        90, "delete delivered and discarded entries older than this many days; 0 = no age limit", minimum=0
    )
    max_entries: int = _opt(
        10000, "keep at most this many delivered and discarded entries, the newest; 0 = no limit", minimum=0
    )


@dataclass(frozen=True)
class NotesConfig:
    pause_seconds: float = _opt(1.0, "`dictate notes`: a pause this long ends an utterance", minimum=0.2, maximum=10)


@dataclass(frozen=True)
class Config:
    api: ApiConfig = field(default_factory=ApiConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    hotkey: HotkeyConfig = field(default_factory=HotkeyConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)
    notes: NotesConfig = field(default_factory=NotesConfig)
    path: Path | None = None  # the file this came from; None when defaults were used


SECTIONS: dict[str, type] = {
    "api": ApiConfig,
    "audio": AudioConfig,
    "hotkey": HotkeyConfig,
    "output": OutputConfig,
    "feedback": FeedbackConfig,
    "history": HistoryConfig,
    "notes": NotesConfig,
}


# ---- paths -----------------------------------------------------------------------------------


def config_path(cli_path: str | None = None, environ: Mapping[str, str] = os.environ) -> tuple[Path, str]:
    """Return the config file path and where the choice came from.

    1. --config PATH
    2. $DICTATE_CONFIG
    3. the user config directory ($XDG_CONFIG_HOME/dictate/config.toml on Linux)
    """
    if cli_path:
        return Path(cli_path).expanduser(), "--config"
    if environ.get("DICTATE_CONFIG"):
        return Path(environ["DICTATE_CONFIG"]).expanduser(), "DICTATE_CONFIG"
    return _user_dir("config", environ) / "config.toml", "default location"


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where history and the audio spool live ($XDG_DATA_HOME/dictate on Linux)."""
    return _user_dir("data", environ)


def runtime_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the control socket lives: $XDG_RUNTIME_DIR, else a private folder in the temp dir."""
    base = environ.get("XDG_RUNTIME_DIR")
    if base:
        return Path(base)
    import tempfile

    return Path(tempfile.gettempdir()) / f"{APP}-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def _user_dir(kind: str, environ: Mapping[str, str]) -> Path:
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        # Read the environment passed in (not the process's) so tests and callers can redirect it.
        xdg = environ.get(f"XDG_{kind.upper()}_HOME")
        home = Path(environ.get("HOME") or Path.home())
        default = home / (".config" if kind == "config" else ".local/share")
        return (Path(xdg) if xdg and Path(xdg).is_absolute() else default) / APP
    import platformdirs

    getter = platformdirs.user_config_dir if kind == "config" else platformdirs.user_data_dir
    return Path(getter(APP, appauthor=False))


# ---- loading and validation ------------------------------------------------------------------


def load(cli_path: str | None = None, environ: Mapping[str, str] = os.environ) -> Config:
    """Load and validate the configuration; a missing file at the default location means defaults."""
    path, source = config_path(cli_path, environ)
    if not path.exists():
        if source != "default location":
            raise ConfigError(
                f"config file {path} (from {source}) does not exist; create it with `dictate config init`"
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
            raise ConfigError(f"{where}[{section}] {key} = {_toml_value(value)}: {exc}") from None
    return cls(**kwargs)


def _validate(value: Any, f: dataclasses.Field[Any]) -> Any:
    default = _default(f)
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


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


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


# ---- the API key -----------------------------------------------------------------------------


def api_key(config: Config, environ: Mapping[str, str] = os.environ) -> tuple[str | None, str]:
    """Return the API key and where it came from (never the key itself in that description).

    DICTATE_API_KEY > the variable named by [api] api_key_env > [api] api_key in the file.
    """
    if environ.get("DICTATE_API_KEY"):
        return environ["DICTATE_API_KEY"], "DICTATE_API_KEY"
    env_name = config.api.api_key_env
    if env_name and environ.get(env_name):
        return environ[env_name], env_name
    if config.api.api_key:
        return config.api.api_key, f"[api] api_key in {config.path}"
    return None, "none"


def insecure_permissions_warning(config: Config) -> str | None:
    """A warning when the file holding the API key can be read by other users, else None."""
    if not config.api.api_key or config.path is None or os.name != "posix":
        return None
    mode = config.path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        return f"{config.path} holds an API key and is readable by other users; run: chmod 600 {config.path}"
    return None


def check_endpoint(config: Config) -> None:
    """Refuse plain http to a public host unless allowed: the key and the audio would travel in clear."""
    parts = urlsplit(config.api.base_url)
    if parts.scheme == "https" or config.api.allow_insecure:
        return
    host = parts.hostname or ""
    # Single-label names ("speaches" in a compose network) and local suffixes are not public hosts.
    if "." not in host or host.endswith((".localhost", ".local", ".lan", ".internal", ".home.arpa")):
        return
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        addr = None
    if addr is not None and (addr.is_loopback or addr.is_private or addr.is_link_local):
        return
    where = f"{config.path}: " if config.path else ""
    raise ConfigError(
        f"{where}[api] base_url {config.api.base_url!r} uses plain http to a public host; "
        "use https, or set [api] allow_insecure = true"
    )


# ---- rendering -------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, default=str)


def render(config: Config, *, mask_key: bool = True) -> str:
    """The effective configuration as TOML (the API key masked)."""
    lines = []
    for name in SECTIONS:
        section = getattr(config, name)
        lines.append(f"[{name}]")
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if f.name == "api_key" and value and mask_key:
                value = "(set, hidden)"
            lines.append(f"{f.name} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def example() -> str:
    """A commented config file listing every key with its default (config.example.toml)."""
    out = [
        "# dictate configuration. Every key is optional; shown here with its default.",
        "# Location: --config PATH > $DICTATE_CONFIG > ~/.config/dictate/config.toml",
        "# The API key: $DICTATE_API_KEY > the variable named by api_key_env > api_key below.",
        "",
    ]
    for name, cls in SECTIONS.items():
        out.append(f"[{name}]")
        for f in dataclasses.fields(cls):
            default = _default(f)
            out.append(f"# {f.metadata['help']}")
            out.append(f"# {f.name} = {_toml_value(default)}")
        out.append("")
    return "\n".join(out)
