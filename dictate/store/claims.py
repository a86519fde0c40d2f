"""Claims: which process is sending a dictation, so the daemon and `dictate retry` never both send it.

The process that spools a dictation holds its claim from the start. A claim lapses when its process
is gone (killed mid-upload) or after CLAIM_SECONDS.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta

from dictate.store.entries import Entry, iso, now, parse_time

CLAIM_SECONDS = 600.0  # longest a process may hold a dictation it is sending


def take(db: sqlite3.Connection, entry: Entry) -> bool:
    """Claim `entry` for this process, inside the caller's write transaction.

    False when its text is in hand already (nothing to send) or a live process holds a fresh claim.
    """
    if not entry.pending:
        return False
    row = db.execute("SELECT claimed_pid, claimed_at FROM dictations WHERE id = ?", (entry.id,)).fetchone()
    pid, at = row["claimed_pid"], row["claimed_at"]
    fresh = at is not None and now() - parse_time(at) < timedelta(seconds=CLAIM_SECONDS)
    if pid not in (None, os.getpid()) and fresh and _alive(pid):
        return False
    db.execute(
        "UPDATE dictations SET claimed_pid = ?, claimed_at = ? WHERE id = ?", (os.getpid(), iso(now()), entry.id)
    )
    return True


def release(db: sqlite3.Connection, entry_id: int) -> None:
    """Drop this process's claim on the dictation, if it holds one."""
    db.execute(
        "UPDATE dictations SET claimed_pid = NULL, claimed_at = NULL WHERE id = ? AND claimed_pid = ?",
        (entry_id, os.getpid()),
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
