"""`-v` as a user reads it: every command that transcribes prints one line of timings on stderr
(once, transcribe, retry, notes), and stdout keeps only the text."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.rig import proc
from tests.rig.server import Reply, TranscriptionServer
from tests.rig.sound import VirtualMic

pytestmark = pytest.mark.rig

TEXT = "Hello from the test server."
PHRASE = "please write this down for me"
# "2.5 s of audio, 41870 bytes in 1 request(s); text 45 ms after the end of the recording; server n/a"
TIMINGS = r"\d+\.\d s of audio, \d+ bytes in \d+ request\(s\); text \d+ ms after {after}; server (\d+ ms|n/a)"


def test_once(home: Path, server: TranscriptionServer, say_once: Callable[..., tuple[int, str, str]]) -> None:
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\n')
    code, out, err = say_once(PHRASE, "-v")
    assert (code, out) == (0, TEXT + "\n"), err
    assert re.search("^dictate: " + TIMINGS.format(after="the end of the recording") + "$", err, re.MULTILINE), err


def test_transcribe(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, clip: Callable[[str], Path]
) -> None:
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\n')
    result = proc.run(["-v", "transcribe", str(clip(PHRASE))], user_env)
    assert (result.returncode, result.stdout) == (0, TEXT + "\n"), result.stderr
    assert re.search(r"s sent in 1 part\(s\) in \d+ ms$", result.stderr, re.MULTILINE), result.stderr


def test_retry(
    home: Path, server: TranscriptionServer, say_once: Callable[..., tuple[int, str, str]], user_env: dict[str, str]
) -> None:
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\nmax_retries = 0\n')
    server.queue(Reply(503, {"error": "down"}))
    code, _, err = say_once(PHRASE)
    assert code == 1, err
    result = proc.run(["-v", "retry", "--all"], user_env)
    assert (result.returncode, result.stdout) == (0, TEXT + "\n"), result.stderr
    line = "^dictate: dictation 1: " + TIMINGS.format(after="the resend began") + "$"
    assert re.search(line, result.stderr, re.MULTILINE), result.stderr


def test_notes(
    home: Path, mic_env: dict[str, str], server: TranscriptionServer, vmic: VirtualMic, clip: Callable[[str], Path]
) -> None:
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\n[notes]\npause_seconds = 0.8\n')
    run = proc.Running(["-v", "notes", "--output", "stdout", "--no-hotkey"], mic_env)
    try:
        run.wait_for_stderr("listening on")
        vmic.play(clip(PHRASE))
        line = run.wait_for_stderr(" s of audio, ")
        run.proc.send_signal(signal.SIGINT)
        code, out, err = run.finish(timeout=30)
    finally:
        run.kill()
    assert (code, out) == (0, TEXT + "\n"), err
    assert re.fullmatch(
        r"dictate: utterance from \d\d:\d\d:\d\d: " + TIMINGS.format(after="the end of the recording") + "\n", line
    )
