"""Claims: one process sends a dictation at a time; a claim lives exactly as long as its sender."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta

import pytest

from dictate.store import History
from dictate.store.entries import iso, now
from tests.rig import proc
from tests.store.conftest import raw_db, wav_bytes

# A sender: spools a dictation (which claims it), says its ID, then keeps sending until told to stop.
SENDER = textwrap.dedent(
    """
    import sys
    from dictate.store import History

    h = History.open()
    entry = h.spool(bytes.fromhex(sys.argv[1]), source="run")
    print(entry.id, flush=True)
    sys.stdin.readline()
    """
)


@pytest.fixture
def sender() -> Iterator[tuple[subprocess.Popen[str], int]]:
    with History.open():
        pass  # the database exists before the child opens it
    child = subprocess.Popen(
        [sys.executable, "-c", SENDER, wav_bytes().hex()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=proc.ROOT,
    )
    try:
        assert child.stdout is not None
        yield child, int(child.stdout.readline())
    finally:
        child.kill()
        child.wait()


def test_a_claim_never_expires_while_its_sender_is_alive(sender: tuple[subprocess.Popen[str], int]) -> None:
    child, entry_id = sender
    # Long past any time limit (the first design let a claim lapse after 600 s, and sent twice).
    long_ago = iso(now() - timedelta(hours=2))
    raw_db().execute(
        "UPDATE dictations SET claimed_pid = ?, claimed_at = ? WHERE id = ?", (child.pid, long_ago, entry_id)
    )
    with History.open() as h:
        assert not h.claim(entry_id)
        child.send_signal(signal.SIGKILL)  # the sender dies mid-send, without a word
        child.wait()
        assert h.claim(entry_id)  # the kernel dropped its lock: the dictation is free at once
        with History.open() as other:
            assert not other.claim(entry_id)  # one holder at a time, within one process too


def test_a_reused_pid_does_not_keep_a_dead_senders_claim(sender: tuple[subprocess.Popen[str], int]) -> None:
    child, entry_id = sender
    child.send_signal(signal.SIGKILL)
    child.wait()
    # Another process now has the dead sender's pid (here: this one, alive), and the claim is fresh.
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as other:
        try:
            db = raw_db()
            db.execute(
                "UPDATE dictations SET claimed_pid = ?, claimed_at = ? WHERE id = ?", (other.pid, iso(now()), entry_id)
            )
            with History.open() as h:
                assert h.claim(entry_id)
        finally:
            other.kill()


def test_claims_follow_the_dictation_through_its_steps() -> None:
    with History.open() as history, History.open() as other:
        spooled = history.spool(wav_bytes(), source="run")
        assert history.claim(spooled.id)  # the spooling History holds it already
        assert not other.claim(spooled.id)
        history.mark_failed(spooled.id, "HTTP 503")
        history.release(spooled.id)
        assert other.claim(spooled.id)  # let go: another may send it
        assert not history.claim(spooled.id)
        other.mark_done(spooled.id, "text")
        other.release(spooled.id)
        assert not history.claim(spooled.id)  # done with its text kept: nothing left to send
        other.mark_delivered(spooled.id)
        assert not other.claim(spooled.id)
