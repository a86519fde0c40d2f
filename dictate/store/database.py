"""The SQLite connection to history.db: opened migrated and in WAL mode (or read-only), used in transactions.

One connection per History, shared by its threads under one lock. Write transactions take SQLite's
write lock at once (BEGIN IMMEDIATE), so they queue behind other dictate processes' writes for up to
BUSY_TIMEOUT seconds instead of failing half-way. Every sqlite3 error, wherever it is raised (on
open, in a query, in a transaction's body, on commit), leaves as one HistoryError line that says
what to do (`problem`).

A database that cannot be written (a read-only folder or file) is opened read-only; so is one
written by a newer dictate (a migration this version does not know): an older program never writes
a newer schema. Then `writable` is False and `problem` says why.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from dictate.store.entries import COLUMNS, SELECT, HistoryError
from dictate.store.migrations import MIGRATIONS, migrate

log = logging.getLogger(__name__)

BUSY_TIMEOUT = 10.0  # seconds to wait for another dictate process's write transaction
# While opening: a database locked longer than this is taken as locked by another program, so the
# recording starts at once and the spool keeps it unindexed (dictate's own transactions take ms).
OPEN_TIMEOUT = 2.0
FULL_BELOW = 1 << 20  # bytes free under which SQLite's "disk I/O error" is taken for a full disk


class DiskFull(HistoryError):
    """The database cannot be written because its disk is full."""


def problem(path: Path, exc: BaseException) -> HistoryError:
    """The one line for a database that failed with `exc`, saying what to do."""
    detail = str(exc) or type(exc).__name__
    if "full" in detail or ("I/O error" in detail and _free(path) < FULL_BELOW):
        return DiskFull(f"history database {path} cannot be written: its disk is full ({detail}); free some space")
    if "locked" in detail or "busy" in detail:
        return HistoryError(
            f"history database {path} is locked by another program ({detail}); try again once it is done"
        )
    if "readonly" in detail or "read-only" in detail:
        return HistoryError(f"history database {path} cannot be written ({detail}); make its folder writable")
    return HistoryError(
        f"history database {path} cannot be used ({detail}); move it aside (rename it, e.g. to "
        f"{path.name}.broken): the recordings in the spool are indexed again on the next start"
    )


def open_index(path: Path) -> tuple[Database | None, HistoryError | None]:
    """The database at `path` for reading and writing; when it cannot be written, for reading what it
    can (None when not even that); and why it cannot be written."""
    try:
        db = Database.open(path)
    except HistoryError as exc:
        return read_only(path, exc), exc
    return db, db.read_only


def read_only(path: Path, why: HistoryError) -> Database | None:
    """The database at `path` for reading only, or None when there is none that can be read."""
    if not path.is_file():
        return None
    try:
        return Database.open_read_only(path, why)
    except HistoryError as exc:
        log.debug("history database not readable either: %s", exc.message)
        return None


class Database:
    """An open history.db. Open with `Database.open()` (read and write) or `Database.open_read_only()`."""

    def __init__(self, connection: sqlite3.Connection, path: Path, *, read_only: HistoryError | None = None) -> None:
        self.connection = connection
        self.path = path
        self.read_only = read_only  # why it is only read; None when it is written too
        self._lock = threading.RLock()

    @property
    def writable(self) -> bool:
        return self.read_only is None

    @classmethod
    def open(cls, path: Path) -> Database:
        """Connect to the database file at `path` (created by the caller, 0600) and migrate it.

        A database of a newer dictate is opened without migrating, read-only. HistoryError when it
        cannot be used.
        """
        connection: sqlite3.Connection | None = None
        try:
            connection = sqlite3.connect(path, timeout=OPEN_TIMEOUT, isolation_level=None, check_same_thread=False)
            _prepare(connection)
            connection.execute("PRAGMA journal_mode = WAL")  # readers (dictate history) never block the daemon
            connection.execute("PRAGMA synchronous = FULL")  # a committed row survives a power cut
            newer = _newer_migration(connection)
            if newer is None:
                migrate(connection)
            _check_schema(connection)
        except sqlite3.Error as exc:
            if connection is not None:
                connection.close()
            raise problem(path, exc) from None
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.chmod(f"{path}{suffix}", 0o600)
        read_only = None
        if newer is not None:
            read_only = HistoryError(
                f"history database {path} was written by a newer dictate (its migration {newer} is unknown here); "
                "it is only read: update dictate"
            )
        return cls(connection, path, read_only=read_only)

    @classmethod
    def open_read_only(cls, path: Path, why: HistoryError) -> Database:
        """Connect for reading only, writing nothing (not even SQLite's -shm file when the folder
        refuses it). HistoryError when it cannot be read."""
        uri = f"file:{quote(str(path))}?mode=ro"
        last: sqlite3.Error | None = None
        wal = Path(f"{path}-wal")
        # immutable: no -shm needed, for a folder nobody may write; only while no WAL holds newer pages
        tries = ("", "&immutable=1") if not wal.exists() or wal.stat().st_size == 0 else ("",)
        for extra in tries:
            connection: sqlite3.Connection | None = None
            try:
                connection = sqlite3.connect(
                    uri + extra, uri=True, timeout=OPEN_TIMEOUT, isolation_level=None, check_same_thread=False
                )
                _prepare(connection)
                _columns_it_lacks_as_null(connection)
                _check_schema(connection)
            except sqlite3.Error as exc:
                if connection is not None:
                    connection.close()
                last = exc
                continue
            return cls(connection, path, read_only=why)
        assert last is not None
        raise problem(path, last) from None

    def opened(self) -> None:
        """Opening is over: from now on wait BUSY_TIMEOUT for other dictate processes' writes."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self.connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")

    def close(self) -> None:
        with self._lock:
            self.connection.close()

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction holding SQLite's write lock (shared by every dictate process).

        `durable=False` commits without waiting for the disk: the change survives the process being
        killed (it is in the OS's cache), not a power cut, until the next durable commit.
        """
        if self.read_only is not None:
            raise self.read_only
        with self._lock:
            try:
                if not durable:
                    self.connection.execute("PRAGMA synchronous = NORMAL")
                self.connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self._restore(durable)
                raise problem(self.path, exc) from None
            try:
                yield self.connection
                self.connection.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise problem(self.path, exc) from None
            except BaseException:
                self._rollback()
                raise
            finally:
                self._restore(durable)

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for queries outside a transaction; SQLite errors become HistoryError."""
        with self._lock:
            try:
                yield self.connection
            except sqlite3.Error as exc:
                raise problem(self.path, exc) from None

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.connection.execute("ROLLBACK")

    def _restore(self, durable: bool) -> None:
        if not durable:
            with contextlib.suppress(sqlite3.Error):
                self.connection.execute("PRAGMA synchronous = FULL")


def _free(path: Path) -> int:
    try:
        info = os.statvfs(path.parent)
    except (OSError, AttributeError):
        return FULL_BELOW
    return info.f_bavail * info.f_frsize


def _prepare(connection: sqlite3.Connection) -> None:
    connection.row_factory = sqlite3.Row
    connection.create_function("dictate_fold", 1, _fold, deterministic=True)


def _newer_migration(connection: sqlite3.Connection) -> str | None:
    """The first migration recorded in the database that this version does not know, if any."""
    known = {m.__name__ for m in MIGRATIONS}
    exists = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'")
    if exists.fetchone() is None:
        return None
    for row in connection.execute("SELECT name FROM _migrations ORDER BY rowid"):
        if row[0] not in known:
            return str(row[0])
    return None


def _columns_it_lacks_as_null(connection: sqlite3.Connection) -> None:
    """A database of an older dictate, only read (it cannot be migrated): the columns later migrations
    add read as NULL, through a view in the connection's own temporary schema, which SQLite looks in
    first and which writes nothing to the file."""
    if not _older(connection):
        return  # a column missing from a database of this version is damage: _check_schema says so
    have = {row[1] for row in connection.execute("PRAGMA main.table_info(dictations)")}
    missing = [column for column in COLUMNS if column not in have]
    if have and missing:
        added = ", ".join(f"NULL AS {column}" for column in missing)  # names from the code
        connection.execute(f"CREATE TEMP VIEW dictations AS SELECT *, {added} FROM main.dictations")  # noqa: S608


def _older(connection: sqlite3.Connection) -> bool:
    """Whether the database is of an older dictate: some of our migrations, and none we do not know."""
    exists = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'")
    if exists.fetchone() is None:
        return False
    done = {row[0] for row in connection.execute("SELECT name FROM _migrations")}
    known = {m.__name__ for m in MIGRATIONS}
    return bool(done) and done < known


def _check_schema(connection: sqlite3.Connection) -> None:
    """Every column the store reads is there (a table dropped by hand fails here, not mid-dictation)."""
    connection.execute(SELECT + " LIMIT 0").fetchall()


def _fold(text: str | None) -> str | None:
    """dictate_fold() in SQL: SQLite's own lower() and LIKE fold ASCII only; search should match "Über" with "über"."""
    return None if text is None else text.casefold()
