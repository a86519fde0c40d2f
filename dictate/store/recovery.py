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

A row whose audio the spool does not hold is left as it is: the audio may be away for a while (moved
out by hand, a sync tool, a stat error), and when it comes back it is that row's again, pending as
before (`Entry.audio_missing` says so meanwhile). Only a dictation's own removal (a delivery or a
discard, committed) lets a scan delete its files; a viewing command never gives a recording up. A
row an older version gave up that way is made pending again when its audio comes back.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from pathlib import Path

from dictate.store import spool
from dictate.store.entries import (
    DISCARDED,
    FAILED,
    QUEUED,
    RECOVERED_SOURCE,
    SELECT,
    Entry,
    HistoryError,
    iso,
    load,
    now,
)

log = logging.getLogger(__name__)

# What older versions wrote when a scan did not see a row's audio and gave the dictation up.
MARKED_MISSING = re.compile(r"audio \S+ is missing from the spool")


def recover(db: sqlite3.Connection, spool_dir: Path) -> list[Entry]:
    """Reconcile the spool with the rows, inside the caller's write transaction; return the adopted recordings."""
    rows = {}
    for row in db.execute(SELECT + " WHERE audio_name IS NOT NULL"):
        key = spool.key_of(row["audio_name"])
        if key is not None:
            rows[key] = row
    try:
        found = spool.read(spool_dir)
    except OSError as exc:
        raise HistoryError(f"cannot read {spool_dir}: {exc.strerror or exc}") from None
    for path in found.leftovers:
        _remove_if_free([path], path)
    adopted: list[Entry] = []
    for key, files in found.dictations.items():
        row = rows.get(key)
        if row is not None:
            if marked_missing(row["status"], row["error"]):
                _restore(db, row["id"])
            elif row["audio_removed"] is not None:
                _remove(files)  # the removal was committed; its process died before deleting
            continue
        if not all(spool.is_regular(path) for path in files):
            log.debug("left alone for now: %s (not all regular files, or a stat failed)", files)
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
    return adopted


def marked_missing(status: str, error: str | None) -> bool:
    """The row was given up by an older dictate only because its audio was away at a scan."""
    return status == DISCARDED and bool(error and MARKED_MISSING.fullmatch(error))


def _restore(db: sqlite3.Connection, entry_id: int) -> None:
    """Make a row given up for audio that was away pending again, now that its audio is back."""
    db.execute(
        "UPDATE dictations SET status = ?, error = ?, audio_removed = NULL, updated = ? WHERE id = ?",
        (FAILED, "its audio was away from the spool for a while", iso(now()), entry_id),
    )
    log.warning("dictation %d: its audio is back in the spool; `dictate retry %d` sends it", entry_id, entry_id)


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
        try:
            spool.unlink(path)
        except OSError as exc:  # a folder under a spool name, a stat error: tried again on the next open
            log.debug("cannot remove %s: %s", path, exc)
