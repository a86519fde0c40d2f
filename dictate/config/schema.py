"""The settings: one frozen dataclass per config-file section, each field with its help, choices, range and check.

This schema is the single source of truth: validation (`load`), `dictate config show` and the commented
`config.example.toml` (`render`) are derived from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dictate.config.values import (
    check_base_url,
    check_env_name,
    check_fields,
    check_hotkey,
    check_language,
    check_names,
    check_optional_hotkey,
    check_replacements,
    check_vocabulary,
    show_env_name,
    show_url,
    toml_value,
)
from dictate.hotkey import ACCEPTED_HELP

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
    show: Callable[[Any], str] | None = None,
) -> Any:
    """A setting: its default, help, accepted values, and `show`, how a given value may appear in a
    message (a secret never does)."""
    meta = {"help": help, "choices": choices, "min": minimum, "max": maximum, "check": check, "show": show}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ApiConfig:
    engine: str = _opt(
        "auto",
        "auto | http | local: auto uses the endpoint below when a key is found or base_url is changed, "
        "else Whisper on this machine when it is installed (pip install 'dictate[local]')",
        choices=("auto", "http", "local"),
    )
    base_url: str = _opt(
        "https://api.openai.com/v1",
        "OpenAI-compatible endpoint; /audio/transcriptions is appended (no user:password@ in it)",
        check=check_base_url,
        show=show_url,
    )
    model: str = _opt("whisper-1", "transcription model, e.g. whisper-1, whisper-large-v3-turbo (Groq)")
    api_key_env: str = _opt(
        "OPENAI_API_KEY",
        "name of the environment variable holding the key (DICTATE_API_KEY wins over it)",
        check=check_env_name,
        show=show_env_name,
    )
    api_key: str = _opt(
        "",
        "the key itself; prefer the environment, and keep this file private (chmod 600)",
        show=lambda _value: "(hidden)",
    )
    language: str = _opt("", "ISO-639-1 code such as 'en'; empty lets the model detect", check=check_language)
    prompt: str = _opt("", "vocabulary or style hint (the model keeps only its last 224 tokens)")
    temperature: float = _opt(0.0, "sampling temperature, 0 to 1; sent only when not 0", minimum=0, maximum=1)
    response_format: str = _opt(
        "", "empty for the server default, or json | text | verbose_json", choices=("", "json", "text", "verbose_json")
    )
    timeout: float = _opt(
        60.0,
        "seconds the server may take to answer; an attempt ends by this plus its upload at 20 kB/s, "
        "whatever the server does",
        minimum=1,
        maximum=3600,
    )
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
    retry_seconds: float = _opt(
        45.0,
        "longest time spent retrying one upload after its first attempt (pauses and attempts included)",
        minimum=0,
        maximum=3600,
    )
    allow_insecure: bool = _opt(
        False,
        "allow plain http to a public address (loopback and private addresses and local names always are), "
        "which sends the key and the audio in clear",
    )
    fields: dict[str, str] = _opt(  # noqa: RUF009 - _opt gives tables a default_factory
        {},
        "extra form fields sent with every request, for servers that need them, e.g. "
        '{ model_name = "small" } (faster-whisper-server); strings only; model, language, prompt, '
        "temperature and response_format are set by their own keys, and file is the audio",
        check=check_fields,
        show=lambda value: "{ " + ", ".join(map(str, value)) + " }" if isinstance(value, dict) else toml_value(value),
    )
    min_part_seconds: float = _opt(
        0.0,
        "shortest part sent while you speak; 0 = the provider's default (10 s for api.groq.com, which bills "
        "every request as at least 10 s, else 3 s)",
        minimum=0,
        maximum=600,
    )


@dataclass(frozen=True)
class LocalConfig:
    model: str = _opt(
        "base.en",
        "faster-whisper model: a name (tiny, base, small, medium, large-v3, turbo; .en for English only), "
        "downloaded once into the cache, or a folder holding one",
    )
    device: str = _opt(
        "auto", "auto | cpu | cuda (falls back to the CPU when CUDA is not usable)", choices=("auto", "cpu", "cuda")
    )
    compute_type: str = _opt(
        "auto", "auto (int8 on the CPU, float16 on CUDA) or a CTranslate2 type such as int8_float32 or float32"
    )
    threads: int = _opt(0, "CPU threads for the model; 0 = the library's default", minimum=0, maximum=256)


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
    no_speech_timeout: float = _opt(
        10.0,
        '`dictate once` gives up ("no speech heard", exit 1) when nobody speaks for this many seconds; 0 = never',
        minimum=0,
        maximum=3600,
    )


@dataclass(frozen=True)
class HotkeyConfig:
    keys: str = _opt(
        "ctrl+alt+space",
        ACCEPTED_HELP.replace("'+'-joined key names", "'+'-joined key names, case-insensitive"),
        check=check_hotkey,
    )
    mode: str = _opt(
        "hold", "hold (record while held) | toggle (press to start, press to stop)", choices=("hold", "toggle")
    )
    cancel: str = _opt("esc", "drops the recording in progress; empty for none", check=check_optional_hotkey)


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
        check=check_names,
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
class TextConfig:
    vocabulary: list[str] = _opt(  # noqa: RUF009 - _opt gives lists a default_factory
        [],
        'words and names to spell right, e.g. ["Kubernetes", "PostgreSQL"]: prompt hints, and spellings restored',
        check=check_vocabulary,
    )
    vocabulary_file: str = _opt(
        "vocabulary.txt",
        "more vocabulary, one entry a line (beside this file unless a full path; `dictate vocabulary import` adds)",
    )
    replacements: dict[str, str] = _opt(  # noqa: RUF009 - _opt gives dicts a default_factory
        {},
        'spoken phrase = what to write, e.g. { "fast api" = "FastAPI" }: whole words, any case, longest first',
        check=check_replacements,
    )
    commands: bool = _opt(
        False,
        'spoken punctuation and editing: "comma", "period", "new line", "scratch that", "literal comma" ...',
    )
    newline_commands: bool = _opt(
        True,
        '"new line" and "new paragraph" with commands (Enter only with [output] allow_newlines; off in terminals)',
    )


@dataclass(frozen=True)
class CleanupConfig:
    enabled: bool = _opt(
        False, "a chat model removes fillers and fixes punctuation before the text is typed (see the README)"
    )
    base_url: str = _opt(
        "https://api.openai.com/v1",
        "OpenAI-compatible chat endpoint (+ /chat/completions): OpenAI, Groq, llama.cpp, Ollama's /v1, vLLM",
        check=check_base_url,
        show=show_url,
    )
    model: str = _opt("gpt-4o-mini", "chat model, e.g. gpt-4o-mini, llama-3.1-8b-instant (Groq), qwen2.5:3b (Ollama)")
    api_key_env: str = _opt(
        "OPENAI_API_KEY",
        "variable holding the chat endpoint's key; unset: the transcription key, when on the same host",
        check=check_env_name,
        show=show_env_name,
    )
    prompt: str = _opt("", 'extra instructions for the clean-up, e.g. "British spelling"')
    timeout: float = _opt(
        3.0,
        "seconds the clean-up may take in all; after that the transcript is typed as heard",
        minimum=0.5,
        maximum=60,
    )
    allow_insecure: bool = _opt(
        False, "allow plain http to a public address (loopback and private addresses are always allowed)"
    )


PROFILE_SECTIONS = ("output", "text", "cleanup")


@dataclass(frozen=True)
class Profile:
    """One [[profile]]: when `match` finds the focused window's class, `overrides` (section -> key ->
    value, each checked against its section's schema) replace those settings for that dictation."""

    number: int  # its place in the file, from 1
    match: str
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    api: ApiConfig = field(default_factory=ApiConfig)
    local: LocalConfig = field(default_factory=LocalConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    hotkey: HotkeyConfig = field(default_factory=HotkeyConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)
    notes: NotesConfig = field(default_factory=NotesConfig)
    text: TextConfig = field(default_factory=TextConfig)
    cleanup: CleanupConfig = field(default_factory=CleanupConfig)
    profiles: tuple[Profile, ...] = ()  # [[profile]], in the file's order
    path: Path | None = None  # the file this came from; None when defaults were used


SECTIONS: dict[str, type] = {
    "api": ApiConfig,
    "local": LocalConfig,
    "audio": AudioConfig,
    "hotkey": HotkeyConfig,
    "output": OutputConfig,
    "feedback": FeedbackConfig,
    "history": HistoryConfig,
    "notes": NotesConfig,
    "text": TextConfig,
    "cleanup": CleanupConfig,
}


def field_default(f: dataclasses.Field[Any]) -> Any:
    """The default value of a setting (a fresh list for list settings)."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default
