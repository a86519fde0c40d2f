"""The schema of history.db, as an append-only list of named migrations, and `migrate` to apply them.

A migration, once released, is never edited or reordered; a change is a new one. Each is applied once
per database, inside one transaction with the record of its name in the `_migrations` table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from dictate.store.entries import iso, now

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_dictations(db: sqlite3.Connection) -> None:
    # AUTOINCREMENT: an ID the user has seen is never reused after its row is pruned.
    db.execute(
        """
        CREATE TABLE dictations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            source TEXT NOT NULL,
            status TEXT NOT NULL,
            duration REAL,
            model TEXT,
            host TEXT,
            text TEXT,
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            bytes_uploaded INTEGER,
            audio_name TEXT UNIQUE,
            audio_removed TEXT
        )
        """
    )


@migration
def m002_timings(db: sqlite3.Connection) -> None:
    for column in ("press_to_audio_ms", "release_to_request_ms", "server_ms", "release_to_delivery_ms"):
        db.execute(f"ALTER TABLE dictations ADD COLUMN {column} INTEGER")


@migration
def m003_status_index(db: sqlite3.Connection) -> None:
    db.execute("CREATE INDEX dictations_status_created ON dictations (status, created)")


@migration
def m004_claims(db: sqlite3.Connection) -> None:
    # Which process is sending a dictation right now, so the daemon and `dictate retry` never both do.
    db.execute("ALTER TABLE dictations ADD COLUMN claimed_pid INTEGER")
    db.execute("ALTER TABLE dictations ADD COLUMN claimed_at TEXT")


@migration
def m005_raw_text(db: sqlite3.Connection) -> None:
    # The transcript as the model heard it, when the text layer (replacements, commands, clean-up) changed it.
    db.execute("ALTER TABLE dictations ADD COLUMN raw_text TEXT")


def migrate(db: sqlite3.Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply the migrations this database has not had yet, in order; return their names."""
    steps = MIGRATIONS if migrations is None else migrations
    if not _missing(db, steps):
        return []  # the usual case needs no write lock, so a busy database still opens at once
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
        done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
        applied = []
        for step in steps:
            if step.__name__ in done:
                continue
            step(db)
            db.execute("INSERT INTO _migrations (name, applied) VALUES (?, ?)", (step.__name__, iso(now())))
            applied.append(step.__name__)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return applied


def _missing(db: sqlite3.Connection, steps: list[Migration]) -> bool:
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").fetchone()
    if exists is None:
        return True
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    return any(step.__name__ not in done for step in steps)
