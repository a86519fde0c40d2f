"""doctor's checks one by one, without the rig: the report's shape, the config, the display, the
endpoint against the local server (the rig's end-to-end doctor tests are in tests/e2e)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from dictate import doctor
from dictate.config import from_dict, load
from tests.rig.chat import ChatReply
from tests.rig.server import Reply, TranscriptionServer

KEY = "sk-doctor-test-0123456789abcdefghij"


def test_the_report_is_one_line_per_check_with_a_fix_under_each_failure() -> None:
    lines: list[str] = []
    checks = iter(
        [
            doctor.Check("config", True, "no file, defaults in use"),
            doctor.Check("endpoint", False, "connection refused", "start the server"),
            doctor.Check("display", False, "no display"),
        ]
    )
    assert doctor.report(checks, lines.append) == 2
    assert lines == [
        "ok   config     no file, defaults in use",
        "FAIL endpoint   connection refused",
        "                fix: start the server",
        "FAIL display    no display",
    ]


def test_an_unreadable_config_is_reported_the_rest_checked_and_nothing_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    names: list[str] = []

    def stub(config: object) -> doctor.Check:
        names.append("checked")
        return doctor.Check("x", True, "")

    for name in ("_microphone", "_display", "_output", "_hotkey"):
        monkeypatch.setattr(doctor, name, stub)
    monkeypatch.setattr(doctor, "_engine", lambda config: pytest.fail("the engine was checked"))
    monkeypatch.setattr(doctor, "_endpoint", lambda config: pytest.fail("the endpoint was contacted"))
    monkeypatch.setattr(doctor, "_cleanup", lambda config: pytest.fail("the clean-up was contacted"))
    checks = list(doctor.run_checks(None, "config.toml: invalid TOML"))
    assert (checks[0].name, checks[0].ok, checks[0].detail) == ("config", False, "config.toml: invalid TOML")
    assert "config init --force" in checks[0].hint
    assert len(names) == 4
    assert (checks[-1].name, checks[-1].ok) == ("engine", False)
    assert checks[-1].detail == "not checked, nothing sent: the config could not be read"


def test_a_key_in_a_file_others_can_read_fails_the_config_check(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[api]\napi_key = "{KEY}"\n')
    path.chmod(0o644)
    check = doctor._config(load(str(path)))
    assert not check.ok and "readable by other users" in check.detail and check.hint == f"chmod 600 {path}"
    path.chmod(0o600)
    assert doctor._config(load(str(path))).ok


@pytest.mark.parametrize(
    ("environ", "detail", "hint"),
    [
        ({}, "no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set)", "inside your desktop session"),
        ({"DISPLAY": "bogus"}, "DISPLAY=bogus is not an X display name", "set DISPLAY to one like :0"),
        ({"DISPLAY": ":917"}, "cannot connect to X display :917 (connection refused)", "DISPLAY"),
        ({"WAYLAND_DISPLAY": "wayland-gone"}, "no Wayland compositor answers at ", "unset WAYLAND_DISPLAY"),
    ],
)
def test_a_display_that_cannot_be_used_is_one_line_with_its_fix(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], detail: str, hint: str
) -> None:
    """The same words as `run` and `notes` say (dictate.session), the what and the fix apart."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    for name in ("_microphone", "_output", "_hotkey", "_endpoint"):
        monkeypatch.setattr(doctor, name, lambda config: doctor.Check("x", True, ""))
    (check,) = [c for c in doctor.run_checks(from_dict({}), None) if c.name == "display"]
    assert not check.ok
    assert check.detail.startswith(detail) and hint in check.hint
    assert "Error" not in check.detail + check.hint  # no library's exception names


def test_the_endpoint_check_names_a_refused_key_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DICTATE_API_KEY", KEY + "-wrong")
    with TranscriptionServer(key=KEY) as server:
        check = doctor._endpoint(from_dict({"api": {"base_url": server.base_url}}))
    assert not check.ok
    assert "refused the key (key from DICTATE_API_KEY): HTTP 401" in check.detail
    assert KEY not in check.detail and "DICTATE_API_KEY" in check.hint


def test_the_endpoint_check_names_the_models_it_offers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DICTATE_API_KEY", KEY)
    with TranscriptionServer(key=KEY, models=("whisper-large-v3", "llama-3")) as server:
        wrong = doctor._endpoint(from_dict({"api": {"base_url": server.base_url}}))
        right = doctor._endpoint(from_dict({"api": {"base_url": server.base_url, "model": "whisper-large-v3"}}))
    assert not wrong.ok and "does not offer model 'whisper-1'" in wrong.detail
    assert wrong.hint == "set [api] model to one it offers: whisper-large-v3"
    assert right.ok and "answers and accepts the request (key from DICTATE_API_KEY)" in right.detail


def test_a_server_that_is_down_is_one_line() -> None:
    check = doctor._endpoint(from_dict({"api": {"base_url": "http://127.0.0.1:9/v1"}}))
    assert not check.ok and check.detail.startswith("connection refused by 127.0.0.1:9")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record every name look-up and connection instead of making it."""
    tried: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        tried.append(args)
        raise OSError("the test allows no network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return tried


@pytest.mark.parametrize(
    "url",
    ["http://api.example.com/v1", "http://134744072/v1", "http://[2001:4860:4860::8888]/v1", "http://0x8080808/v1"],
)
def test_the_endpoint_check_sends_nothing_that_run_would_refuse(
    monkeypatch: pytest.MonkeyPatch, no_network: list[object], url: str
) -> None:
    monkeypatch.setenv("DICTATE_API_KEY", KEY)
    config = from_dict({"api": {"base_url": url}})
    check = doctor._endpoint(config)
    assert not check.ok and check.detail.startswith("not checked, nothing sent: ")
    assert "plain http to a public host" in check.detail
    assert no_network == []
    assert not doctor._config(config).ok


def test_a_key_run_would_refuse_is_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("_microphone", "_display", "_output", "_hotkey"):
        monkeypatch.setattr(doctor, name, lambda config: doctor.Check("x", True, ""))
    monkeypatch.setenv("DICTATE_API_KEY", KEY[:10] + "\r\n" + KEY[10:])
    with TranscriptionServer() as server:
        config = from_dict({"api": {"base_url": server.base_url}})
        checks = {c.name: c for c in doctor.run_checks(config, None) if c.name in ("config", "endpoint")}
    assert server.received == []
    for check in checks.values():
        assert not check.ok and "the API key from DICTATE_API_KEY has a space" in check.detail
        assert KEY[:8] not in check.detail


def test_the_endpoint_check_follows_no_redirect() -> None:
    with TranscriptionServer() as server, TranscriptionServer() as elsewhere:
        server.queue(Reply.redirect(elsewhere.base_url + "/models", 308))
        check = doctor._endpoint(from_dict({"api": {"base_url": server.base_url}}))
        assert elsewhere.received == []
    assert not check.ok and f"set [api] base_url to {elsewhere.base_url}" in check.detail


@pytest.mark.parametrize(
    ("method", "environ", "ok", "detail"),
    [
        ("auto", {}, False, "nothing can be typed or pasted here (no graphical session (neither DISPLAY nor"),
        ("stdout", {}, True, "stdout: the text is printed"),
        ("auto", {"DISPLAY": ":99"}, True, "type: X11 session (DISPLAY=:99); XTEST typing"),
    ],
)
def test_the_output_check_names_the_method_once_and_fails_when_nothing_can_be_typed(
    monkeypatch: pytest.MonkeyPatch, method: str, environ: dict[str, str], ok: bool, detail: str
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "TMUX"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    check = doctor._output(from_dict({"output": {"method": method}}))
    assert (check.ok, check.detail.startswith(detail)) == (ok, True), check.detail
    assert "stdout: stdout:" not in check.detail and not check.detail.startswith(f"{method}: {method}")
    if not ok:
        assert check.hint.startswith("run dictate inside your desktop session, or set [output] method")


def test_a_fresh_config_is_offered_for_the_file_that_was_read(tmp_path: Path) -> None:
    check = next(doctor.run_checks(None, "bad line", fresh="dictate --config /x/y.toml config init --force"))
    assert (
        check.hint
        == "fix the line named above, or run `dictate --config /x/y.toml config init --force` for a fresh file"
    )


def test_the_clean_up_check_is_off_unless_a_clean_up_is_enabled() -> None:
    assert doctor._cleanup(from_dict({})) == doctor.Check("clean-up", True, "off")


def test_the_clean_up_check_cleans_a_sentence_with_each_model_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """[cleanup] and a profile's own model: each is asked once, as a dictation would ask it."""
    monkeypatch.setenv("DICTATE_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with TranscriptionServer(key=KEY) as server:
        url = server.base_url
        config = from_dict(
            {
                "api": {"base_url": url},
                "cleanup": {"enabled": True, "base_url": url, "model": "small"},
                "profile": [
                    {"match": "code", "cleanup": {"model": "large"}},
                    {"match": "kitty", "cleanup": {"model": "small"}},
                ],
            }
        )
        check = doctor._cleanup(config)
    assert check.ok, check.detail
    assert re.fullmatch(
        r"cleaned a test sentence: http://127\.0\.0\.1:\d+/v1 \(model small\) in \d+ ms; "
        r"http://127\.0\.0\.1:\d+/v1 \(model large\) in \d+ ms",
        check.detail,
    ), check.detail
    assert [body["model"] for body in server.chat.requests] == ["small", "large"]
    assert server.chat.transcripts == [doctor.SAMPLE, doctor.SAMPLE]
    assert all(h.get("authorization") == f"Bearer {KEY}" for h in server.chat.headers)  # same host: the same key


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        (ChatReply(status=401, error=f"Incorrect API key provided: {KEY}"), "HTTP 401 from 127.0.0.1"),
        (ChatReply(status=404, error="The model `small` does not exist"), "check [cleanup] base_url"),
        (ChatReply(content="The capital of France is Paris."), "answered, but not with a clean-up: "),
        (ChatReply(drop=True), "127.0.0.1"),
    ],
)
def test_a_clean_up_that_fails_is_one_line_without_the_key(
    monkeypatch: pytest.MonkeyPatch, reply: ChatReply, detail: str
) -> None:
    monkeypatch.setenv("DICTATE_API_KEY", KEY)
    with TranscriptionServer() as server:
        server.chat.queue(reply)
        url = server.base_url
        check = doctor._cleanup(
            from_dict({"api": {"base_url": url}, "cleanup": {"enabled": True, "base_url": url, "model": "small"}})
        )
    assert not check.ok and check.detail.startswith(f"{url} (model small)")
    assert detail in check.detail and "\n" not in check.detail
    assert KEY[:8] not in check.detail
    assert check.hint == "until it is fixed, dictations are typed as heard; or set [cleanup] enabled = false"


def test_the_clean_up_check_sends_nothing_that_run_would_refuse(no_network: list[object]) -> None:
    check = doctor._cleanup(from_dict({"cleanup": {"enabled": True, "base_url": "http://134744072/v1"}}))
    assert not check.ok and "not checked, nothing sent: " in check.detail
    assert "plain http to a public host" in check.detail
    assert no_network == []
