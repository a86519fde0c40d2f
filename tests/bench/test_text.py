"""The text benchmark measures what it says: a 1,000-character dictation, 500 entries, 200 replacements."""

from __future__ import annotations

from bench.text import dictation, settings
from dictate.config import Config
from dictate.text_layer import TextLayer


def test_the_benchmark_material_is_the_size_it_claims() -> None:
    parts = dictation()
    assert 1000 <= sum(len(p) for p in parts) + len(parts) - 1 < 1100
    config = settings(500, 200, True)
    assert (len(config.text.vocabulary), len(config.text.replacements), config.text.commands) == (500, 200, True)


def test_the_rules_change_the_benchmark_dictation() -> None:
    parts = dictation()
    text = TextLayer(Config()).finish(parts, settings(500, 200, True)).text
    assert "FastAPI" in text and "kubectl" in text and "," in text and "fast api" not in text
