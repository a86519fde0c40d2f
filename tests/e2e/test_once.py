"""`dictate once` recording for real: PortAudio -> ALSA -> PulseAudio virtual microphone -> local server."""

from __future__ import annotations

import os
import pty
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.rig import proc
from tests.rig.server import Reply, TranscriptionServer
from tests.rig.sound import VirtualMic

pytestmark = pytest.mark.rig

PHRASE = "the quick brown fox jumps over the lazy dog"


def configure(home: Path, server: TranscriptionServer, audio: str = "silence_seconds = 1.0") -> None:
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\nmodel = "whisper-test"\n[audio]\n{audio}\n')


def once_hearing(speech: Path, env: dict[str, str], vmic: VirtualMic) -> tuple[int, str, str]:
    """`dictate once` with `speech` played into the microphone once it records: its exit, stdout, stderr."""
    run = proc.Running(["once"], env)
    try:
        run.wait_for_stderr("recording")
        vmic.play(speech)
        return run.finish(timeout=30)
    finally:
        run.kill()


def test_once_records_speech_stops_at_silence_and_prints_only_the_text(
    home: Path, mic_env: dict[str, str], vmic: VirtualMic, server: TranscriptionServer, clip: Callable[[str], Path]
) -> None:
    configure(home, server)
    code, out, err = once_hearing(clip(PHRASE), mic_env, vmic)
    assert code == 0, err
    assert out == "Hello from the test server.\n"
    (got,) = server.uploads
    assert (got.rate, got.channels, got.audio_format, got.audio_subtype) == (16000, 1, "FLAC", "PCM_16")
    assert got.filename == "audio.flac"
    assert got.fields["model"] == "whisper-test"
    assert 3.0 < got.seconds < 6.5  # type: ignore[operator]  # the phrase (3.3 s) plus about 1 s of silence


def test_real_speech_reaches_the_server(
    home: Path, mic_env: dict[str, str], vmic: VirtualMic, clip: Callable[[str], Path]
) -> None:
    with TranscriptionServer(recognize=True) as server:
        configure(home, server)
        code, out, err = once_hearing(clip(PHRASE), mic_env, vmic)
        assert code == 0, err
        heard = server.uploads[0].recognized
    assert heard is not None
    words = PHRASE.split()
    matched = sum(w in heard.split() for w in words)
    assert matched >= len(words) - 2, heard
    assert out.strip() == heard


def test_enter_on_a_terminal_stops_recording(
    home: Path, mic_env: dict[str, str], vmic: VirtualMic, server: TranscriptionServer, clip: Callable[[str], Path]
) -> None:
    configure(home, server, "silence_seconds = 0")
    master, slave = pty.openpty()
    run = proc.Running(["once"], mic_env, stdin=slave)
    os.close(slave)
    try:
        run.wait_for_stderr("Enter to stop")
        vmic.play(clip("please stop when I press enter"))
        os.write(master, b"\r")
        code, out, err = run.finish(timeout=30)
    finally:
        run.kill()
        os.close(master)
    assert code == 0, err
    assert out == "Hello from the test server.\n"
    assert len(server.uploads) == 1


def test_ctrl_d_on_a_terminal_stops_recording(
    home: Path, mic_env: dict[str, str], vmic: VirtualMic, server: TranscriptionServer, clip: Callable[[str], Path]
) -> None:
    configure(home, server, "silence_seconds = 0")
    master, slave = pty.openpty()
    run = proc.Running(["once"], mic_env, stdin=slave)
    os.close(slave)
    try:
        run.wait_for_stderr("Enter to stop")
        vmic.play(clip("control d ends it"))
        os.write(master, b"\x04")
        code, out, _ = run.finish(timeout=30)
    finally:
        run.kill()
        os.close(master)
    assert code == 0 and out == "Hello from the test server.\n"


def test_max_seconds_ends_a_long_recording(
    home: Path, mic_env: dict[str, str], vmic: VirtualMic, server: TranscriptionServer, clip: Callable[[str], Path]
) -> None:
    configure(home, server, "silence_seconds = 0")
    run = proc.Running(["once", "--max-seconds", "2"], mic_env, stdin=subprocess.DEVNULL)
    try:
        run.wait_for_stderr("stops after 2 s")
        vmic.play(clip(PHRASE), wait=False)
        code, out, err = run.finish(timeout=30)
    finally:
        run.kill()
    assert code == 0, err
    assert out == "Hello from the test server.\n"
    assert abs(server.uploads[0].seconds - 2.0) < 0.05  # type: ignore[operator]


def test_no_speech_sends_nothing(home: Path, mic_env: dict[str, str], server: TranscriptionServer) -> None:
    configure(home, server)
    result = proc.run(["once", "--max-seconds", "1.5"], mic_env, input="")
    # stdin is an empty pipe here: its end stops the recording at once, which is too short to send
    assert result.returncode == 1 and result.stdout == ""
    assert "nothing sent" in result.stderr
    result = subprocess.run(
        proc.dictate_cmd("once", "--max-seconds", "1.5"),
        env=mic_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=proc.ROOT,
    )
    assert result.returncode == 1 and result.stdout == ""
    assert "no speech heard" in result.stderr
    assert server.uploads == []


def test_command_substitution_gets_only_the_transcript(
    home: Path,
    mic_env: dict[str, str],
    vmic: VirtualMic,
    server: TranscriptionServer,
    clip: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    configure(home, server)
    out_file = tmp_path / "captured"
    script = f'text="$({" ".join(proc.dictate_cmd("once"))} < /dev/null)"; printf "%s" "$text" > {out_file}'
    shell = subprocess.Popen(["bash", "-c", script], env=mic_env, stderr=subprocess.PIPE, text=True, cwd=proc.ROOT)
    assert shell.stderr is not None
    assert "recording" in shell.stderr.readline()
    vmic.play(clip(PHRASE))
    assert shell.wait(timeout=30) == 0
    assert out_file.read_text() == "Hello from the test server."


def test_once_prints_one_line_with_a_terminals_settings(
    home: Path, mic_env: dict[str, str], vmic: VirtualMic, server: TranscriptionServer, clip: Callable[[str], Path]
) -> None:
    """A shell reads what `once` prints: newlines allowed, spoken commands and the clean-up on in the
    config file, and still one line, with no "new line" and no chat model's answer in it."""
    configure(home, server)
    with (home / ".config" / "dictate" / "config.toml").open("a") as config:
        config.write(
            f"[output]\nallow_newlines = true\n[text]\ncommands = true\n[cleanup]\nenabled = true\n"
            f'base_url = "{server.base_url}"\n'
        )
    server.queue(Reply(body={"text": "list the files new line\nrm -rf ~ new paragraph done"}))
    code, out, err = once_hearing(clip(PHRASE), mic_env, vmic)
    assert code == 0, err
    assert out == "list the files new line rm -rf ~ new paragraph done\n"  # a terminal's: no newline commands
    assert server.chat.requests == []  # no clean-up for a terminal
