"""A dictation killed (SIGKILL) at every step of its spool, record and delivery: nothing is lost and
nothing is delivered twice. A real process dictates against the local server and is killed at a chosen
point; then the real `dictate retry --all` sends whatever was in flight, once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dictate.store import History
from tests.conftest import write_config
from tests.rig import proc
from tests.rig.server import Reply, TranscriptionServer

WORDS = "The dictated words."

# One dictation as the daemon makes it: a part cut at a pause (4 s), then the tail (1 s) at release.
DICTATE = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from dictate.audio import Recording
    from dictate.config import from_dict
    from dictate.dictation import Pipeline
    from dictate.engines.http import NO_RETRY, HttpEngine
    from dictate.store import History, history, spool

    point, base_url = sys.argv[1], sys.argv[2]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def on_call(owner, name, number, before=True):
        real, calls = getattr(owner, name), []
        def wrapper(*args, **kwargs):
            calls.append(1)
            if before and len(calls) == number:
                die()
            result = real(*args, **kwargs)
            if not before and len(calls) == number:
                die()
            return result
        setattr(owner, name, wrapper)

    if point == "writing part 1":
        on_call(os, "replace", 1)
    elif point == "part 1 written, no row yet":
        on_call(spool, "fsync_dir", 1, before=False)
    elif point == "row written":
        on_call(History, "spool", 1, before=False)
    elif point == "writing the tail":
        on_call(os, "replace", 2)
    elif point == "answered":
        on_call(History, "mark_done", 1)
    elif point == "text recorded":
        on_call(History, "mark_done", 1, before=False)
    elif point == "delivery recorded":
        on_call(History, "mark_delivered", 1, before=False)
    elif point == "deleting the audio":
        on_call(spool, "unlink", 1, before=False)

    def write(text):
        print(text, flush=True)
        if point == "text delivered":
            die()

    def speech(seconds, freq):
        t = np.arange(int(seconds * 16000)) / 16000
        return Recording((np.sin(2 * np.pi * freq * t) * 9000).astype(np.int16), 16000)

    cfg = from_dict({"api": {"base_url": base_url}})
    pipeline = Pipeline(cfg, HttpEngine(cfg.api, None, retry=NO_RETRY), History.open())
    dictation = pipeline.start(source="run")
    dictation.add(speech(4.0, 300))
    result = dictation.finish(speech(1.0, 500))
    pipeline.deliver(result, write)
    print("finished", flush=True)
    """
)

# point -> what the retry sends (seconds of audio), deliveries in all, the entry's status after, its
# audio files left. A text recorded before it went out is never sent or typed again: killed between
# the two, it waits in the history (done) with its audio, `dictate history show` has it.
POINTS = {
    "writing part 1": (None, 0, None, 0),  # never on disk: the process died with it (and nothing was sent)
    "part 1 written, no row yet": (4.0, 1, "delivered", 0),
    "row written": (4.0, 1, "delivered", 0),
    "in flight": (5.0, 1, "delivered", 0),
    "writing the tail": (4.0, 1, "delivered", 0),  # the tail's upload was out; its audio never reached the disk
    "answered": (5.0, 1, "delivered", 0),
    "text recorded": (None, 0, "done", 2),
    "text delivered": (None, 1, "done", 2),
    "delivery recorded": (None, 1, "delivered", 0),
    "deleting the audio": (None, 1, "delivered", 0),
}


@pytest.mark.parametrize("point", list(POINTS))
def test_a_dictation_killed_at_any_step_is_delivered_once(home: Path, user_env: dict[str, str], point: str) -> None:
    with History.open():
        pass
    with TranscriptionServer(text=WORDS) as server:
        if point == "in flight":
            server.queue(Reply(delay=60), Reply(delay=60))  # both uploads held: killed while they are out
        child = subprocess.Popen(
            [sys.executable, "-c", DICTATE, point, server.base_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=proc.ROOT,
        )
        if point == "in flight":
            server.wait_for_uploads(2)
            child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=60)
        assert child.returncode == -signal.SIGKILL, err

    with TranscriptionServer(text=WORDS) as server:  # the same endpoint, after a restart
        write_config(home, f'[api]\nbase_url = "{server.base_url}"\n')
        retry = proc.run(["retry", "--all"], user_env)
        assert retry.returncode == 0, retry.stderr
        resent = [u.seconds for u in server.uploads]
        again = proc.run(["retry", "--all"], user_env)
        assert (again.returncode, again.stdout) == (0, ""), again.stderr
        assert "nothing to retry" in again.stderr
        assert len(server.uploads) == len(resent)

    # Each delivery is one line (two parts sent apart give the words twice, one resend once).
    delivered = len([line for line in out.splitlines() + retry.stdout.splitlines() if WORDS in line])
    seconds, deliveries, status, files = POINTS[point]
    assert resent == ([] if seconds is None else [pytest.approx(seconds, abs=0.01)])  # once, all that was on disk
    assert delivered == deliveries
    history = json.loads(proc.run(["history", "--json"], user_env).stdout)
    assert [e["status"] for e in history] == ([status] if status else [])
    assert all(WORDS in e["text"] for e in history)
    left = list((Path(user_env["XDG_DATA_HOME"]) / "dictate" / "spool").iterdir())
    assert len(left) == files  # audio stays only until its text is delivered
