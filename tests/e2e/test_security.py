"""The API key never leaves the Authorization header: not on screen, not in history, spool or logs."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.rig import proc
from tests.rig.server import Reply, TranscriptionServer

pytestmark = pytest.mark.rig

Say = Callable[..., tuple[int, str, str]]


def files_containing(folder: Path, needle: bytes, skip: Path | None = None) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p != skip and needle in p.read_bytes()]


@pytest.mark.parametrize("where", ["environment", "config file"])
def test_key_is_nowhere_but_the_header(
    home: Path, mic_env: dict[str, str], say_once: Say, where: str, tmp_path: Path
) -> None:
    key = "sk-proj-" + secrets.token_hex(20)
    env = dict(mic_env)
    key_line = ""
    if where == "environment":
        env["DICTATE_API_KEY"] = key
    else:
        key_line = f'api_key = "{key}"\n'
    printed: list[str] = []

    def record(result: tuple[int, str, str] | object) -> None:
        if isinstance(result, tuple):
            printed.extend(str(x) for x in result)
        else:
            printed.extend([result.stdout, result.stderr])  # type: ignore[attr-defined]

    with TranscriptionServer(key=key) as server:
        config = write_config(
            home, f'[api]\nbase_url = "{server.base_url}"\n{key_line}[audio]\nsilence_seconds = 0.8\n'
        )
        config.chmod(0o600)
        record(say_once("a secret should stay secret", env=env))  # accepted
        assert server.uploads[-1].headers["authorization"] == f"Bearer {key}"
        server.queue(Reply.openai_error(401, f"Incorrect API key provided: {key}.", "invalid_api_key"))
        record(say_once("the server echoes the key", env=env))
        server.queue(Reply(body={"text": f"the key is {key} and {key[:12]}"}))
        record(say_once("the text echoes the key", env=env))
        for command in (
            ["config", "show"],
            ["config", "check"],
            ["history", "--json"],
            ["doctor"],
            ["--debug", "retry", "--all"],
        ):
            record(proc.run(command, env))
    with socket.socket() as s:  # the server is gone: a failure, saved to the spool
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write_config(
        home,
        f'[api]\nbase_url = "http://127.0.0.1:{port}/v1"\nmax_retries = 0\n{key_line}[audio]\nsilence_seconds = 0.8\n',
    ).chmod(0o600)
    record(say_once("nobody answers", env=env))
    record(proc.run(["--debug", "retry", "--all"], env))

    everything = "\n".join(printed)
    assert "dictate retry" in everything  # the failures really happened
    assert key not in everything and key[:16] not in everything
    assert files_containing(home, key.encode(), skip=config) == []
    assert files_containing(home, key[:16].encode(), skip=config) == []
