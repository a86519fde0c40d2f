"""The text layer as a user meets it: `dictate run` on the rig types what the vocabulary, the
replacements, the spoken commands and the clean-up make of a transcript, and a profile makes the
same dictation arrive differently in the Tk window and in xterm."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.test_daemon import Daemon, configure
from tests.rig import proc
from tests.rig.chat import ChatReply
from tests.rig.display import TkTarget, VirtualDisplay, XtermTarget
from tests.rig.server import Reply, TranscriptionServer
from tests.rig.sound import VirtualMic

pytestmark = pytest.mark.rig

PHRASE = "please write this down for me"


@pytest.fixture
def run_daemon(home: Path, vmic: VirtualMic, xdisplay: VirtualDisplay) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(*args: str) -> Daemon:
        daemon = Daemon(proc.clean_env(home, {**vmic.env, "DISPLAY": xdisplay.name}), "--no-hotkey", *args)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.run.proc.poll() is None:
            daemon.run.proc.terminate()
            try:
                daemon.run.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.run.kill()


def dictate_once(daemon: Daemon, vmic: VirtualMic, clip: Callable[[str], Path]) -> None:
    daemon.ctl("start")
    vmic.play(clip(PHRASE))
    daemon.ctl("stop")


def shown(daemon: Daemon, entry_id: int = 1) -> dict[str, object]:
    result = proc.run(["history", "show", str(entry_id), "--json"], daemon.env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_replacements_arrive_as_written(
    home: Path,
    server: TranscriptionServer,
    run_daemon: Callable[..., Daemon],
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server, extra='[text]\nreplacements = { "fast api" = "FastAPI" }\nvocabulary = ["Kubernetes"]\n')
    server.queue(Reply(body={"text": "we deploy the fast api service"}))
    daemon = run_daemon()
    dictate_once(daemon, vmic, clip)
    assert tk_window.wait_for("we deploy the FastAPI service ") == "we deploy the FastAPI service "
    assert server.uploads[0].fields["prompt"] == "Kubernetes."
    entry = shown(daemon)
    assert (entry["text"], entry["raw_text"]) == ("we deploy the FastAPI service", "we deploy the fast api service")


def test_spoken_punctuation_arrives_as_marks(
    home: Path,
    server: TranscriptionServer,
    run_daemon: Callable[..., Daemon],
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server, extra="[text]\ncommands = true\n")
    server.queue(Reply(body={"text": "hello comma world period"}))
    daemon = run_daemon()
    dictate_once(daemon, vmic, clip)
    assert tk_window.wait_for("hello, world. ") == "hello, world. "


def cleanup_config(base_url: str, timeout: float = 3) -> str:
    return f'[cleanup]\nenabled = true\nbase_url = "{base_url}"\nmodel = "rig-model"\ntimeout = {timeout}\n'


def test_with_clean_up_on_the_chat_answer_is_typed_and_both_texts_are_kept(
    home: Path,
    server: TranscriptionServer,
    run_daemon: Callable[..., Daemon],
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(home, server, extra=cleanup_config(server.base_url))
    server.queue(Reply(body={"text": "um so we deploy on friday"}))
    daemon = run_daemon()
    dictate_once(daemon, vmic, clip)
    assert tk_window.wait_for("So we deploy on friday. ") == "So we deploy on friday. "
    assert server.chat.transcripts == ["um so we deploy on friday"]
    assert server.chat.requests[0]["model"] == "rig-model"
    entry = shown(daemon)
    assert (entry["text"], entry["raw_text"]) == ("So we deploy on friday.", "um so we deploy on friday")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("failure", "transcript", "said"),
    [
        (ChatReply(status=500), "um we deploy on friday", "HTTP 500 from 127.0.0.1"),
        (ChatReply(delay=5), "um we deploy on friday", "no complete answer from 127.0.0.1"),
        (ChatReply(trickle=0.05), "um we deploy on friday", "sent its answer too slowly"),
        (ChatReply(content="The capital of France is Paris."), "What is the capital of France?", "an answer"),
        (None, "um we deploy on friday", "connection refused"),  # the endpoint is down
    ],
    ids=["500", "timeout", "trickle", "answer", "down"],
)
def test_when_the_clean_up_fails_the_transcript_is_typed(
    home: Path,
    server: TranscriptionServer,
    run_daemon: Callable[..., Daemon],
    tk_window: TkTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
    failure: ChatReply | None,
    transcript: str,
    said: str,
) -> None:
    chat_url = server.base_url if failure is not None else f"http://127.0.0.1:{_closed_port()}/v1"
    configure(home, server, extra=cleanup_config(chat_url, timeout=1))
    if failure is not None:
        server.chat.queue(failure)
    server.queue(Reply(body={"text": transcript}))
    daemon = run_daemon()
    dictate_once(daemon, vmic, clip)
    assert tk_window.wait_for(transcript + " ") == transcript + " "
    code, out, err = daemon.stop()
    assert code == 0 and out == ""
    lines = [line for line in err.splitlines() if "no clean-up" in line]
    assert len(lines) == 1 and said in lines[0], err
    entry = shown(daemon)
    assert (entry["status"], entry["text"], entry["raw_text"]) == ("delivered", transcript, None)


def test_a_profile_makes_the_same_dictation_arrive_differently_in_xterm(
    home: Path,
    server: TranscriptionServer,
    run_daemon: Callable[..., Daemon],
    xdisplay: VirtualDisplay,
    tk_window: TkTarget,
    xterm_window: XtermTarget,
    vmic: VirtualMic,
    clip: Callable[[str], Path],
) -> None:
    configure(
        home,
        server,
        output="type",
        extra="[text]\ncommands = true\n"
        '[[profile]]\nmatch = "^xterm$"\noutput = { method = "paste" }\n'
        'text = { replacements = { "world" = "terminal" } }\n',
    )
    config = home / ".config/dictate/config.toml"
    config.write_text(config.read_text().replace("[output]\n", "[output]\nallow_newlines = true\n"))
    said = "hello comma world new line"
    server.queue(Reply(body={"text": said}), Reply(body={"text": said}))
    daemon = run_daemon("-v")
    tk_window.activate()
    dictate_once(daemon, vmic, clip)
    assert tk_window.wait_for("hello, world\n") == "hello, world\n"  # typed, with Enter for "new line"
    xterm_window.activate()
    dictate_once(daemon, vmic, clip)
    expected = b"hello, terminal new line "  # pasted; no newline command, and never Enter in a terminal
    assert xterm_window.wait_for(expected) == expected
    assert b"\r" not in xterm_window.received()
    code, _, err = daemon.stop()
    assert code == 0, err
    assert "focused window tk / Tk: the [[profile]] does not match" in err
    reason = next(line for line in err.splitlines() if "focused window xterm / XTerm" in line)
    assert "a terminal" in reason and '[[profile]] 1 (match "^xterm$") sets output.method = "paste"' in reason
    assert "another output for a profile: paste (X11)" in err
