"""The secrets sweep: a unique key, given through each source, meets servers that echo it back in
errors, transcripts, pages and redirects; every command's success and failure paths run; then every
output and every file under the user's folders is searched for the key and any 8-character piece
of it. Only the config file that was given the key may hold it.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import write_config
from tests.rig import proc
from tests.rig.server import Reply, TranscriptionServer, sent_key

Say = Callable[..., tuple[int, str, str]]
PHRASE = "hello world this is a test"


def pieces(key: str) -> list[str]:
    return [key[i : i + 8] for i in range(len(key) - 7)]


def leaks(text: str, key: str) -> list[str]:
    return [piece for piece in pieces(key) if piece in text]


class Sweep:
    """Runs dictate as the user would and keeps everything it printed."""

    def __init__(self, env: dict[str, str], say_once: Say) -> None:
        self.env = env
        self.say_once = say_once
        self.printed: list[tuple[str, str]] = []
        self.codes: dict[str, int] = {}

    def run(self, label: str, *args: str) -> int:
        result = proc.run(list(args), self.env, timeout=90)
        self.printed += [(f"{label} stdout", result.stdout), (f"{label} stderr", result.stderr)]
        self.codes[label] = result.returncode
        return result.returncode

    def once(self, label: str) -> int:
        code, out, err = self.say_once(PHRASE, env=self.env)
        self.printed += [(f"{label} stdout", out), (f"{label} stderr", err)]
        self.codes[label] = code
        return code


def configure(home: Path, base_url: str, key_line: str) -> Path:
    path = write_config(
        home,
        f'[api]\nbase_url = "{base_url}"\n{key_line}timeout = 1\nmax_retries = 0\n'
        "[audio]\nsilence_seconds = 0.8\n[history]\nkeep_audio = true\n",
    )
    path.chmod(0o600)
    return path


@pytest.mark.rig
@pytest.mark.parametrize("source", ["DICTATE_API_KEY", "api_key_env", "stored key", "config file"])
def test_the_key_is_nowhere_but_the_header(
    home: Path, mic_env: dict[str, str], say_once: Say, tmp_path: Path, source: str
) -> None:
    key = "sk-sweep-" + secrets.token_hex(16)
    env = dict(mic_env)
    key_line = ""
    if source == "DICTATE_API_KEY":
        env["DICTATE_API_KEY"] = key + "\r\n"  # as `echo` and a pasted line leave it: stripped when read
    elif source == "api_key_env":
        env["SWEEP_KEY"] = key
        key_line = 'api_key_env = "SWEEP_KEY"\n'
    elif source == "config file":
        key_line = f'api_key = "{key}"\n'
    sweep = Sweep(env, say_once)
    if source == "stored key":
        result = proc.run(["key", "set"], env, input=key + "\n")  # as `echo "$KEY" | dictate key set`
        sweep.printed += [("key set stdout", result.stdout), ("key set stderr", result.stderr)]
        assert result.returncode == 0, result.stderr
    wav = tmp_path / "speech.wav"

    with TranscriptionServer(key=key) as server, TranscriptionServer() as elsewhere:
        config = configure(home, server.base_url, key_line)
        # Successes, with the key echoed in the transcript.
        server.queue(Reply.echo_key_text("The key is {key}."))
        assert sweep.once("once echoing transcript") == 0
        assert server.uploads[-1].headers["authorization"] == f"Bearer {key}"
        wav.write_bytes(server.uploads[-1].file_bytes)
        server.queue(Reply.echo_key_text("Transcript: {key}"))
        assert sweep.run("transcribe echoing transcript", "transcribe", str(wav)) == 0
        # Failures, with the key echoed in every place a server can put it.
        hostile = [
            Reply.echo_key(401),
            Reply.echo_key(500, "x" * 280 + "{key} at the cut"),
            Reply.echo_key(400, "{key}" * 40),
            Reply(200, render=lambda r: {"echo": sent_key(r), sent_key(r): True}),
            Reply(
                200, render=lambda r: f"<html><title>{sent_key(r)}</title></html>".encode(), content_type="text/html"
            ),
            Reply(200, render=lambda r: f"plain {sent_key(r)}".encode(), content_type="text/plain"),
            Reply(200, render=lambda r: {"error": {"detail": {"message": sent_key(r)}}}),
            Reply.redirect(f"http://user:{key}@127.0.0.1:{elsewhere.port}/v1/audio/transcriptions?key={key}"),
        ]
        for index, reply in enumerate(hostile):
            server.queue(reply)
            assert sweep.once(f"once hostile {index}") == 1
        for index, reply in enumerate(hostile[:4]):
            server.queue(reply)
            assert sweep.run(f"transcribe hostile {index}", "transcribe", str(wav)) == 1
        server.queue(*hostile[:3])
        sweep.run("retry hostile", "retry", "--all")
        server.queue(*hostile[3:6])
        sweep.run("debug retry hostile", "--debug", "retry", "--all")
        assert elsewhere.received == []
        for label, args in [
            ("history", ["history"]),
            ("history json", ["history", "--json"]),
            ("history show", ["history", "show", "2"]),
            ("history show json", ["history", "show", "3", "--json"]),
            ("config show", ["config", "show"]),
            ("config check", ["config", "check"]),
            ("doctor", ["doctor"]),
            ("retry one", ["retry", "4"]),
        ]:
            sweep.run(label, *args)
    with TranscriptionServer(key="sk-the-right-one-" + secrets.token_hex(8), echo=True) as wrong:
        configure(home, wrong.base_url, key_line)  # the server refuses this key, and repeats it
        assert sweep.once("once refused key") == 1
        assert sweep.run("transcribe refused key", "transcribe", str(wav)) == 1
        sweep.run("doctor refused key", "doctor")
        sweep.run("debug retry refused key", "--debug", "retry", "--all")
    with socket.socket() as s:  # nobody listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = configure(home, f"http://127.0.0.1:{port}/v1", key_line)
    assert sweep.once("once server down") == 1
    sweep.run("retry server down", "retry", "--all")
    sweep.run("debug doctor server down", "--debug", "doctor")

    everything = "\n".join(text for _, text in sweep.printed)
    assert "dictate retry" in everything and "***" in everything  # the failures and the echoes happened
    found = {label: leaks(text, key) for label, text in sweep.printed if leaks(text, key)}
    assert found == {}
    skip = {"config file": config, "stored key": home / ".config" / "dictate" / "api-key"}.get(source)
    files = [p for p in home.rglob("*") if p.is_file() and p != skip]
    assert any(p.name == "history.db" for p in files) and any(p.parent.name == "spool" for p in files)
    leaked = {str(p): leaks(p.read_bytes().decode("latin-1"), key) for p in files}
    assert {p: found for p, found in leaked.items() if found} == {}


# ---- a key or an endpoint that must not be used: exit 2, one line, nothing sent -------------------


@pytest.mark.parametrize("inside", [" ", "\n", "\t", "\x1b"])
def test_a_key_with_a_control_character_inside_is_a_config_error(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, tmp_path: Path, inside: str
) -> None:
    key = "sk-inside-" + secrets.token_hex(12)
    configure(home, server.base_url, "")
    env = {**user_env, "DICTATE_API_KEY": key[:14] + inside + key[14:]}
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(16000, dtype=np.int16), 16000)
    for args in (["config", "check"], ["config", "show"], ["transcribe", str(wav)]):
        result = proc.run(args, env)
        assert result.returncode == 2, (args, result.stderr)
        (line,) = result.stderr.strip().splitlines()
        assert "the API key from DICTATE_API_KEY has a space, a control character" in line
        assert leaks(result.stdout + result.stderr, key) == []
    assert server.received == []


@pytest.mark.parametrize("secret_url", ["http://user:{key}@127.0.0.1:{port}/v1", "https://{key}@api.example.com/v1"])
def test_credentials_in_base_url_are_refused_unseen(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, secret_url: str
) -> None:
    key = "sk-in-url-" + secrets.token_hex(12)
    write_config(home, f'[api]\nbase_url = "{secret_url.format(key=key, port=server.port)}"\n').chmod(0o600)
    for args in (["config", "check"], ["history"], ["doctor"]):
        result = proc.run(args, user_env)
        assert result.returncode != 0
        assert "a URL with a user name or password is refused" in result.stdout + result.stderr
        assert leaks(result.stdout + result.stderr, key) == [] and "user:" not in result.stdout + result.stderr
    assert server.received == []
