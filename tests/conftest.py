"""Fixtures: isolated user folders for every test, the local server, the rig (virtual mic, display)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from tests.rig import proc
from tests.rig.server import TranscriptionServer
from tests.rig.sound import RigUnavailable, VirtualMic, make_clip

REQUIRE_RIG = os.environ.get("DICTATE_REQUIRE_RIG") == "1"


def rig_unavailable(reason: str) -> None:
    """Skip when the rig cannot start here; in CI (DICTATE_REQUIRE_RIG=1) that is a failure."""
    if REQUIRE_RIG:
        pytest.fail(f"rig required but unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


class Rig(Protocol):
    def start(self) -> object: ...
    def stop(self) -> None: ...


R = TypeVar("R", bound=Rig)


def started(rig: R) -> Iterator[R]:
    """A fixture's body for a piece of the rig: started (or rig_unavailable), given, then stopped."""
    try:
        rig.start()
    except RigUnavailable as exc:
        rig_unavailable(str(exc))
    yield rig
    rig.stop()


@pytest.fixture(autouse=True)
def _isolated_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user's config, data or keys."""
    home = tmp_path / "home"
    for name in list(os.environ):
        if name.startswith(("DICTATE_", "OPENAI_")):
            monkeypatch.delenv(name)
    env = proc.clean_env(home)
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(name, env[name])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def server() -> Iterator[TranscriptionServer]:
    with TranscriptionServer(text="Hello from the test server.") as srv:
        yield srv


@pytest.fixture(scope="session")
def vmic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualMic]:
    yield from started(VirtualMic(tmp_path_factory.mktemp("vmic")))


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """clip("some words") -> a WAV of flite speaking them (cached per session)."""
    folder = tmp_path_factory.mktemp("clips")

    def make(text: str) -> Path:
        if shutil.which("flite") is None:
            rig_unavailable("flite is not installed (apt-get install flite)")
        name = "".join(c if c.isalnum() else "_" for c in text.lower())[:60]
        return make_clip(text, folder / f"{name}.wav")

    return make


@pytest.fixture
def user_env(home: Path) -> dict[str, str]:
    """The environment a dictate subprocess runs in (no rig)."""
    return proc.clean_env(home)


@pytest.fixture
def mic_env(home: Path, vmic: VirtualMic) -> dict[str, str]:
    """The environment of a dictate subprocess that records from the virtual microphone."""
    return proc.clean_env(home, vmic.env)


def write_config(home: Path, text: str) -> Path:
    path = home / ".config" / "dictate" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def say_once(
    mic_env: dict[str, str], vmic: VirtualMic, clip: Callable[[str], Path]
) -> Callable[..., tuple[int, str, str]]:
    """say_once("words", *args) runs `dictate once *args`, speaks the words into the microphone when it
    is recording, and returns (exit code, stdout, stderr)."""

    def run(phrase: str, *args: str, env: dict[str, str] | None = None, timeout: float = 90) -> tuple[int, str, str]:
        running = proc.Running(["once", *args], env or mic_env)
        try:
            running.wait_for_stderr("recording")
            vmic.play(clip(phrase))
            return running.finish(timeout=timeout)
        finally:
            running.kill()

    return run
