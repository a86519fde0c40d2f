"""The SQLite connection: a broken file is one clear error; transactions are all or nothing."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import pytest

from dictate.store import History, HistoryError
from dictate.store.database import Database
from dictate.store.entries import SELECT, from_row


def count(path: Path) -> int:
    other = sqlite3.connect(path)
    try:
        return int(other.execute("SELECT count(*) FROM dictations").fetchone()[0])
    finally:
        other.close()


INSERT = "INSERT INTO dictations (created, updated, source, status) VALUES ('t', 't', 'run', 'queued')"


def test_a_file_that_is_not_a_database_says_to_move_it_aside(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(b"this is not a database " * 200)
    with pytest.raises(HistoryError, match="move it aside") as err:
        Database.open(path)
    assert str(path) in err.value.message
    with History.open(folder=tmp_path) as history:  # the history opens all the same, its spool usable
        assert history.problem is not None and "move it aside" in history.problem.message
        assert not history.readable
    assert path.read_bytes() == b"this is not a database " * 200  # left for the user to look at


def test_a_transaction_is_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    db = Database.open(path)
    try:
        with pytest.raises(RuntimeError), db.transaction() as connection:
            connection.execute(INSERT)
            raise RuntimeError("a step failed")
        assert count(path) == 0
        with db.transaction() as connection:
            connection.execute(INSERT)
        assert count(path) == 1  # committed: another connection sees it
    finally:
        db.close()


def test_every_sqlite_error_becomes_one_history_error_line(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "history.db")
    try:
        with pytest.raises(HistoryError, match="no such table"), db.reading() as connection:
            connection.execute("SELECT * FROM nowhere")
        # Inside a transaction's body too (it used to escape raw); the transaction is rolled back.
        raw = pytest.raises(HistoryError, match=r"no such table: nowhere\); move it aside")
        with raw as err, db.transaction() as connection:
            connection.execute(INSERT)
            connection.execute("SELECT * FROM nowhere")
        assert len(err.value.message.splitlines()) == 1
        assert count(tmp_path / "history.db") == 0
        with db.transaction() as connection:  # no transaction left open
            connection.execute(INSERT)
        assert count(tmp_path / "history.db") == 1
    finally:
        db.close()


def test_a_table_dropped_by_hand_is_found_on_open_not_mid_dictation(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    Database.open(path).close()
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("DROP TABLE dictations")
    with pytest.raises(HistoryError, match=r"no such table: dictations\); move it aside"):
        Database.open(path)


def test_a_database_of_a_newer_dictate_is_only_read(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    Database.open(path).close()
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute(INSERT)
        other.execute("INSERT INTO _migrations (name, applied) VALUES ('m900_from_the_future', 'later')")
    db = Database.open(path)
    try:
        assert not db.writable and db.read_only is not None
        assert "newer dictate" in db.read_only.message and "m900_from_the_future" in db.read_only.message
        with pytest.raises(HistoryError, match="update dictate"), db.transaction() as connection:
            connection.execute(INSERT)
        with db.reading() as connection:
            assert connection.execute("SELECT count(*) FROM dictations").fetchone()[0] == 1
    finally:
        db.close()
    assert "m900_from_the_future" in {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM _migrations")}


def test_a_database_of_an_older_dictate_that_cannot_be_migrated_is_still_read(tmp_path: Path) -> None:
    """A read-only data folder holding the history of an earlier version: the columns later migrations
    add read as empty, nothing is written."""
    from dictate.store.migrations import MIGRATIONS, migrate

    folder = tmp_path / "data"
    (folder / "spool").mkdir(parents=True, mode=0o700)
    path = folder / "history.db"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as older:
        migrate(older, MIGRATIONS[:-1])  # before the last migration, which adds a column
        older.execute(
            "INSERT INTO dictations (created, updated, source, status, text) VALUES "
            "('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'run', 'delivered', 'from before')"
        )
    before = path.read_bytes()
    db = Database.open_read_only(path, HistoryError("the folder cannot be written"))
    try:
        with db.reading() as connection:
            (row,) = connection.execute(SELECT).fetchall()
        entry = from_row(row, folder / "spool")
        assert (entry.text, entry.raw_text) == ("from before", None)
    finally:
        db.close()
    assert path.read_bytes() == before  # read, never written
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as damaged:
        damaged.execute("INSERT INTO _migrations (name, applied) VALUES (?, 'now')", (MIGRATIONS[-1].__name__,))
    with pytest.raises(HistoryError, match="no such column"):  # the same columns missing in a current one: damage
        Database.open_read_only(path, HistoryError("the folder cannot be written"))


def test_a_data_folder_of_another_user_is_not_used(tmp_path: Path) -> None:
    """Made there first by her: she could take or swap the recordings (chown needs root, as in CI)."""
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(0o777)
    os.chown(folder, 65534, 65534)
    with History.open(folder=folder) as history:
        assert history.problem is not None
        assert history.problem.message == f"cannot write in {folder}: it belongs to user nobody (uid 65534), not to you"
        assert not history.can_spool
    assert list(folder.iterdir()) == []  # nothing of ours went in, and her folder's mode is hers
    assert folder.stat().st_mode & 0o777 == 0o777
