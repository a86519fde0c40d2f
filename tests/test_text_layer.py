"""The text layer inside a dictation, against the local server: vocabulary in the prompt and in the
text, replacements and commands over the parts, echoes dropped, the clean-up and its failures, the
transcript as heard kept in the history, and a profile chosen by the focused window."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from dictate.audio import Recording
from dictate.config import Config, from_dict
from dictate.dictation import Pipeline
from dictate.engines import Segment, Transcript, local
from dictate.engines.chat import CleanupError
from dictate.engines.http import NO_RETRY, HttpEngine
from dictate.engines.local import LocalEngine
from dictate.store import History
from dictate.text_layer import speech_of
from tests.rig.server import Reply, TranscriptionServer

RATE = 16000


def speech(seconds: float) -> Recording:
    t = np.arange(int(seconds * RATE)) / RATE
    return Recording((np.sin(2 * np.pi * 300 * t) * 9000).astype(np.int16), RATE)


class FakeCleaner:
    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.seen: list[tuple[str, Config]] = []

    def clean(self, text: str, settings: Config) -> str:
        self.seen.append((text, settings))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self) -> None:
        pass


def pipeline(server: TranscriptionServer, tmp_path: Path, data: dict[str, Any], **kw: Any) -> Pipeline:
    cfg = from_dict({"api": {"base_url": server.base_url}, **data})
    return Pipeline(cfg, HttpEngine(cfg.api, None, retry=NO_RETRY), History.open(folder=tmp_path / "data"), **kw)


def test_vocabulary_goes_in_the_prompt_and_restores_spellings(server: TranscriptionServer, tmp_path: Path) -> None:
    p = pipeline(server, tmp_path, {"text": {"vocabulary": ["Kubernetes", "FastAPI"]}})
    server.queue(Reply(body={"text": "we deploy fast api on kubernetes"}))
    result = p.start(source="run").finish(speech(1.5))
    assert result.text == "we deploy FastAPI on Kubernetes"
    assert server.uploads[0].fields["prompt"] == "Kubernetes, FastAPI."
    assert result.heard == "we deploy fast api on kubernetes"


def test_the_history_keeps_the_text_and_the_transcript_as_heard(server: TranscriptionServer, tmp_path: Path) -> None:
    p = pipeline(server, tmp_path, {"text": {"commands": True, "replacements": {"fast api": "FastAPI"}}})
    server.queue(Reply(body={"text": "hello comma fast api period"}))
    result = p.start(source="run").finish(speech(1.5))
    p.deliver(result, lambda _text: None)
    assert p.history is not None and result.entry_id is not None
    entry = p.history.get(result.entry_id)
    assert (entry.text, entry.raw_text) == ("hello, FastAPI.", "hello comma fast api period")


def test_scratch_that_reaches_back_into_the_part_before(server: TranscriptionServer, tmp_path: Path) -> None:
    p = pipeline(server, tmp_path, {"text": {"commands": True}})
    server.queue(Reply(body={"text": "send it tomorrow"}), Reply(body={"text": "scratch that send it today"}))
    dictation = p.start(source="run")
    upload = dictation.add(speech(3.0))
    assert upload is not None and upload.result() == "send it tomorrow"
    assert dictation.finish(speech(1.5)).text == "send it today"


def test_nothing_left_after_the_commands_is_discarded(server: TranscriptionServer, tmp_path: Path) -> None:
    p = pipeline(server, tmp_path, {"text": {"commands": True}})
    server.queue(Reply(body={"text": "Scratch that."}))
    result = p.start(source="run").finish(speech(1.5))
    assert result.text == ""
    assert p.history is not None and result.entry_id is not None
    assert p.history.get(result.entry_id).status == "discarded"


class EchoingModel:
    """A faster-whisper model that answers with the prompt it was given, as Whisper sometimes does."""

    def __init__(self) -> None:
        self.prompts: list[str | None] = []

    def transcribe(self, audio: Any, **kwargs: Any) -> tuple[Any, None]:
        self.prompts.append(kwargs.get("initial_prompt"))
        said = SimpleNamespace(
            text=" " + (kwargs.get("initial_prompt") or ""),
            no_speech_prob=0.01,
            avg_logprob=-0.2,
            compression_ratio=1.1,
        )
        return iter([said]), None


@pytest.mark.parametrize("engine", ["http", "local"])
def test_a_transcript_that_echoes_the_prompt_is_not_speech(
    server: TranscriptionServer, tmp_path: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    vocabulary = {"text": {"vocabulary": ["Kubernetes", "PostgreSQL", "Anthropic"]}}
    p = pipeline(server, tmp_path, vocabulary)
    if engine == "local":
        monkeypatch.setattr(local, "has_speech", lambda audio: True)  # Silero hears no speech in a sine
        model = EchoingModel()
        p.engine = LocalEngine(p.config.api, p.config.local)
        p.engine._model = model  # loaded: Whisper itself is not what is tested here
    else:
        server.queue(Reply(body={"text": "Kubernetes, PostgreSQL, Anthropic."}))
    result = p.start(source="run").finish(speech(1.5))
    assert result.text == ""
    assert p.history is not None and result.entry_id is not None
    assert p.history.get(result.entry_id).status == "discarded"
    if engine == "local":
        assert model.prompts == ["Kubernetes, PostgreSQL, Anthropic."]


def test_clean_up_success_and_failure(
    server: TranscriptionServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cleaner = FakeCleaner(
        "We deploy on Friday.", CleanupError("no answer from chat within 3 s"), TypeError("a fault of ours")
    )
    p = pipeline(server, tmp_path, {"cleanup": {"enabled": True}}, cleaner=cleaner)  # type: ignore[arg-type]
    server.queue(
        Reply(body={"text": "um we deploy on friday"}),
        Reply(body={"text": "um second one"}),
        Reply(body={"text": "um third one"}),
    )
    first = p.start(source="run").finish(speech(1.5))
    assert (first.text, first.heard) == ("We deploy on Friday.", "um we deploy on friday")
    with caplog.at_level(logging.WARNING, logger="dictate"):
        second = p.start(source="run").finish(speech(1.5))
        third = p.start(source="run").finish(speech(1.5))  # whatever fails, not only what we foresaw
    assert second.text == "um second one"  # the transcript, when the clean-up fails: nothing is lost
    assert second.heard is None  # the text is the transcript as heard
    assert third.text == "um third one" and third.heard is None
    assert "no clean-up: no answer from chat within 3 s" in caplog.text
    assert "no clean-up: unexpected TypeError: a fault of ours" in caplog.text
    assert [seen for seen, _ in cleaner.seen] == ["um we deploy on friday", "um second one", "um third one"]


def test_a_profile_chosen_by_the_focused_window(server: TranscriptionServer, tmp_path: Path) -> None:
    data = {
        "text": {"commands": True},
        "cleanup": {"enabled": True},
        "profile": [{"match": "XTerm", "output": {"method": "paste"}}],
    }
    window: list[tuple[str, ...] | None] = [("xterm", "XTerm")]
    cleaner = FakeCleaner("Cleaned.")
    p = pipeline(server, tmp_path, data, focus=lambda: window[0], cleaner=cleaner)  # type: ignore[arg-type]
    server.queue(Reply(body={"text": "hello comma world new line"}), Reply(body={"text": "hello comma world"}))
    in_terminal = p.start(source="run")
    assert in_terminal.config.output.method == "paste"
    assert in_terminal.finish(speech(1.5)).text == "hello, world new line"  # no newline commands, no clean-up
    window[0] = ("Tk", "dictate-target")
    elsewhere = p.start(source="run")
    assert elsewhere.config.output.method == "auto"
    assert elsewhere.finish(speech(1.5)).text == "Cleaned."
    assert [seen for seen, _ in cleaner.seen] == ["hello, world"]


def test_a_spoken_new_line_at_either_end_is_kept_where_newlines_are_allowed(
    server: TranscriptionServer, tmp_path: Path
) -> None:
    p = pipeline(server, tmp_path, {"text": {"commands": True}, "output": {"allow_newlines": True}})
    server.queue(Reply(body={"text": "new paragraph dear anna comma new line"}))
    assert p.start(source="run").finish(speech(1.5)).text == "\n\ndear anna,\n"
    closed = pipeline(server, tmp_path / "b", {"text": {"commands": True}})
    server.queue(Reply(body={"text": "dear anna comma new line thanks new line"}))
    assert closed.start(source="run").finish(speech(1.5)).text == "dear anna, thanks"


# ---- Whisper's phrases over a part with hardly any speech ------------------------------------------


def breath(seconds: float = 3.0) -> Recording:
    """The silent end of a dictation held a moment after the last word: a low noise floor (-60 dBFS)
    with one short burst (0.15 s at about -40 dBFS), a breath or a click."""
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 33, int(seconds * RATE))
    at = int(1.2 * RATE)
    noise[at : at + int(0.15 * RATE)] += rng.normal(0, 330, int(0.15 * RATE))
    return Recording(noise.astype(np.int16), RATE)


def said(text: str, no_speech: float | None) -> Transcript:
    segments = None if no_speech is None else (Segment(text, no_speech, -0.8, 0.6),)
    return Transcript(text=text, segments=segments)


@pytest.mark.parametrize(
    ("text", "no_speech", "part", "kept"),
    [
        (" Thank you.", 0.91, "breath", False),  # what tiny.en answered for the silent tail of a dictation
        (" Thank you.", None, "breath", False),  # a provider that gives no segments: the audio decides
        (" Thanks for watching!", 0.7, "breath", False),
        (" Thank you.", 0.2, "breath", True),  # the model heard speech: kept
        (" Thank you.", 0.91, "speech", True),  # a part with a word's worth of speech: kept
        (" Thank you.", None, "speech", True),
        (" Thank you for the report.", 0.91, "breath", True),  # not one of the phrases
    ],
)
def test_a_phrase_over_a_part_with_hardly_any_speech_is_silence(
    text: str, no_speech: float | None, part: str, kept: bool
) -> None:
    audio = breath() if part == "breath" else speech(0.6)
    assert speech_of(said(text, no_speech), audio) == (text if kept else "")


def test_the_silent_end_of_a_dictation_adds_no_thank_you(server: TranscriptionServer, tmp_path: Path) -> None:
    p = pipeline(server, tmp_path, {})
    server.queue(Reply(body={"text": "Please send the report by Friday."}), Reply(body={"text": " Thank you."}))
    dictation = p.start(source="run")
    dictation.add(speech(3.5))
    server.wait_for_uploads(1)  # the part is at the server before the tail (its encoding takes longer)
    result = dictation.finish(breath())
    assert len(server.uploads) == 2 and result.text == "Please send the report by Friday."
