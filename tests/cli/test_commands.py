"""The command line as a user meets it: real subprocesses, a real local server."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.rig import proc
from tests.rig.server import Reply, TranscriptionServer
from tests.rig.sound import silence_clip

KEY = "sk-cli-test-key-0123456789abcdef"


@pytest.fixture
def speech_wav(tmp_path: Path, clip: Callable[[str], Path]) -> Path:
    """Two seconds of real speech (transcribe sends no file without speech) at 48 kHz in stereo."""
    import numpy as np
    import soundfile as sf

    from dictate.audio import resample

    samples, rate = sf.read(clip("hello from the command line"), dtype="int16")
    wave = resample(np.concatenate([samples, np.zeros(2 * rate - len(samples), dtype=np.int16)]), rate, 48000)
    path = tmp_path / "speech 48k stereo.wav"
    sf.write(path, np.stack([wave, wave], axis=1), 48000)
    return path


def configure(home: Path, server: TranscriptionServer, extra: str = "") -> Path:
    return write_config(home, f'[api]\nbase_url = "{server.base_url}"\n{extra}')


def assert_one_line_error(result: object, code: int, needle: str) -> None:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.returncode == code, stderr  # type: ignore[attr-defined]
    assert result.stdout == ""  # type: ignore[attr-defined]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("dictate: ")
    assert needle in lines[0]
    assert "Traceback" not in stderr and KEY not in stderr


def test_help_is_quick_to_read_and_lists_commands(user_env: dict[str, str]) -> None:
    result = proc.run(["--help"], user_env)
    assert result.returncode == 0
    for command in ("once", "transcribe", "devices", "config"):
        assert command in result.stdout


def test_usage_error_is_one_line(user_env: dict[str, str]) -> None:
    result = proc.run(["once", "--max-seconds", "-3"], user_env)
    assert_one_line_error(result, 2, "positive number of seconds")
    result = proc.run(["frobnicate"], user_env)
    assert_one_line_error(result, 2, "unknown command 'frobnicate'; commands: run, ctl,")


def test_config_path_init_check_show(home: Path, user_env: dict[str, str]) -> None:
    result = proc.run(["config", "path"], user_env)
    default = home / ".config" / "dictate" / "config.toml"
    assert result.stdout.strip() == str(default)
    custom = home / "elsewhere.toml"
    assert proc.run(["config", "path"], {**user_env, "DICTATE_CONFIG": str(custom)}).stdout.strip() == str(custom)
    assert proc.run(["--config", "x.toml", "config", "path"], user_env).stdout.strip() == "x.toml"

    assert proc.run(["config", "init"], user_env).returncode == 0
    assert default.stat().st_mode & 0o777 == 0o600
    assert_one_line_error(proc.run(["config", "init"], user_env), 2, "already exists")
    check = proc.run(["config", "check"], user_env)
    assert check.returncode == 0 and "config ok" in check.stdout and "API key: not set" in check.stdout

    default.write_text(f'[api]\napi_key = "{KEY}"\nmodel = "whisper-large-v3-turbo"\n')
    show = proc.run(["config", "show"], user_env)
    assert show.returncode == 0
    assert 'model = "whisper-large-v3-turbo"' in show.stdout
    assert KEY not in show.stdout + show.stderr
    assert "API key: from [api] api_key" in show.stdout


def test_config_init_never_replaces_a_pipe_and_writes_through_a_link(home: Path, user_env: dict[str, str]) -> None:
    fifo = home / "fifo.toml"
    os.mkfifo(fifo)  # `config init --force` once opened it and waited for a reader for ever
    refused = proc.run(["--config", str(fifo), "config", "init", "--force"], user_env, timeout=20)
    assert_one_line_error(refused, 2, f"cannot write {fifo}: a pipe is there, not a regular file; nothing was written")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    (home / "dotfiles").mkdir()
    link = home / "linked.toml"
    link.symlink_to(home / "dotfiles" / "config.toml")
    assert proc.run(["--config", str(link), "config", "init"], user_env).returncode == 0
    assert link.is_symlink() and "[api]" in (home / "dotfiles" / "config.toml").read_text()
    assert (home / "dotfiles" / "config.toml").stat().st_mode & 0o777 == 0o600


def test_a_relative_home_is_not_taken_for_a_folder(home: Path, user_env: dict[str, str], tmp_path: Path) -> None:
    """HOME=rel once put the history in whatever folder dictate ran from."""
    env = {k: v for k, v in user_env.items() if not k.startswith("XDG_")}
    done = proc.run(["config", "path"], {**env, "HOME": "rel"})
    assert done.returncode == 0 and Path(done.stdout.strip()).is_absolute(), done.stdout


def test_malformed_config_is_one_line_exit_2(home: Path, user_env: dict[str, str], server: TranscriptionServer) -> None:
    path = write_config(home, '[api]\nbase_url = "http://127.0.0.1:1/v1"\nformat = "mp3"\n')
    result = proc.run(["transcribe", "whatever.wav"], user_env)
    assert_one_line_error(result, 2, f'{path}: [api] format = "mp3": accepted values')
    path.write_text("[hotkey]\nkeys = 'ctrl+bogus'\n")
    assert_one_line_error(proc.run(["config", "check"], user_env), 2, "unknown key name 'bogus'")
    path.write_text("[api\n")
    assert_one_line_error(proc.run(["config", "check"], user_env), 2, "invalid TOML")
    assert server.uploads == []


def test_transcribe_prints_server_text_and_uploads_16k_mono(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, speech_wav: Path
) -> None:
    configure(home, server, 'model = "whisper-large-v3-turbo"\n')
    result = proc.run(["transcribe", str(speech_wav)], {**user_env, "DICTATE_API_KEY": KEY})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello from the test server.\n"
    (got,) = server.uploads
    assert (got.rate, got.channels, got.audio_format) == (16000, 1, "FLAC")  # the default format
    assert got.fields["model"] == "whisper-large-v3-turbo"
    assert got.headers["authorization"] == f"Bearer {KEY}"
    assert abs(got.seconds - 2.0) < 0.5  # type: ignore[operator] # the silence after the words is cut short
    assert KEY not in result.stderr


def test_transcribe_several_files_one_line_each(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, speech_wav: Path
) -> None:
    configure(home, server, 'format = "flac"\n')
    server.queue(Reply(body={"text": "first\nfile"}), Reply(body={"text": "  second  "}))
    result = proc.run(["transcribe", str(speech_wav), str(speech_wav)], user_env)
    assert result.stdout == "first file\nsecond\n"
    assert [u.audio_format for u in server.uploads] == ["FLAC", "FLAC"]


def test_transcribe_bad_files(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, tmp_path: Path, speech_wav: Path
) -> None:
    configure(home, server)
    assert_one_line_error(proc.run(["transcribe", str(tmp_path / "missing.wav")], user_env), 2, "no such file")
    notes = tmp_path / "notes.txt"
    notes.write_text("this is not audio\n" * 20)
    result = proc.run(["transcribe", str(speech_wav), str(notes)], user_env)
    assert result.returncode == 1
    assert result.stdout == "Hello from the test server.\n\n"  # the good file's line, then the bad one's
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"dictate: {notes}: not an audio file that can be read")
    assert len(server.uploads) == 1


@pytest.mark.parametrize(
    ("reply", "needle"),
    [
        (
            Reply.openai_error(401, f"Incorrect API key provided: {KEY[:8]}****************cdef.", "invalid_api_key"),
            "HTTP 401",
        ),
        (Reply.speaches_error(403, "Invalid API key"), "HTTP 403 from 127.0.0.1"),
    ],
)
def test_wrong_key(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, speech_wav: Path, reply: Reply, needle: str
) -> None:
    configure(home, server)
    server.queue(reply)
    result = proc.run(["transcribe", str(speech_wav)], {**user_env, "OPENAI_API_KEY": KEY})
    assert_one_line_error(result, 1, needle)
    assert "check the API key" in result.stderr
    assert KEY[:8] not in result.stderr


def test_server_down(home: Path, user_env: dict[str, str], speech_wav: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write_config(home, f'[api]\nbase_url = "http://127.0.0.1:{port}/v1"\n')
    result = proc.run(["transcribe", str(speech_wav)], {**user_env, "DICTATE_API_KEY": KEY})
    assert_one_line_error(result, 1, "connection refused")


def test_silent_file_is_not_sent(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, tmp_path: Path
) -> None:
    configure(home, server)
    server.queue(Reply(body={"text": "Thanks for watching!"}))
    path = silence_clip(1.0, tmp_path / "quiet.wav")
    assert_one_line_error(proc.run(["transcribe", str(path)], user_env), 1, f"no speech heard in {path}")
    assert server.uploads == []


def test_plain_http_to_public_host_is_refused(home: Path, user_env: dict[str, str], speech_wav: Path) -> None:
    write_config(home, '[api]\nbase_url = "http://api.example.com/v1"\n')
    assert_one_line_error(proc.run(["transcribe", str(speech_wav)], user_env), 2, "allow_insecure")


def test_world_readable_key_file_warns(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, speech_wav: Path
) -> None:
    path = configure(home, server, f'api_key = "{KEY}"\n')
    os.chmod(path, 0o644)
    result = proc.run(["transcribe", str(speech_wav)], user_env)
    assert result.returncode == 0
    assert "chmod 600" in result.stderr and KEY not in result.stderr
    assert server.uploads[0].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.skipif(
    Path("/proc/asound/cards").exists() and "no soundcards" not in Path("/proc/asound/cards").read_text(),
    reason="this machine has a sound card, so PortAudio lists it",
)
def test_devices_without_sound_server_is_a_clear_error(user_env: dict[str, str]) -> None:
    # With no reachable sound server and no sound card (as in CI) PortAudio sees no input device.
    result = proc.run(["devices"], {**user_env, "PULSE_SERVER": "unix:/nonexistent/socket"})
    assert_one_line_error(result, 1, "no microphone found; connect a microphone")


def test_config_show_is_valid_toml(home: Path, user_env: dict[str, str]) -> None:
    write_config(home, '[api]\nprompt = "Names: Zoë, José"\n')
    shown = proc.run(["config", "show"], user_env).stdout
    from dictate.config import from_dict
    from dictate.config.loading import tomllib

    parsed = tomllib.loads(shown)
    assert parsed["api"]["prompt"] == "Names: Zoë, José"
    # Read back, it is the same configuration: every key shown, with its effective value.
    assert from_dict(parsed) == from_dict({"api": {"prompt": "Names: Zoë, José"}})


def test_config_check_applies_the_transport_policy_to_the_clean_up(home: Path, user_env: dict[str, str]) -> None:
    write_config(home, '[cleanup]\nenabled = true\nbase_url = "http://chat.example.com/v1"\n')
    done = proc.run(["config", "check"], user_env)
    assert done.returncode == 2 and "[cleanup] base_url" in done.stderr and "plain http" in done.stderr
