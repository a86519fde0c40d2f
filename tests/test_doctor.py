"""doctor's checks one by one, without the rig: the report's shape, the config, the display, the
endpoint against the local server (the rig's end-to-end doctor tests are in tests/e2e)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dictate import doctor
from dictate.config import from_dict, load
from tests.rig.server import TranscriptionServer

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


def test_an_unreadable_config_is_reported_and_the_rest_still_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    names: list[str] = []

    def stub(config: object) -> doctor.Check:
        names.append("checked")
        return doctor.Check("x", True, "")

    for name in ("_microphone", "_display", "_output", "_hotkey", "_endpoint"):
        monkeypatch.setattr(doctor, name, stub)
    checks = list(doctor.run_checks(None, "config.toml: invalid TOML"))
    assert (checks[0].name, checks[0].ok, checks[0].detail) == ("config", False, "config.toml: invalid TOML")
    assert "config init --force" in checks[0].hint
    assert len(names) == 5


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
