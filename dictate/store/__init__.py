"""The store: the dictation history (SQLite) and the durable audio spool, so that no dictation is lost.

Modules, each with one job:

    history      the History object: spool a recording, record each status step, queries
    entries      one dictation: statuses and their rules (Python, SQL derived), the row, errors
    database     the SQLite connection: open, migrate, transactions
    migrations   the schema as an append-only list of migrations
    spool        the files: private folders, durable writes, growing a WAV, scanning the folder
    recovery     the scan on open that reconciles files and rows after a crash
    retention    deleting finished dictations past [history] max_days / max_entries
    claims       one sending process per dictation

Public names: History, Entry, HistoryError, UnknownEntry, EntryStateError, parse_id, endpoint_host,
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
    "UnknownEntry",
    "endpoint_host",
    "migrate",
    "parse_id",
]
