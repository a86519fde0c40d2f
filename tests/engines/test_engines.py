from __future__ import annotations

from dictate.engines import Transcript
from dictate.engines.replies import parse_response

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
