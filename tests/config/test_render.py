from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from dictate.config.loading import from_dict, tomllib
from dictate.config.render import example, render
from dictate.config.schema import SECTIONS, Config

ROOT = Path(__file__).resolve().parents[2]


def test_render_masks_key_and_round_trips() -> None:
    cfg = from_dict({"api": {"api_key": "sk-topsecret-value", "prompt": 'say "hi"\n'}, "audio": {"max_seconds": 30}})
    text = render(cfg)
    assert "sk-topsecret" not in text
    assert 'api_key = "(set, hidden)"' in text.splitlines()
    again = from_dict(tomllib.loads(text.replace('"(set, hidden)"', '"x"')))
    assert again.api.prompt == 'say "hi"\n'
    assert again.audio.max_seconds == 30


def test_render_of_the_defaults_reads_back_as_the_defaults() -> None:
    text = render(Config())
    assert 'api_key = ""' in text.splitlines()
    assert from_dict(tomllib.loads(text)) == Config()


def test_example_lists_every_key_and_is_valid_when_uncommented() -> None:
    text, _, profiles = example().partition("# Per-application profiles")
    setting = re.compile(r"^# ([a-z_]+ = .*)$")
    lines = [setting.sub(r"\1", line) for line in text.splitlines() if not line.startswith("#") or setting.match(line)]
    cfg = from_dict(tomllib.loads("\n".join(lines)))
    assert cfg == Config()
    for section in SECTIONS:
        for f in dataclasses.fields(getattr(cfg, section)):
            assert f"# {f.name} = " in text
            assert f"# {f.metadata['help']}" in text
    example_profile = profiles.partition("# [[profile]]")[2]
    uncommented = "[[profile]]\n" + "\n".join(line.removeprefix("# ") for line in example_profile.splitlines())
    (profile,) = from_dict(tomllib.loads(uncommented)).profiles
    assert profile.overrides["output"] == {"method": "paste"}


def test_repository_example_matches_schema() -> None:
    """config.example.toml is generated from the schema; regenerate with `dictate config init`."""
    assert (ROOT / "config.example.toml").read_text() == example()
