"""The formats people upload, end to end: real m4a, aac, webm, mp3, ogg and opus files of flite speech
through `dictate transcribe`, recognised by the rig's server (pocketsphinx) — proof that real audio went
up — read by PyAV, by the ffmpeg command, and refused with the fix named when neither is there."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import rig_unavailable, write_config
from tests.rig import proc
from tests.rig.formats import FORMATS, encode
from tests.rig.server import TranscriptionServer

pytestmark = pytest.mark.rig

PHRASE = "the quick brown fox jumps over the lazy dog"
HEARD = "quick brown fox"
Clip = Callable[[str], Path]


@pytest.fixture
def recognizer(home: Path) -> Iterator[TranscriptionServer]:
    with TranscriptionServer(recognize=True) as server:
        write_config(home, f'[api]\nbase_url = "{server.base_url}"\n')
        yield server


@pytest.fixture(scope="module")
def encoded(clip: Clip, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    try:
        import av  # noqa: F401
    except ImportError:
        rig_unavailable("PyAV is not installed (pip install -e '.[test]')")
    folder = tmp_path_factory.mktemp("formats")
    return {suffix: encode(clip(PHRASE), suffix, folder) for suffix in FORMATS}


@pytest.fixture
def without_pyav(tmp_path: Path, user_env: dict[str, str]) -> dict[str, str]:
    """The environment of a user who has not installed the `formats` extra."""
    shadow = tmp_path / "no-pyav" / "av"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('PyAV is not installed')\n")
    return {**user_env, "PYTHONPATH": str(shadow.parent)}


@pytest.mark.parametrize("suffix", list(FORMATS))
def test_every_common_format_is_heard(
    user_env: dict[str, str], recognizer: TranscriptionServer, encoded: dict[str, Path], suffix: str
) -> None:
    result = proc.run(["transcribe", str(encoded[suffix])], user_env)
    assert result.returncode == 0, result.stderr
    assert HEARD in result.stdout  # m4a, aac and webm used to be refused
    (upload,) = recognizer.uploads
    assert (upload.rate, upload.channels) == (16000, 1)


@pytest.mark.parametrize("suffix", ["m4a", "aac", "webm"])
def test_the_ffmpeg_command_reads_them_without_pyav(
    without_pyav: dict[str, str], recognizer: TranscriptionServer, encoded: dict[str, Path], suffix: str
) -> None:
    if shutil.which("ffmpeg") is None:
        rig_unavailable("ffmpeg is not installed (apt-get install ffmpeg)")
    result = proc.run(["-v", "transcribe", str(encoded[suffix])], without_pyav)
    assert result.returncode == 0, result.stderr
    assert HEARD in result.stdout
    assert "read by ffmpeg" in result.stderr


def test_with_neither_the_line_names_the_fix(
    tmp_path: Path, without_pyav: dict[str, str], recognizer: TranscriptionServer, encoded: dict[str, Path]
) -> None:
    no_ffmpeg = {**without_pyav, "PATH": str(tmp_path)}
    files = [encoded["m4a"], encoded["webm"], encoded["mp3"]]
    result = proc.run(["transcribe", *map(str, files)], no_ffmpeg)
    assert result.returncode == 1
    m4a, webm = result.stderr.strip().splitlines()
    hint = "needs a decoder: pip install 'dictate[formats]' (PyAV) or install ffmpeg (apt install ffmpeg)"
    assert m4a == f"dictate: {files[0]}: m4a/mp4 audio {hint}"
    assert webm == f"dictate: {files[1]}: webm/mkv audio {hint}"
    first, second, third = result.stdout.split("\n")[:3]
    assert first == second == "" and HEARD in third  # libsndfile reads mp3 itself
