from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from dictate import ConfigError, config
from dictate.config import Config, from_dict

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_missing_default_file_means_defaults() -> None:
    cfg = config.load()
    assert cfg == Config()
    assert cfg.api.model == "whisper-1"
    assert cfg.api.base_url == "https://api.openai.com/v1"
    assert cfg.audio.sample_rate == 16000
    assert cfg.hotkey.keys == "ctrl+alt+space"


def test_path_precedence(tmp_path: Path) -> None:
    env = {"DICTATE_CONFIG": str(tmp_path / "env.toml"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert config.config_path("cli.toml", env) == (Path("cli.toml"), "--config")
    assert config.config_path(None, env) == (tmp_path / "env.toml", "DICTATE_CONFIG")
    del env["DICTATE_CONFIG"]
    assert config.config_path(None, env)[0] == tmp_path / "xdg" / "dictate" / "config.toml"
    assert config.config_path(None, {"HOME": str(tmp_path)})[0] == tmp_path / ".config" / "dictate" / "config.toml"


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(str(tmp_path / "nope.toml"))


def test_values_are_read_and_typed(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\nmodel = "whisper-large-v3-turbo"\ntimeout = 5\n[audio]\ndevice = "USB"\n')
    cfg = config.load(str(path))
    assert cfg.api.model == "whisper-large-v3-turbo"
    assert cfg.api.timeout == 5.0 and isinstance(cfg.api.timeout, float)
    assert cfg.audio.device == "USB"
    assert cfg.path == path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[api]\nmodle = 'x'\n", r"unknown key \[api\] modle \(did you mean 'model'\?\); keys in \[api\]: base_url"),
        ("[apii]\n", r"unknown section \[apii\] \(did you mean 'api'\?\)"),
        ("[api]\ntimeout = 'soon'\n", r"\[api\] timeout = \"soon\": expected a number from 1 to 3600"),
        ("[api]\nformat = 'mp3'\n", r"\[api\] format = \"mp3\": accepted values: 'wav', 'flac', 'ogg'"),
        ("[api]\ntemperature = 2\n", r"\[api\] temperature = 2: expected a number from 0 to 1"),
        ("[audio]\nsample_rate = 16000.5\n", r"\[audio\] sample_rate = 16000.5: expected an integer"),
        ("[output]\nallow_newlines = 'yes'\n", r"expected true or false"),
        (
            "[hotkey]\nkeys = 'ctrl+hyper+x'\n",
            r"\[hotkey\] keys = \"ctrl\+hyper\+x\": unknown key name 'hyper'.*accepted",
        ),
        ("[hotkey]\nmode = 'press'\n", r"accepted values: 'hold', 'toggle'"),
        ("[api]\nbase_url = 'api.openai.com'\n", r"expected an http\(s\) URL"),
        ("[api]\nlanguage = 'English'\n", r"ISO-639-1"),
        ("api = 3\n", r"api must be a section"),
        ("[api\n", r"invalid TOML"),
    ],
)
def test_bad_values_name_file_key_and_accepted(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as info:
        config.load(str(path))
    assert str(path) in info.value.message
    assert "\n" not in info.value.message
    assert info.value.exit_code == 2


def test_api_key_precedence(tmp_path: Path) -> None:
    cfg = from_dict({"api": {"api_key": "file-key", "api_key_env": "MY_KEY"}}, tmp_path / "c.toml")
    assert config.api_key(cfg, {"DICTATE_API_KEY": "a", "MY_KEY": "b"}) == ("a", "DICTATE_API_KEY")
    assert config.api_key(cfg, {"MY_KEY": "b", "OPENAI_API_KEY": "c"}) == ("b", "MY_KEY")
    assert config.api_key(cfg, {"OPENAI_API_KEY": "c"})[0] == "file-key"
    assert config.api_key(Config(), {}) == (None, "none")
    assert config.api_key(Config(), {"OPENAI_API_KEY": "c"}) == ("c", "OPENAI_API_KEY")


def test_key_in_world_readable_file_warns(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\napi_key = "sk-secret-1234567890"\n')
    os.chmod(path, 0o644)
    warning = config.insecure_permissions_warning(config.load(str(path)))
    assert warning is not None and "chmod 600" in warning and "sk-secret" not in warning
    os.chmod(path, 0o600)
    assert config.insecure_permissions_warning(config.load(str(path))) is None


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.openai.com/v1", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://localhost:8000/v1", True),
        ("http://192.168.1.20:8080/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://speaches:8000/v1", True),
        ("http://api.openai.com/v1", False),
        ("http://8.8.8.8/v1", False),
    ],
)
def test_plain_http_only_to_local_hosts(url: str, allowed: bool) -> None:
    cfg = from_dict({"api": {"base_url": url}})
    if allowed:
        config.check_endpoint(cfg)
    else:
        with pytest.raises(ConfigError, match="allow_insecure"):
            config.check_endpoint(cfg)
        config.check_endpoint(from_dict({"api": {"base_url": url, "allow_insecure": True}}))


def test_render_masks_key_and_round_trips() -> None:
    cfg = from_dict({"api": {"api_key": "sk-topsecret-value", "prompt": 'say "hi"\n'}, "audio": {"max_seconds": 30}})
    text = config.render(cfg)
    assert "sk-topsecret" not in text
    again = from_dict(config.tomllib.loads(text.replace('"(set, hidden)"', '"x"')))
    assert again.api.prompt == 'say "hi"\n'
    assert again.audio.max_seconds == 30


def test_example_lists_every_key_and_is_valid_when_uncommented() -> None:
    text = config.example()
    setting = re.compile(r"^# ([a-z_]+ = .*)$")
    lines = [setting.sub(r"\1", line) for line in text.splitlines() if not line.startswith("#") or setting.match(line)]
    cfg = from_dict(config.tomllib.loads("\n".join(lines)))
    assert cfg == Config()
    for section in config.SECTIONS:
        for f in config.dataclasses.fields(getattr(cfg, section)):
            assert f"# {f.name} = " in text


def test_repository_example_matches_schema() -> None:
    """config.example.toml is generated from the schema; regenerate with `dictate config init`."""
    assert (ROOT / "config.example.toml").read_text() == config.example()
