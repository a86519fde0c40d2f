"""The status steps as SQL, each inside the caller's write transaction and allowed only where the
status machine (entries.py) allows it.

    step      to failed or done: the attempts counted, each value given set, the others kept
    finish    to delivered or discarded: the audio marked removed unless kept, or with the history
              off the row deleted together with its audio
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

from dictate.store import recordings
from dictate.store.entries import Entry, EntryStateError, iso, load, now, parse_time


def require(db: sqlite3.Connection, spool_dir: Path, entry_id: int | str, status: str, verb: str) -> Entry:
    """The dictation, when the status machine lets it become `status`; EntryStateError else."""
    entry = load(db, spool_dir, entry_id)
    if not entry.can_become(status):
        raise EntryStateError(f"dictation {entry.id} is {entry.status} and cannot be {verb}")
    return entry


def step(
    db: sqlite3.Connection, spool_dir: Path, entry_id: int | str, status: str, attempts: int, **values: Any
) -> Entry:
    """Move a pending dictation to failed or done; a value None keeps what the row has."""
    entry = require(db, spool_dir, entry_id, status, f"marked {status}")
    sets = "".join(f", {column} = coalesce(?, {column})" for column in values)  # names from the code, not input
    db.execute(
        f"UPDATE dictations SET status = ?, attempts = attempts + ?, updated = ?{sets} WHERE id = ?",  # noqa: S608
        (status, attempts, iso(now()), *values.values(), entry.id),
    )
    return load(db, spool_dir, entry.id)


def finish(
    db: sqlite3.Connection,
    spool_dir: Path,
    entry_id: int | str,
    status: str,
    verb: str,
    *,
    keep_rows: bool,
    keep_audio: bool,
    error: str | None = None,
    release_to_delivery_ms: int | None = None,
) -> tuple[Entry, Entry, list[Path]]:
    """Move a dictation to delivered or discarded. Return it before and after, and the files to
    delete once the transaction is committed."""
    entry = require(db, spool_dir, entry_id, status, verb)
    moment = parse_time(iso(now()))  # the stored precision, so both branches agree
    if not keep_rows:
        # The row only guarded the audio. The audio goes first: a crash before the commit leaves a
        # row whose audio is missing (tidied on the next open), never audio that would come back as
        # a new recording.
        recordings.remove(list(entry.audio_parts))
        db.execute("DELETE FROM dictations WHERE id = ?", (entry.id,))
        final = dataclasses.replace(
            entry,
            status=status,
            updated=moment,
            audio_path=None,
            audio_parts=(),
            error=error or entry.error,
            release_to_delivery_ms=release_to_delivery_ms,
        )
        return entry, final, []
    # Marked removed even while its audio is away, so a file that comes back later is deleted then.
    drop = entry.key is not None and not keep_audio
    db.execute(
        "UPDATE dictations SET status = ?, updated = ?, error = coalesce(?, error),"
        " release_to_delivery_ms = coalesce(?, release_to_delivery_ms),"
        " audio_removed = CASE WHEN ? THEN ? ELSE audio_removed END WHERE id = ?",
        (status, iso(moment), error, release_to_delivery_ms, drop, iso(moment), entry.id),
    )
    return entry, load(db, spool_dir, entry.id), list(entry.audio_parts) if drop else []
