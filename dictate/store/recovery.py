"""The recovery scan: reconcile the spool's files with the database's rows after a crash.

`History.open()` runs it inside a write transaction, and every spool writer holds that same lock
from before its audio write until its row is committed, so the scan never sees a spool in
progress: what it finds is what a dead process left behind.

    crash before the rename             a temp file: no row, and the scan deletes it
    crash after the rename, before the commit
                                        an audio file with no row: the scan gives it a `queued` row
                                        (source "recovered"), so `pending()` lists it
    crash after the commit              the row and its audio file: nothing to do
    crash between a removal's commit and its unlink
                                        a file whose row says it was removed: the scan deletes it
    audio file gone (deleted by hand)   the row's audio is marked removed; if its text was never
                                        obtained it is discarded (or, with the history off, deleted)
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from dictate.store import spool
from dictate.store.entries import (
    DISCARDED,
    QUEUED,
    RECOVERED_SOURCE,
    SELECT,
    Entry,
    HistoryError,
    from_row,
    iso,
    load,
    now,
)

log = logging.getLogger(__name__)


def recover(db: sqlite3.Connection, spool_dir: Path, *, history_on: bool) -> list[Entry]:
    """Reconcile the spool with the rows, inside the caller's write transaction; return the adopted recordings."""
    rows = {row["audio_name"]: row for row in db.execute(SELECT + " WHERE audio_name IS NOT NULL")}
    try:
        found = spool.scan(spool_dir)
    except OSError as exc:
        raise HistoryError(f"cannot read {spool_dir}: {exc.strerror or exc}") from None
    for path in found.leftovers:
        log.debug("removing half-written %s", path)
        spool.unlink(path)
    adopted: list[Entry] = []
    for path in found.audio:
        row = rows.get(path.name)
        if row is None:
            adopted.append(_adopt(db, spool_dir, path))
        elif row["audio_removed"] is not None:
            spool.unlink(path)
    stamp = iso(now())
    for name, row in rows.items():
        if row["audio_removed"] is not None or (spool_dir / name).exists():
            continue
        entry = from_row(row, spool_dir)
        if entry.pending and not history_on:
            db.execute("DELETE FROM dictations WHERE id = ?", (entry.id,))
        elif entry.pending:
            db.execute(
                "UPDATE dictations SET status = ?, error = ?, audio_removed = ?, updated = ? WHERE id = ?",
                (DISCARDED, f"audio file {name} is missing from the spool", stamp, stamp, entry.id),
            )
        else:
            db.execute("UPDATE dictations SET audio_removed = ? WHERE id = ?", (stamp, entry.id))
        if entry.pending:
            log.warning("dictation %d: its audio %s is missing from %s; dropped", entry.id, name, spool_dir)
    return adopted


def _adopt(db: sqlite3.Connection, spool_dir: Path, path: Path) -> Entry:
    """Give a recording whose row was never committed a `queued` row of its own."""
    cursor = db.execute(
        "INSERT INTO dictations (created, updated, source, status, duration, audio_name) VALUES (?, ?, ?, ?, ?, ?)",
        (iso(spool.spooled_at(path)), iso(now()), RECOVERED_SOURCE, QUEUED, spool.wav_seconds(path), path.name),
    )
    assert cursor.lastrowid is not None
    return load(db, spool_dir, cursor.lastrowid)
