"""Configuration: the settings of dictate, read from a TOML file into frozen dataclasses.

Modules, each with one job:
- `schema`: the settings (one frozen dataclass per section, with help, choices, ranges and checks)
- `loading`: read the TOML file and validate it into a `Config`
- `paths`: where the config file, the data folder and the runtime folder are
- `secrets`: the API-key lookup, the config file's permissions, where the key and the audio may travel
- `render`: `config show` output and the commented example file

Public names: Config, ApiConfig, LocalConfig, AudioConfig, HotkeyConfig, OutputConfig, FeedbackConfig, HistoryConfig,
NotesConfig, TextConfig, CleanupConfig, Profile, SECTIONS, FORMATS, OUTPUT_METHODS, PASTE_KEYS, load, from_dict,
config_path, data_dir, runtime_dir, APP, api_key, cleanup_key, insecure_permissions_warning, check_endpoint,
endpoint_problem, display_url, render, example.
"""

from __future__ import annotations

from dictate.config.loading import from_dict, load
from dictate.config.paths import APP, config_dir, config_path, data_dir, init_command, runtime_dir, state_dir
from dictate.config.render import example, render
from dictate.config.schema import (
    FORMATS,
    OUTPUT_METHODS,
    PASTE_KEYS,
    SECTIONS,
    ApiConfig,
    AudioConfig,
    CleanupConfig,
    Config,
    FeedbackConfig,
    HistoryConfig,
    HotkeyConfig,
    LocalConfig,
    NotesConfig,
    OutputConfig,
    Profile,
    TextConfig,
)
from dictate.config.secrets import (
    api_key,
    check_endpoint,
    cleanup_key,
    endpoint_problem,
    insecure_permissions_warning,
)
from dictate.config.values import display_url

__all__ = [
    "APP",
    "FORMATS",
    "OUTPUT_METHODS",
    "PASTE_KEYS",
    "SECTIONS",
    "ApiConfig",
    "AudioConfig",
    "CleanupConfig",
    "Config",
    "FeedbackConfig",
    "HistoryConfig",
    "HotkeyConfig",
    "LocalConfig",
    "NotesConfig",
    "OutputConfig",
    "Profile",
    "TextConfig",
    "api_key",
    "check_endpoint",
    "cleanup_key",
    "config_dir",
    "config_path",
    "data_dir",
    "display_url",
    "endpoint_problem",
    "example",
    "from_dict",
    "init_command",
    "insecure_permissions_warning",
    "load",
    "render",
    "runtime_dir",
    "state_dir",
]
