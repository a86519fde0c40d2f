"""The local engine: Whisper on this machine through faster-whisper (the `[local]` extra), no key and
no server. The model is loaded once per process and kept; one transcription runs at a time.

faster-whisper and CTranslate2 are imported only here, so nothing heavy enters the core install.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dictate.engines import Segment, Transcript, TranscriptionError
from dictate.errors import ConfigError, DictateError
from dictate.text.prompt import prompt_for

if TYPE_CHECKING:
    from dictate.audio import Recording
    from dictate.config import ApiConfig, LocalConfig

log = logging.getLogger("dictate")

# Smallest first: the model to suggest when one does not fit in memory.
SIZES = ("tiny", "base", "small", "medium", "large")
# Whisper's own fall-back when a decode fails its checks; [api] temperature set to more than 0 replaces it.
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def has_speech(audio: np.ndarray) -> bool:
    """Whether Silero's voice activity detector (shipped with faster-whisper) hears any speech in
    16 kHz float audio. True when it cannot run: then the model decides, as without it."""
    try:
        from faster_whisper.vad import get_speech_timestamps

        return bool(get_speech_timestamps(audio))
    except Exception as exc:
        log.debug("no voice activity detector (%s): every part is decoded", exc)
        return True


def installed() -> bool:
    """Whether the `[local]` extra (faster-whisper) is installed."""
    try:
        return importlib.util.find_spec("faster_whisper") is not None
    except (ImportError, ValueError):
        return False


def pip_command() -> str:
    return f"{sys.executable} -m pip install 'dictate[local]'"


def _faster_whisper() -> Any:
    try:
        import faster_whisper
    except ImportError:
        raise ConfigError(f"the local engine needs faster-whisper; install it: {pip_command()}") from None
    return faster_whisper


def known_models() -> tuple[str, ...]:
    return tuple(_faster_whisper().available_models())


@dataclass(frozen=True)
class ModelPlace:
    """Where a model comes from: a folder on disk, or a name (or Hugging Face repo) fetched once into a cache."""

    spec: str
    folder: Path | None  # the model's folder when it is on disk
    repo: str | None  # the Hugging Face repository a name stands for
    cache: Path | None  # where a download goes


def locate(spec: str) -> ModelPlace:
    """Resolve [local] model: a folder, a known name, or "owner/repo"; ConfigError naming the known
    names for anything else."""
    spec = spec.strip()
    path = Path(spec).expanduser()
    if spec.startswith(("/", "~", ".")) or path.is_dir():
        if not (path / "model.bin").is_file():
            raise ConfigError(f"[local] model {spec!r}: no faster-whisper model (model.bin) in {path}")
        return ModelPlace(spec, path, None, None)
    fw = _faster_whisper()
    repos: dict[str, str] = getattr(fw.utils, "_MODELS", {})
    repo = repos.get(spec)
    if repo is None and spec.count("/") == 1 and all(spec.split("/")):
        repo = spec  # a Hugging Face repository of a CTranslate2 Whisper model
    if repo is None:
        raise ConfigError(
            f"[local] model {spec!r} is not a model name or a folder; names: {', '.join(fw.available_models())}"
        )
    from huggingface_hub import constants

    cache = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"
    try:
        folder = Path(fw.utils.download_model(spec, local_files_only=True))
    except Exception:  # not in the cache yet
        folder = None
    return ModelPlace(spec, folder, repo, cache)


def fetch(spec: str) -> Path:
    """The model's folder, downloading it first when it is not on disk (with the hub's progress bars)."""
    place = locate(spec)
    if place.folder is not None:
        return place.folder
    try:
        return Path(_faster_whisper().utils.download_model(spec))
    except Exception as exc:
        raise DictateError(
            f"cannot download the model {spec!r} ({type(exc).__name__}; no network?); it would go to "
            f"{place.cache}; or set [local] model to a folder holding a faster-whisper model"
        ) from None


def choose_device(requested: str) -> str:
    """cpu or cuda: `auto` takes CUDA when CTranslate2 sees a GPU; `cuda` without one falls back to the CPU."""
    if requested == "cpu":
        return "cpu"
    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    if gpus:
        return "cuda"
    if requested == "cuda":
        log.warning('warning: [local] device = "cuda" but no CUDA device is usable here; using the CPU')
    return "cpu"


def smaller_than(spec: str) -> str | None:
    """The next smaller model of the same kind ("small.en" -> "base.en"), for an out-of-memory hint."""
    for index, size in enumerate(SIZES):
        if spec.startswith(size) and index:
            return SIZES[index - 1] + (".en" if spec.endswith(".en") else "")
    return None


class LocalEngine:
    """Whisper in this process. `load()` loads the model (the daemon and notes at start, `once` and
    `transcribe` per run); `transcribe` loads it first when it was not."""

    def __init__(self, api: ApiConfig, local: LocalConfig) -> None:
        self.api = api
        self.settings = local
        self.device = ""
        self.compute_type = ""
        self.folder: Path | None = None
        self.load_seconds: float | None = None
        self.name = f"local {local.model}"
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._model is None:
                self._load()

    def _load(self) -> None:
        fw = _faster_whisper()
        started = time.monotonic()
        self.folder = fetch(self.settings.model)
        self.device = choose_device(self.settings.device)
        compute = self.settings.compute_type
        self.compute_type = ("int8" if self.device == "cpu" else "float16") if compute == "auto" else compute
        try:
            self._model = fw.WhisperModel(
                str(self.folder), device=self.device, compute_type=self.compute_type, cpu_threads=self.settings.threads
            )
        except (MemoryError, RuntimeError, ValueError) as exc:
            raise DictateError(self._load_failure(exc)) from None
        has_speech(np.zeros(1600, dtype=np.float32))  # loads Silero now, not at the first dictation
        self.load_seconds = time.monotonic() - started
        self.name = f"local {self.settings.model} ({self.device}, {self.compute_type})"
        log.debug("model %s loaded from %s in %.2f s", self.settings.model, self.folder, self.load_seconds)

    def _load_failure(self, exc: BaseException) -> str:
        text = str(exc)
        if isinstance(exc, MemoryError) or "out of memory" in text.lower() or "bad_alloc" in text:
            smaller = smaller_than(self.settings.model)
            hint = f'set [local] model = "{smaller}"' if smaller else "close other programs"
            return f"not enough memory for the model {self.settings.model!r}; {hint}"
        if "compute type" in text.lower() or "compute_type" in text.lower():
            return f"[local] compute_type {self.compute_type!r} does not work on {self.device}: {text.splitlines()[0]}"
        detail = text.splitlines()[0] if text else type(exc).__name__
        return f"cannot load the model {self.settings.model!r} from {self.folder}: {detail}"

    def transcribe(self, recording: Recording, before: str = "", vocabulary: Sequence[str] = ()) -> Transcript:
        self.load()
        audio = recording.at_rate(16000).samples.astype("float32") / 32768.0
        prompt = prompt_for(self.api.prompt, before, vocabulary)  # the same prompt as the http engine's
        started = time.monotonic()
        if not has_speech(audio):
            # Nothing decoded where Silero hears no speech: Whisper would answer a phrase ("Thank you.")
            # or, failing its checks, decode again at each fall-back temperature (8 s for a 3 s silent
            # tail with tiny.en on two cores).
            return Transcript(
                "", segments=(), server_seconds=time.monotonic() - started, sent_at=started, prompt=prompt
            )
        with self._lock:
            try:
                segments, _info = self._model.transcribe(
                    audio,
                    language=self.api.language or None,
                    initial_prompt=prompt,
                    temperature=self.api.temperature or FALLBACK_TEMPERATURES,
                    condition_on_previous_text=False,
                )
                found = list(segments)
            except (MemoryError, RuntimeError) as exc:
                raise TranscriptionError(self._load_failure(exc), kind="local") from None
        return Transcript(
            text="".join(s.text for s in found),
            segments=tuple(Segment(s.text, s.no_speech_prob, s.avg_logprob, s.compression_ratio) for s in found),
            server_seconds=time.monotonic() - started,
            sent_at=started,
            prompt=prompt,  # to tell an echo of it from speech
        )

    def prepare(self) -> None:
        self.load()

    def warm(self) -> None:
        """Load the model in the background (`once` records meanwhile); a failure shows at transcription."""
        if self._model is None:
            threading.Thread(target=self._warm, name="dictate-load", daemon=True).start()

    def _warm(self) -> None:
        with contextlib.suppress(DictateError):  # transcribe() loads again and reports it
            self.load()

    def close(self) -> None:
        self._model = None
