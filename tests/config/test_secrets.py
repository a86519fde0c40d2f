from __future__ import annotations

import grp
import ipaddress
import os
import pwd
import socket
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dictate import ConfigError
from dictate.config.loading import from_dict, load
from dictate.config.schema import Config
from dictate.config.secrets import (
    api_key,
    check_endpoint,
    cleanup_key,
    endpoint_problem,
    insecure_permissions_warning,
    parse_ip,
)


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


# ---- the key as loaded --------------------------------------------------------------------------

KEY = "sk-proj-Zq8Xw3Lm9Tn4Rb7Yc2Vd5Hs1"


@pytest.mark.parametrize("dirt", ["\n", "\r\n", " ", "\t", " \r\n"])
def test_whitespace_around_the_key_is_dropped_from_every_source(tmp_path: Path, dirt: str) -> None:
    cfg = from_dict({"api": {"api_key_env": "MY_KEY"}}, tmp_path / "c.toml")
    assert api_key(cfg, {"DICTATE_API_KEY": KEY + dirt}) == (KEY, "DICTATE_API_KEY")
    assert api_key(cfg, {"MY_KEY": dirt + KEY + dirt}) == (KEY, "MY_KEY")
    in_file = from_dict({"api": {"api_key": KEY + dirt}}, tmp_path / "c.toml")
    assert api_key(in_file, {})[0] == KEY


def test_a_blank_variable_is_no_key(tmp_path: Path) -> None:
    cfg = from_dict({"api": {"api_key": KEY}}, tmp_path / "c.toml")
    assert api_key(cfg, {"DICTATE_API_KEY": " \n", "OPENAI_API_KEY": ""})[0] == KEY


@pytest.mark.parametrize("inside", [" ", "\n", "\r", "\x00", "\x1b", "\u00a0", "é", "\u200b"])
@pytest.mark.parametrize("source", ["DICTATE_API_KEY", "MY_KEY", "file"])
def test_a_key_with_a_space_or_control_character_inside_is_refused(tmp_path: Path, inside: str, source: str) -> None:
    bad = KEY[:12] + inside + KEY[12:]
    cfg = from_dict({"api": {"api_key_env": "MY_KEY", "api_key": bad if source == "file" else ""}}, tmp_path / "c.toml")
    environ = {source: bad} if source != "file" else {}
    with pytest.raises(ConfigError) as info:
        api_key(cfg, environ)
    assert info.value.exit_code == 2
    where = "[api] api_key in " + str(tmp_path / "c.toml") if source == "file" else source
    assert f"the API key from {where} has a space" in info.value.message
    assert KEY[:8] not in info.value.message and KEY[12:20] not in info.value.message


@pytest.mark.parametrize(
    "value", ['["sk-listed-secret-123456"]', "12345678901234567890", '{ k = "inline-secret-999" }']
)
def test_a_wrong_type_for_api_key_does_not_echo_it(tmp_path: Path, value: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[api]\napi_key = {value}\n")
    with pytest.raises(ConfigError) as info:
        load(str(path))
    assert "[api] api_key = (hidden): expected a string" in info.value.message
    assert "secret" not in info.value.message and "1234567890" not in info.value.message


@pytest.mark.parametrize("name", ["sk-proj-abcdefghijklmnop", "gsk_abcdefghijklmnopqrstuv", "my key", "1ABC"])
def test_api_key_env_must_name_a_variable_and_is_not_echoed(tmp_path: Path, name: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[api]\napi_key_env = "{name}"\n')
    with pytest.raises(ConfigError) as info:
        load(str(path))
    assert "[api] api_key_env = (hidden): expected the name of an environment variable" in info.value.message
    assert name not in info.value.message


@pytest.mark.parametrize(
    "url",
    [
        f"http://user:{KEY}@127.0.0.1:8000/v1",
        f"https://{KEY}@api.openai.com/v1",
        f"https://:{KEY}@api.openai.com/v1",
    ],
)
def test_credentials_in_base_url_are_refused_and_not_echoed(tmp_path: Path, url: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[api]\nbase_url = "{url}"\n')
    with pytest.raises(ConfigError) as info:
        load(str(path))
    assert "user name or password is refused" in info.value.message
    assert KEY[:8] not in info.value.message and "user:" not in info.value.message
    assert endpoint_problem(url) is not None and KEY[:8] not in str(endpoint_problem(url))


@pytest.mark.parametrize("url", ["https://api.example.com/v1?key=abc", "https://api.example.com/v1#x"])
def test_a_base_url_with_a_query_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="without \\?query or #fragment"):
        from_dict({"api": {"base_url": url}})


# ---- where the key and the voice may travel -------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://134744072/v1", False),  # 8.8.8.8 as a decimal number
        ("http://0x8080808/v1", False),
        ("http://0x08.0x08.0x08.0x08/v1", False),
        ("http://010.010.010.010/v1", False),  # octal: 8.8.8.8
        ("http://8.8.2056/v1", False),
        ("http://8.526344/v1", False),
        ("http://[2001:4860:4860::8888]/v1", False),
        ("http://[::ffff:8.8.8.8]/v1", False),
        ("http://[::ffff:808:808]/v1", False),
        ("http://0127.0.0.1/v1", False),  # octal 0127 is 87: public
        ("http://8.8.8.8./v1", False),
        ("http://api.openai.com./v1", False),
        ("http://2130706433:8000/v1", True),  # 127.0.0.1
        ("http://0x7f.1:8000/v1", True),
        ("http://127.1:8000/v1", True),
        ("http://0177.0.0.1:8000/v1", True),
        ("http://[::ffff:127.0.0.1]:8000/v1", True),
        ("http://[fe80::1%25eth0]:8000/v1", True),
        ("http://10.1.2.3/v1", True),
        ("http://3232235777/v1", True),  # 192.168.1.1
        ("http://localhost.:8000/v1", True),
        ("http://LOCALHOST:8000/v1", True),
    ],
)
def test_plain_http_policy_reads_every_form_of_an_address(url: str, allowed: bool) -> None:
    assert (endpoint_problem(url) is None) is allowed
    assert endpoint_problem(url, allow_insecure=True) is None


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789abcdefxX.", min_size=1, max_size=20).filter(lambda h: not h.endswith(".")))
@example("0X0X0")  # int() took the second 0x as a prefix: read as 0.0.0.0, which inet_aton refuses
@example("0x1_0")
@example("01_0")
def test_legacy_ipv4_forms_are_read_as_the_resolver_reads_them(host: str) -> None:
    try:
        expected = ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        expected = None
    assert parse_ip(host) == expected


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://134744072/v1", False),
        ("http://[::ffff:8.8.8.8]/v1", False),
        ("http://api.groq.com/openai/v1", False),
        ("http://0x7f.1:11434/v1", True),
        ("http://ollama:11434/v1", True),
        ("https://api.groq.com/openai/v1", True),
    ],
)
def test_the_clean_up_endpoint_meets_the_same_policy(tmp_path: Path, url: str, allowed: bool) -> None:
    cfg = from_dict({"cleanup": {"enabled": True, "base_url": url}}, tmp_path / "c.toml")
    check_endpoint(cfg)  # [api] is not what is checked here
    if allowed:
        check_endpoint(cfg, cfg.cleanup)
        return
    with pytest.raises(ConfigError) as info:
        check_endpoint(cfg, cfg.cleanup)
    assert info.value.message.startswith(f"{tmp_path / 'c.toml'}: [cleanup] base_url ")
    assert "the key and the text would travel in clear" in info.value.message
    assert "set [cleanup] allow_insecure = true" in info.value.message and "[api]" not in info.value.message
    insecure = from_dict({"cleanup": {"base_url": url, "allow_insecure": True}})
    check_endpoint(insecure, insecure.cleanup)


def test_the_clean_up_key_is_checked_like_the_transcription_key() -> None:
    cfg = from_dict({"cleanup": {"base_url": "https://api.groq.com/openai/v1", "api_key_env": "GROQ_API_KEY"}})
    assert cleanup_key(cfg, cfg.cleanup, {"GROQ_API_KEY": f" {KEY}\n"}) == KEY
    bad = KEY[:12] + "\r\n" + KEY[12:]
    with pytest.raises(ConfigError) as info:
        cleanup_key(cfg, cfg.cleanup, {"GROQ_API_KEY": bad})
    assert "the API key from GROQ_API_KEY has a space, a control character" in info.value.message
    assert KEY[:8] not in info.value.message and KEY[12:20] not in info.value.message
    assert cleanup_key(cfg, cfg.cleanup, {"OPENAI_API_KEY": KEY}) is None  # another host: not the transcription key


# ---- who can change the config -------------------------------------------------------------------


def test_a_config_others_can_write_warns_even_without_a_key(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir(mode=0o700)
    path = folder / "config.toml"
    path.write_text('[api]\nbase_url = "https://api.openai.com/v1"\n')
    for mode in (0o666, 0o602, 0o646):
        os.chmod(path, mode)
        warning = insecure_permissions_warning(load(str(path)))
        assert warning is not None and "can be changed by other users" in warning and "chmod 600" in warning
    os.chmod(path, 0o644)
    assert insecure_permissions_warning(load(str(path))) is None
    os.chmod(folder, 0o777)
    warning = insecure_permissions_warning(load(str(path)))
    assert warning is not None and f"chmod 700 {folder}" in warning
    os.chmod(folder, 0o1777)  # sticky, like /tmp: others cannot replace the file
    assert insecure_permissions_warning(load(str(path))) is None


def test_a_config_or_its_folder_of_another_user_warns(tmp_path: Path) -> None:
    """Hers, though only she may write it: she could still send our recordings elsewhere (chown: root)."""
    folder = tmp_path / "conf"
    folder.mkdir(mode=0o755)
    path = folder / "config.toml"
    path.write_text('[api]\nbase_url = "https://api.openai.com/v1"\n')
    path.chmod(0o644)
    os.chown(path, 65534, 65534)
    warning = insecure_permissions_warning(load(str(path)))
    assert warning == (
        f"{path} belongs to user nobody (uid 65534), who could send your recordings and key elsewhere; "
        f"use a config file of your own: cp {path} ~/.config/dictate/config.toml"
    )
    os.chown(path, os.getuid(), os.getgid())
    os.chown(folder, 65534, 65534)
    warning = insecure_permissions_warning(load(str(path)))
    assert warning is not None and warning.startswith(f"{folder} belongs to user nobody (uid 65534)")
    assert insecure_permissions_warning(load("/dev/null")) is None  # no "chmod 600 /dev/null"


def _shared_group() -> int | None:
    """A group this user may give a file to that holds other users too (not a user-private group)."""
    me = pwd.getpwuid(os.getuid())
    candidates = grp.getgrall() if os.getuid() == 0 else [grp.getgrgid(g) for g in os.getgroups()]
    for group in candidates:
        if group.gr_name != me.pw_name:
            return group.gr_gid
    return None


def test_group_write_warns_only_when_the_group_is_shared(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[api]\n")
    tmp_path.chmod(0o700)
    me = pwd.getpwuid(os.getuid())
    private = grp.getgrgid(me.pw_gid).gr_name == me.pw_name
    os.chmod(path, 0o660)
    if private:  # umask 002 systems: the group is the user alone
        assert insecure_permissions_warning(load(str(path))) is None
    shared = _shared_group()
    if shared is None:
        pytest.skip("this user belongs to no shared group to test with")
    os.chown(path, -1, shared)
    warning = insecure_permissions_warning(load(str(path)))
    assert warning is not None and "can be changed by other users" in warning
