"""`dictate doctor` explains a broken set-up in plain words, and `dictate history copy` on a real display."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from dictate.doctor import SAMPLE
from tests.conftest import write_config
from tests.rig import proc
from tests.rig.display import VirtualDisplay
from tests.rig.server import TranscriptionServer
from tests.rig.sound import VirtualMic

pytestmark = pytest.mark.rig

KEY = "sk-doctor-" + "0123456789abcdef" * 2


def lines_of(output: str) -> dict[str, str]:
    """check name -> its line (with the fix hint line appended)."""
    checks: dict[str, str] = {}
    last = ""
    for line in output.splitlines():
        if line.startswith(("ok ", "FAIL")):
            last = line.split()[1]
            checks[last] = line
        elif last:
            checks[last] += "\n" + line
    return checks


def doctor(
    env: dict[str, str], vmic: VirtualMic | None = None, speech: Path | None = None
) -> tuple[int, dict[str, str], str]:
    player = threading.Thread(target=vmic.play, args=(speech,)) if vmic and speech else None
    if player:
        player.start()  # someone talks while the microphone is tried
    result = proc.run(["doctor"], env, timeout=60)
    if player:
        player.join()
    return result.returncode, lines_of(result.stdout), result.stdout + result.stderr


@pytest.fixture
def desktop_env(home: Path, vmic: VirtualMic, xdisplay: VirtualDisplay) -> dict[str, str]:
    return proc.clean_env(home, {**vmic.env, "DISPLAY": xdisplay.name, "DICTATE_API_KEY": KEY})


def test_healthy_setup(home: Path, desktop_env: dict[str, str], vmic: VirtualMic, clip: Callable[[str], Path]) -> None:
    with TranscriptionServer(key=KEY, models=("whisper-1", "tts-1")) as server:
        url = server.base_url
        write_config(home, f'[api]\nbase_url = "{url}"\n[cleanup]\nenabled = true\nbase_url = "{url}"\n').chmod(0o600)
        code, checks, everything = doctor(desktop_env, vmic, clip("testing the microphone one two three"))
    assert code == 0, everything
    assert set(checks) == {"config", "microphone", "display", "output", "hotkey", "endpoint", "clean-up"}
    assert "cleaned a test sentence" in checks["clean-up"] and server.chat.transcripts == [SAMPLE]
    assert all(line.startswith("ok") for line in checks.values()), everything
    assert "dBFS" in checks["microphone"] and "tmux" in checks["display"]
    assert "accepts" in checks["endpoint"] and KEY not in everything


def test_broken_setup_is_explained(home: Path, vmic: VirtualMic, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    write_config(home, f'[api]\nbase_url = "{url}"\n[cleanup]\nenabled = true\nbase_url = "{url}"\n')
    env = proc.clean_env(home, vmic.env)  # no display; nobody speaks; the servers are down
    code, checks, everything = doctor(env)
    assert code == 1
    for name, words in {
        "microphone": "silence",
        "display": "no graphical session",
        "hotkey": "the hotkey needs an X display",
        "endpoint": "connection refused",
        "clean-up": "connection refused",
    }.items():
        assert checks[name].startswith("FAIL") and words in checks[name], everything
        assert "fix:" in checks[name], name
    assert checks["config"].startswith("ok")
    assert "Traceback" not in everything


def test_wrong_key_and_unknown_model(
    home: Path, desktop_env: dict[str, str], vmic: VirtualMic, clip: Callable[[str], Path]
) -> None:
    with TranscriptionServer(key="sk-the-right-one-0000000000") as server:
        write_config(home, f'[api]\nbase_url = "{server.base_url}"\n')
        code, checks, everything = doctor(desktop_env, vmic, clip("hello"))
        assert code == 1
        assert checks["endpoint"].startswith("FAIL") and "refused the key" in checks["endpoint"]
        assert "DICTATE_API_KEY" in checks["endpoint"] and KEY not in everything
    with TranscriptionServer(key=KEY, models=("whisper-large-v3",)) as server:
        write_config(home, f'[api]\nbase_url = "{server.base_url}"\nmodel = "whisper-1"\n')
        code, checks, _ = doctor(desktop_env, vmic, clip("hello"))
        assert code == 1
        assert "does not offer model 'whisper-1'" in checks["endpoint"] and "whisper-large-v3" in checks["endpoint"]


def test_bad_config_still_checks_the_rest(home: Path, desktop_env: dict[str, str]) -> None:
    write_config(home, "[audio]\nsample_rate = 'fast'\n")
    code, checks, _everything = doctor(desktop_env)
    assert code == 1
    assert checks["config"].startswith("FAIL") and "sample_rate" in checks["config"]
    assert "microphone" in checks and "engine" in checks  # the other checks ran on defaults, nothing was sent


def test_history_copy_puts_the_text_on_the_clipboard(
    home: Path, desktop_env: dict[str, str], xdisplay: VirtualDisplay, say_once: Callable[..., tuple[int, str, str]]
) -> None:
    with TranscriptionServer(text="Copy me, café ✓") as server:
        write_config(home, f'[api]\nbase_url = "{server.base_url}"\n[audio]\nsilence_seconds = 0.8\n')
        assert say_once("something to copy", env=desktop_env)[0] == 0
    result = proc.run(["history", "copy", "1"], desktop_env)
    assert result.returncode == 0, result.stderr
    assert xdisplay.read_clipboard() == "Copy me, café ✓".encode()
    missing = proc.run(["history", "copy", "99"], desktop_env)
    assert missing.returncode == 2 and "no dictation" in missing.stderr
