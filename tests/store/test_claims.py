"""Claims: one process sends a dictation at a time; a dead process's claim lapses."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from dictate.store import History
from dictate.store.claims import CLAIM_SECONDS
from dictate.store.entries import iso, now


def test_claims_keep_one_sender_per_dictation(tmp_path: Path) -> None:
    with History.open(folder=tmp_path) as history:
        entry = history.spool(b"RIFF-not-really-audio", source="run")
        assert history.claim(entry.id)  # the spooling process holds it already
        # Another live process holds it: this one may not take it.
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            history._db.connection.execute(
                "UPDATE dictations SET claimed_pid = ? WHERE id = ?", (sleeper.pid, entry.id)
            )
            assert not history.claim(entry.id)
        finally:
            sleeper.kill()
            sleeper.wait()
        # That process died (killed mid-upload): its claim lapses.
        assert history.claim(entry.id)
        history.mark_failed(entry.id, "HTTP 503")
        assert history.claim(entry.id)
        history.release(entry.id)
        history.mark_done(entry.id, "text")
        assert not history.claim(entry.id)  # done with its text kept: nothing left to send


def test_a_claim_lapses_after_claim_seconds_and_only_its_owner_releases_it(tmp_path: Path) -> None:
    with History.open(folder=tmp_path) as history:
        entry = history.spool(b"RIFF-not-really-audio", source="run")
        db = history._db.connection
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            stale = iso(now() - timedelta(seconds=CLAIM_SECONDS + 5))
            db.execute(
                "UPDATE dictations SET claimed_pid = ?, claimed_at = ? WHERE id = ?", (sleeper.pid, stale, entry.id)
            )
            history.release(entry.id)  # not this process's claim: it stays
            assert db.execute("SELECT claimed_pid FROM dictations").fetchone()[0] == sleeper.pid
            assert history.claim(entry.id)  # alive, but held too long
            assert db.execute("SELECT claimed_pid FROM dictations").fetchone()[0] == os.getpid()
        finally:
            sleeper.kill()
            sleeper.wait()
        history.release(entry.id)
        assert tuple(db.execute("SELECT claimed_pid, claimed_at FROM dictations").fetchone()) == (None, None)
