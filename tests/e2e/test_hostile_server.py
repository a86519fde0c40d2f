"""A hostile or broken server, met through the real command line: every wait ends, nothing that is not a
transcript is printed or typed, the recording is kept, and each failure is one line.

The config sets small timeouts so each case ends quickly; the tests assert that the process exits
(the subprocess timeout is generous), never how long it took.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.rig import proc
from tests.rig.server import Reply, TranscriptionServer

KEY = "sk-hostile-" + "Qm7Zp2Xr9Lc4Tv8Wn3Bd"
TEXT = "Hello from the test server."
PHRASE = "hello there"
FAST = "timeout = 1\nretry_seconds = 1\n"
Say = Callable[..., tuple[int, str, str]]


@pytest.fixture
def tone_wav(clip: Callable[[str], Path]) -> Path:
    """Speech, so the silence gate for files sends it."""
    return clip(PHRASE)


def configure(home: Path, base_url: str, retries: int = 1) -> Path:
    api = f'base_url = "{base_url}"\n{FAST}max_retries = {retries}\n'
    path = write_config(home, f"[api]\n{api}[audio]\nsilence_seconds = 0.8\n")
    path.chmod(0o600)
    return path


def error_lines(stderr: str) -> list[str]:
    """stderr without the status lines of `once`."""
    return [line for line in stderr.splitlines() if "recording…" not in line and "transcribing" not in line]


def assert_no_key(*outputs: str) -> None:
    for text in outputs:
        assert all(KEY[i : i + 8] not in text for i in range(len(KEY) - 7)), text


CASES = [
    pytest.param([Reply(trickle=0.05)] * 2, r"127\.0\.0\.1:\d+ sent its answer too slowly: \d+ bytes in", id="trickle"),
    pytest.param([Reply(trickle_headers=0.2)] * 2, r"no complete answer from 127\.0\.0\.1:\d+ within", id="headers"),
    pytest.param([Reply(hang=True)] * 2, r"no answer from 127\.0\.0\.1:\d+ within 1 s", id="hang"),
    pytest.param([Reply.captive_portal()], r"an HTML page titled \"Sign in to Guest WiFi\" \(a captive", id="portal"),
    pytest.param([Reply(200, b"42", content_type="application/json")], r"a JSON number \(42\)", id="number"),
    pytest.param([Reply(200, b'["hello"]', content_type="application/json")], r"a JSON list", id="list"),
    pytest.param([Reply(200, b"hello", content_type="text/plain")], r"plain text where JSON was expected", id="text"),
    pytest.param([Reply(200, b"\x89PNG\r\n", content_type="image/png")], r"an answer of type image/png", id="png"),
    pytest.param([Reply(200, b'{"text": "caf\xe9"}', content_type="application/json")], r"not UTF-8", id="latin1"),
    pytest.param(
        [Reply.echo_key(401)], r"HTTP 401 from 127\.0\.0\.1:\d+: Incorrect API key provided: \*\*\*", id="echo"
    ),
    pytest.param([Reply.echo_key(500, "x" * 290 + "{key}")] * 2, r"HTTP 500 from", id="echo-at-the-cut"),
]


@pytest.mark.parametrize(("replies", "said"), CASES)
def test_transcribe_against_a_hostile_server(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, tone_wav: Path, replies: list[Reply], said: str
) -> None:
    configure(home, server.base_url)
    server.queue(*replies)
    result = proc.run(["transcribe", str(tone_wav)], {**user_env, "DICTATE_API_KEY": KEY}, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("dictate: ") and re.search(said, line), line
    assert tone_wav.exists()  # transcribe's recording is the file itself
    assert_no_key(result.stdout, result.stderr)


@pytest.mark.parametrize("status", [307, 308])
def test_a_redirect_to_another_port_is_not_followed(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, tone_wav: Path, status: int
) -> None:
    with TranscriptionServer() as elsewhere:
        configure(home, server.base_url)
        server.queue(Reply.redirect(elsewhere.base_url + "/audio/transcriptions", status))
        result = proc.run(["transcribe", str(tone_wav)], {**user_env, "DICTATE_API_KEY": KEY}, timeout=60)
        assert elsewhere.received == []  # neither the audio nor the key went there
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert f"HTTP {status} from 127.0.0.1:{server.port}: it redirects to {elsewhere.base_url}" in line
    assert f"set [api] base_url to {elsewhere.base_url}" in line


def test_a_transcript_that_echoes_the_key_is_printed_masked(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, tone_wav: Path
) -> None:
    configure(home, server.base_url)
    server.queue(Reply.echo_key_text("The key is {key}."))
    result = proc.run(["transcribe", str(tone_wav)], {**user_env, "DICTATE_API_KEY": KEY}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "The key is ***.\n"


def test_dots_over_noise_are_no_speech(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, tone_wav: Path
) -> None:
    configure(home, server.base_url)
    server.queue(Reply(body={"text": " . . . . . . . ."}), Reply(body={"text": "." * 200}))
    for _ in range(2):
        result = proc.run(["transcribe", str(tone_wav)], user_env, timeout=60)
        assert result.returncode == 1, result.stderr  # a file the server heard nothing in (see transcribe)
        assert result.stdout == ""  # nothing printed
        assert result.stderr.endswith(": the server heard no words\n")


# ---- through `dictate once` and the history: the recording is kept and `retry` recovers it ---------

ONCE_CASES = [
    pytest.param([Reply.captive_portal()], "an HTML page", id="portal"),
    pytest.param([Reply(trickle=0.05)], "sent its answer too slowly", id="trickle"),
    pytest.param([Reply(200, b"\xff\xfe\xfd", content_type="application/json")], "not UTF-8", id="bytes"),
    pytest.param([Reply(200, b"plain words", content_type="text/plain")], "plain text where JSON", id="text"),
]


@pytest.mark.rig
@pytest.mark.parametrize(("replies", "said"), ONCE_CASES)
def test_once_keeps_the_recording_and_retry_recovers_it(
    home: Path, mic_env: dict[str, str], server: TranscriptionServer, say_once: Say, replies: list[Reply], said: str
) -> None:
    configure(home, server.base_url, retries=0)  # one attempt, so `retry` meets the server at its best
    server.queue(*replies)
    code, out, err = say_once(PHRASE)
    assert code == 1 and out == "", err
    (line,) = error_lines(err)
    assert said in line and "the recording is saved: run `dictate retry 1`" in line
    (entry,) = json.loads(proc.run(["history", "--json"], mic_env).stdout)
    assert entry["status"] == "failed" and entry["text"] is None
    assert Path(str(entry["audio_path"])).exists()
    retry = proc.run(["retry", "1"], mic_env, timeout=60)
    assert retry.returncode == 0, retry.stderr
    assert retry.stdout == TEXT + "\n"


@pytest.mark.rig
def test_retry_against_a_trickling_server_ends_and_keeps_the_recording(
    home: Path, mic_env: dict[str, str], server: TranscriptionServer, say_once: Say
) -> None:
    configure(home, server.base_url, retries=0)
    server.queue(Reply.captive_portal())
    assert say_once(PHRASE)[0] == 1
    server.queue(Reply(trickle=0.05))
    retry = proc.run(["retry", "--all"], mic_env, timeout=60)
    assert retry.returncode == 1 and retry.stdout == ""
    assert "sent its answer too slowly" in retry.stderr
    (entry,) = json.loads(proc.run(["history", "--json"], mic_env).stdout)
    assert entry["status"] == "failed" and Path(str(entry["audio_path"])).exists()
