"""The store: the dictation history (SQLite) and the durable audio spool, so that no dictation is lost.

Modules, each with one job:

    history      the History object: spool a recording in parts, record each status step, queries
    entries      one dictation: statuses and their rules (Python, SQL derived), the row, errors
    database     the SQLite connection: open (or read-only), migrate, transactions, one-line errors
    migrations   the schema as an append-only list of migrations
    recordings   a dictation's audio as its sender holds it (Spooled): written in parts, read back whole
    spool        the files: names, private folders, durable writes under a lock, scanning the folder
    recovery     the scan on open that rebuilds rows from the spool after a crash
    retention    deleting finished dictations past [history] max_days / max_entries
    claims       one sending process per dictation, as a lock that lives as long as the process

The spool is the truth and the database its index: a database that cannot be used never costs audio.

Public names: History, Spooled, Entry, HistoryError, UnknownEntry, EntryStateError, parse_id, endpoint_host,
the statuses QUEUED, FAILED, DONE, DELIVERED, DISCARDED and STATUSES, RECOVERED_SOURCE, MIGRATIONS and
migrate.
"""

from __future__ import annotations

from dictate.store.entries import (
    DELIVERED,
    DISCARDED,
    DONE,
    FAILED,
    QUEUED,
    RECOVERED_SOURCE,
    STATUSES,
    Entry,
    EntryStateError,
    HistoryError,
    UnknownEntry,
    endpoint_host,
    parse_id,
)
from dictate.store.history import History
from dictate.store.migrations import MIGRATIONS, migrate
from dictate.store.recordings import Spooled

__all__ = [
    "DELIVERED",
    "DISCARDED",
    "DONE",
    "FAILED",
    "MIGRATIONS",
    "QUEUED",
    "RECOVERED_SOURCE",
    "STATUSES",
    "Entry",
    "EntryStateError",
    "History",
    "HistoryError",
    "Spooled",
    "UnknownEntry",
    "endpoint_host",
    "migrate",
    "parse_id",
]
