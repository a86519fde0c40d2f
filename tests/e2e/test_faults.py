"""Faults on the way to the server, end to end through `dictate once`: every dictation is delivered
exactly once, or kept and recovered with `dictate retry`."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.rig import proc
from tests.rig.server import Reply, TranscriptionServer

pytestmark = pytest.mark.rig

TEXT = "Hello from the test server."
PHRASE = "hello world this is a test"
Say = Callable[..., tuple[int, str, str]]


def configure(home: Path, base_url: str, api: str = "") -> None:
    write_config(home, f'[api]\nbase_url = "{base_url}"\n{api}\n[audio]\nsilence_seconds = 0.8\n')


def history(env: dict[str, str]) -> list[dict[str, object]]:
    result = proc.run(["history", "--json"], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_two_503s_then_success_delivers_once(
    home: Path, mic_env: dict[str, str], server: TranscriptionServer, say_once: Say
) -> None:
    configure(home, server.base_url)
    server.queue(Reply.openai_error(503, "The server is overloaded", type_="server_error"), Reply(503, b"busy"))
    code, out, err = say_once(PHRASE)
    assert code == 0, err
    assert out == TEXT + "\n"
    assert len(server.uploads) == 3
    (entry,) = history(mic_env)
    assert entry["status"] == "delivered" and entry["text"] == TEXT and entry["attempts"] == 3
    assert entry["audio_path"] is None  # removed once delivered


def test_rate_limit_waits_as_told(
    home: Path, mic_env: dict[str, str], server: TranscriptionServer, say_once: Say
) -> None:
    configure(home, server.base_url)
    server.queue(
        Reply.openai_error(429, "Rate limit reached for requests", "rate_limit_exceeded").with_headers(
            {"Retry-After": "1"}
        )
    )
    code, out, err = say_once(PHRASE)
    assert code == 0 and out == TEXT + "\n", err
    first, second = server.uploads
    assert second.at - first.at >= 0.95  # Retry-After was honoured
    assert second.file_bytes == first.file_bytes


def test_quota_429_is_not_retried_and_is_kept(
    home: Path, mic_env: dict[str, str], server: TranscriptionServer, say_once: Say
) -> None:
    configure(home, server.base_url)
    server.queue(Reply.openai_error(429, "You exceeded your current quota", "insufficient_quota"))
    code, out, err = say_once(PHRASE)
    assert code == 1 and out == ""
    assert "quota" in err and "dictate retry 1" in err
    assert len(server.uploads) == 1
    retry = proc.run(["retry", "1"], mic_env)
    assert retry.returncode == 0 and retry.stdout == TEXT + "\n"


def test_slow_answer_times_out_and_is_retried(
    home: Path, mic_env: dict[str, str], server: TranscriptionServer, say_once: Say
) -> None:
    configure(home, server.base_url, "timeout = 1")
    server.queue(Reply(body={"text": "too late"}, delay=2.5))
    code, out, err = say_once(PHRASE)
    assert code == 0, err
    assert out == TEXT + "\n"  # the late answer is never used
    assert len(server.uploads) == 2


def test_dropped_connection_is_retried(
    home: Path, mic_env: dict[str, str], server: TranscriptionServer, say_once: Say
) -> None:
    configure(home, server.base_url)
    server.queue(Reply(drop=True))
    code, out, err = say_once(PHRASE)
    assert code == 0 and out == TEXT + "\n", err
    assert len(server.uploads) == 2
    assert history(mic_env)[0]["status"] == "delivered"


def test_server_down_then_back(home: Path, mic_env: dict[str, str], say_once: Say) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    configure(home, f"http://127.0.0.1:{port}/v1", "max_retries = 1")
    code, out, err = say_once(PHRASE)
    assert code == 1 and out == ""
    assert "connection refused" in err and "dictate retry 1" in err
    errors = [line for line in err.splitlines() if "recording…" not in line and "transcribing" not in line]
    assert len(errors) == 1  # besides the status lines, one error line
    (entry,) = history(mic_env)
    assert entry["status"] == "failed" and Path(str(entry["audio_path"])).exists()

    failed_retry = proc.run(["retry", "--all"], mic_env)
    assert failed_retry.returncode == 1 and failed_retry.stdout == ""

    with TranscriptionServer(text="recovered words", port=port) as server:
        retry = proc.run(["retry", "--all"], mic_env)
        assert retry.returncode == 0, retry.stderr
        assert retry.stdout == "recovered words\n"
        (upload,) = server.uploads
        assert upload.rate == 16000 and upload.seconds and upload.seconds > 1
        again = proc.run(["retry", "--all"], mic_env)
        assert again.returncode == 0 and again.stdout == "" and "nothing to retry" in again.stderr
    (entry,) = history(mic_env)
    assert entry["status"] == "delivered" and entry["text"] == "recovered words"
    assert entry["audio_path"] is None


def test_retry_of_a_delivered_dictation_is_refused(
    home: Path, mic_env: dict[str, str], server: TranscriptionServer, say_once: Say
) -> None:
    configure(home, server.base_url)
    assert say_once(PHRASE)[0] == 0
    result = proc.run(["retry", "1"], mic_env)
    assert result.returncode == 2 and "delivered, nothing to retry" in result.stderr
    assert len(server.uploads) == 1
