"""The recovery scan: rebuild the index from the spool after a crash (the spool is the truth).

`History.open()` runs it inside a write transaction. A file that a live process is writing or
sending is locked (spool.py, claims.py) and left alone; everything else is what a dead process left:

    killed while writing a part         a temp file: deleted
    killed after part 1, before its row (or the history database could not be used then)
                                        a dictation with no row: it gets a `queued` row (source
                                        "recovered") made of all its parts in order, so
                                        `dictate retry` sends it
    killed after the row                the row and its parts: nothing to do; `dictate retry`
                                        sends what the parts hold
    killed between a removal's commit and the deletion of the files
                                        files whose row says they were removed: deleted
    killed while removing the files of a dictation with no row (part 1 goes first)
                                        parts without part 1: deleted
    audio gone (deleted by hand)        the row's audio is marked removed; if its text was never
                                        obtained it is discarded (or, with the history off, deleted)
"""

from __future__ import annotations

import logging
import os
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
    rows = {}
    for row in db.execute(SELECT + " WHERE audio_name IS NOT NULL"):
        key = spool.key_of(row["audio_name"])
        if key is not None:
            rows[key] = row
    try:
        found = spool.scan(spool_dir)
    except OSError as exc:
        raise HistoryError(f"cannot read {spool_dir}: {exc.strerror or exc}") from None
    for path in found.leftovers:
        _remove_if_free([path], path)
    adopted: list[Entry] = []
    for key, files in found.dictations.items():
        row = rows.get(key)
        if row is not None:
            if row["audio_removed"] is not None:
                _remove(files)  # the removal was committed; its process died before deleting
            continue
        fd = spool.try_lock(files[0])
        if fd is None:
            continue  # a live process is spooling or sending it: it indexes it, or leaves it for the next scan
        try:
            if spool.part_number(files[0]) != 1:
                _remove(files)  # part 1 goes first when a dictation is removed: a removal that died
            else:
                adopted.append(_adopt(db, spool_dir, key, files))
        finally:
            os.close(fd)
    stamp = iso(now())
    for key, row in rows.items():
        if row["audio_removed"] is not None or key in found.dictations:
            continue
        entry = from_row(row, spool_dir)
        name = row["audio_name"]
        if entry.pending and not history_on:
            db.execute("DELETE FROM dictations WHERE id = ?", (entry.id,))
        elif entry.pending:
            db.execute(
                "UPDATE dictations SET status = ?, error = ?, audio_removed = ?, updated = ? WHERE id = ?",
                (DISCARDED, f"audio {name} is missing from the spool", stamp, stamp, entry.id),
            )
        else:
            db.execute("UPDATE dictations SET audio_removed = ? WHERE id = ?", (stamp, entry.id))
        if entry.pending:
            log.warning("dictation %d: its audio %s is missing from %s; dropped", entry.id, name, spool_dir)
    return adopted


def _adopt(db: sqlite3.Connection, spool_dir: Path, key: str, files: list[Path]) -> Entry:
    """Give a recording whose row was never committed a `queued` row of its own."""
    name = key if spool.is_part(files[0]) else files[0].name
    cursor = db.execute(
        "INSERT INTO dictations (created, updated, source, status, duration, audio_name) VALUES (?, ?, ?, ?, ?, ?)",
        (iso(spool.spooled_at(files[0])), iso(now()), RECOVERED_SOURCE, QUEUED, spool.audio_seconds(files), name),
    )
    assert cursor.lastrowid is not None
    return load(db, spool_dir, cursor.lastrowid)


def _remove_if_free(files: list[Path], lock: Path) -> None:
    fd = spool.try_lock(lock)
    if fd is None:
        return  # a write in progress in a live process
    try:
        _remove(files)
    finally:
        os.close(fd)


def _remove(files: list[Path]) -> None:
    for path in files:
        log.debug("removing %s", path)
        spool.unlink(path)
