from __future__ import annotations

import os
from pathlib import Path

import pytest

from dictate import ConfigError
from dictate.config.loading import from_dict, load
from dictate.config.schema import Config
from dictate.config.secrets import api_key, check_endpoint, insecure_permissions_warning


def test_api_key_precedence(tmp_path: Path) -> None:
    cfg = from_dict({"api": {"api_key": "file-key", "api_key_env": "MY_KEY"}}, tmp_path / "c.toml")
    assert api_key(cfg, {"DICTATE_API_KEY": "a", "MY_KEY": "b"}) == ("a", "DICTATE_API_KEY")
    assert api_key(cfg, {"MY_KEY": "b", "OPENAI_API_KEY": "c"}) == ("b", "MY_KEY")
    assert api_key(cfg, {"OPENAI_API_KEY": "c"}) == ("file-key", f"[api] api_key in {tmp_path / 'c.toml'}")
    assert api_key(Config(), {}) == (None, "none")
    assert api_key(Config(), {"OPENAI_API_KEY": "c"}) == ("c", "OPENAI_API_KEY")


def test_key_in_world_readable_file_warns(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[api]\napi_key = "sk-secret-1234567890"\n')
    os.chmod(path, 0o644)
    warning = insecure_permissions_warning(load(str(path)))
    assert warning is not None and "chmod 600" in warning and "sk-secret" not in warning
    os.chmod(path, 0o600)
    assert insecure_permissions_warning(load(str(path))) is None


def test_readable_file_without_a_key_does_not_warn(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[api]\nmodel = "whisper-1"\n')
    os.chmod(path, 0o644)
    assert insecure_permissions_warning(load(str(path))) is None


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.openai.com/v1", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://localhost:8000/v1", True),
        ("http://192.168.1.20:8080/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://speaches:8000/v1", True),
        ("http://box.lan:8000/v1", True),
        ("http://api.openai.com/v1", False),
        ("http://8.8.8.8/v1", False),
    ],
)
def test_plain_http_only_to_local_hosts(url: str, allowed: bool) -> None:
    cfg = from_dict({"api": {"base_url": url}})
    if allowed:
        check_endpoint(cfg)
    else:
        with pytest.raises(ConfigError, match="allow_insecure"):
            check_endpoint(cfg)
        check_endpoint(from_dict({"api": {"base_url": url, "allow_insecure": True}}))


def test_refused_endpoint_names_the_file(tmp_path: Path) -> None:
    cfg = from_dict({"api": {"base_url": "http://api.example.com/v1"}}, tmp_path / "c.toml")
    with pytest.raises(ConfigError, match=rf"^{tmp_path / 'c.toml'}: \[api\] base_url .* plain http to a public host"):
        check_endpoint(cfg)
