"""Retention: delete delivered and discarded dictations (and their kept audio) past the configured limits.

A row goes when it is older than [history] max_days, or not among the newest [history] max_entries
delivered/discarded rows (0 = no such limit). Queued, failed and done rows are never deleted here.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from dictate.store import spool
from dictate.store.entries import FINISHED_SQL, SELECT, from_row, iso, now

# FINISHED_SQL is made of constants, never of input.
_NEWEST_FINISHED = f"SELECT id FROM dictations WHERE {FINISHED_SQL} ORDER BY created DESC, id DESC LIMIT ?"  # noqa: S608


def prune(db: sqlite3.Connection, spool_dir: Path, *, max_days: int, max_entries: int) -> int:
    """Delete the finished rows past the limits, inside the caller's write transaction; return how many."""
    deleted = 0
    if max_days:
        cutoff = iso(now() - timedelta(days=max_days))
        deleted += _delete(db, spool_dir, SELECT + " WHERE " + FINISHED_SQL + " AND created < ?", cutoff)
    if max_entries:
        query = SELECT + " WHERE " + FINISHED_SQL + " AND id NOT IN (" + _NEWEST_FINISHED + ")"
        deleted += _delete(db, spool_dir, query, max_entries)
    return deleted


def _delete(db: sqlite3.Connection, spool_dir: Path, query: str, param: Any) -> int:
    rows = db.execute(query, (param,)).fetchall()
    if not rows:
        return 0
    found = spool.scan(spool_dir)  # listed once for every row
    doomed = [from_row(row, spool_dir, found) for row in rows]
    for entry in doomed:
        # Audio before rows: a crash in between leaves rows with missing audio (tidied on the
        # next open), never a kept file that would come back as a new recording.
        for path in entry.audio_parts:
            spool.unlink(path)
    db.executemany("DELETE FROM dictations WHERE id = ?", [(e.id,) for e in doomed])
    return len(doomed)
