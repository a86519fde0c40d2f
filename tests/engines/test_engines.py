from __future__ import annotations

import pytest

from dictate.config import from_dict
from dictate.engines import Transcript, choose_engine, local, min_part_seconds
from dictate.engines.replies import parse_response
from dictate.errors import ConfigError

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123"


def test_verbose_json_segments_drop_silence_by_whisper_rule() -> None:
    body = b"""{"text": " Hello. Thank you.", "segments": [
        {"text": " Hello.", "no_speech_prob": 0.1, "avg_logprob": -0.3, "compression_ratio": 1.2},
        {"text": " Thank you.", "no_speech_prob": 0.9, "avg_logprob": -1.5, "compression_ratio": 1.0},
        {"text": " la la la la la la", "no_speech_prob": 0.1, "avg_logprob": -0.2, "compression_ratio": 3.1},
        {"text": " Still speech.", "no_speech_prob": 0.9, "avg_logprob": -0.5, "compression_ratio": 1.0}]}"""

    text, segments = parse_response("application/json", body)
    assert segments is not None and len(segments) == 4
    assert Transcript(text, segments).speech_text == " Hello. Still speech."


# ---- choosing the engine ---------------------------------------------------------------------

KEY_ENV = {"OPENAI_API_KEY": "sk-choose-test-0123456789abcdef"}


@pytest.mark.parametrize(
    ("settings", "environ", "installed", "kind", "why"),
    [
        ({}, KEY_ENV, True, "http", "the key from OPENAI_API_KEY"),
        ({}, {"DICTATE_API_KEY": "k-0123456789"}, False, "http", "the key from DICTATE_API_KEY"),
        ({"base_url": "http://127.0.0.1:8000/v1"}, {}, True, "http", "[api] base_url (a server that needs no key)"),
        ({}, {}, True, "local", "no API key, and Whisper is installed here"),
        ({"engine": "local"}, KEY_ENV, True, "local", '[api] engine = "local"'),
        ({"engine": "http", "base_url": "http://10.0.0.5:8080/v1"}, {}, True, "http", "[api] base_url"),
    ],
)
def test_auto_and_the_explicit_choices(
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, str],
    environ: dict[str, str],
    installed: bool,
    kind: str,
    why: str,
) -> None:
    monkeypatch.setattr(local, "installed", lambda: installed)
    chosen, reason = choose_engine(from_dict({"api": settings}), environ)
    assert chosen == kind and reason.startswith(why)


def test_no_key_and_no_local_engine_is_a_config_error_naming_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "installed", lambda: False)
    with pytest.raises(ConfigError) as info:
        choose_engine(from_dict({}), {})
    message = info.value.message
    assert message.startswith(
        "no API key for https://api.openai.com/v1: store one with `dictate key set` "
        "(or export DICTATE_API_KEY or OPENAI_API_KEY);"
    )
    assert message.endswith("or install Whisper for this machine: " + local.pip_command())


def test_http_asked_for_with_no_key_for_the_default_endpoint_is_refused_before_speaking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(local, "installed", lambda: True)
    refusal = r'no API key for .*`dictate key set`.*GROQ_API_KEY\); or set \[api\] engine = "local"'
    with pytest.raises(ConfigError, match=refusal):
        choose_engine(from_dict({"api": {"engine": "http", "api_key_env": "GROQ_API_KEY"}}), {})


def test_local_asked_for_without_the_extra_gives_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "installed", lambda: False)
    with pytest.raises(ConfigError, match=r"needs faster-whisper; install it: .*pip install 'dictate\[local\]'"):
        choose_engine(from_dict({"api": {"engine": "local"}}), KEY_ENV)


@pytest.mark.parametrize(
    ("api", "seconds"),
    [
        ({}, 0.0),
        ({"base_url": "https://api.groq.com/openai/v1"}, 10.0),
        ({"base_url": "https://API.GROQ.COM/openai/v1", "min_part_seconds": 4.0}, 4.0),
        ({"base_url": "https://api.groq.com/openai/v1", "engine": "local"}, 0.0),
        ({"min_part_seconds": 6.0}, 6.0),
    ],
)
def test_the_shortest_part_suits_the_providers_bill(api: dict[str, object], seconds: float) -> None:
    assert min_part_seconds(from_dict({"api": api})) == seconds
