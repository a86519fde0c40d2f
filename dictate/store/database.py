"""The SQLite connection to history.db: opened migrated and in WAL mode, used in transactions.

One connection per History, shared by its threads under one lock. Write transactions take SQLite's
write lock at once (BEGIN IMMEDIATE), so they queue behind other dictate processes' writes for up to
BUSY_TIMEOUT seconds instead of failing half-way.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from dictate.store.entries import HistoryError
from dictate.store.migrations import migrate

BUSY_TIMEOUT = 10.0  # seconds to wait for another dictate process's write transaction


class Database:
    """An open history.db. Open with `Database.open()`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path) -> Database:
        """Connect to the database file at `path` (created by the caller, 0600) and migrate it."""
        connection: sqlite3.Connection | None = None
        try:
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode = WAL")  # readers (dictate history) never block the daemon
            connection.execute("PRAGMA synchronous = FULL")  # a committed row survives a power cut
            connection.create_function("dictate_fold", 1, _fold, deterministic=True)
            migrate(connection)
        except sqlite3.Error as exc:
            if connection is not None:
                connection.close()
            raise HistoryError(
                f"history database {path} cannot be used ({exc}); move it aside to start a new one"
            ) from None
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{path}{suffix}", 0o600)
        return cls(connection, path)

    def close(self) -> None:
        with self._lock:
            self.connection.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding SQLite's write lock (shared by every dictate process)."""
        with self._lock:
            try:
                self.connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise HistoryError(f"history database {self.path}: {exc}") from None
            try:
                yield self.connection
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            try:
                self.connection.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.connection.execute("ROLLBACK")
                raise HistoryError(f"history database {self.path}: {exc}") from None

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for queries outside a transaction; SQLite errors become HistoryError."""
        with self._lock:
            try:
                yield self.connection
            except sqlite3.Error as exc:
                raise HistoryError(f"history database {self.path}: {exc}") from None


def _fold(text: str | None) -> str | None:
    """dictate_fold() in SQL: SQLite's own lower() and LIKE fold ASCII only; search should match "Über" with "über"."""
    return None if text is None else text.casefold()
