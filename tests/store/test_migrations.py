"""The schema's migrations: each applied once, in order, all or nothing."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from dictate.store import DELIVERED, History
from dictate.store.migrations import MIGRATIONS, migrate
from tests.store.conftest import data_folder, raw_db, wav_bytes


def test_new_database_gets_every_migration_once(history: History) -> None:
    names = [r["name"] for r in raw_db().execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert names == [m.__name__ for m in MIGRATIONS]
    history.close()
    with History.open():
        again = [r["name"] for r in raw_db().execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert again == names


def test_old_database_gains_missing_migrations_and_keeps_rows() -> None:
    folder = data_folder()
    folder.mkdir(parents=True)
    db = sqlite3.connect(folder / "history.db", isolation_level=None)
    assert migrate(db, MIGRATIONS[:1]) == ["m001_dictations"]
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime())
    db.execute(
        "INSERT INTO dictations (created, updated, source, status, text, attempts)"
        " VALUES (?, ?, 'run', 'delivered', 'written before the upgrade', 1)",
        (now, now),
    )
    db.close()

    with History.open() as h:
        entry = h.get(1)
        assert entry.text == "written before the upgrade"
        assert entry.status == DELIVERED
        assert entry.server_ms is None  # a column added by a later migration
        later = h.spool(wav_bytes(), source="once", press_to_audio_ms=40)
        assert h.get(later.id).press_to_audio_ms == 40  # type: ignore[arg-type]
    names = {r["name"] for r in raw_db().execute("SELECT name FROM _migrations")}
    assert names == {m.__name__ for m in MIGRATIONS}
    assert len(MIGRATIONS) > 1


def test_migration_that_fails_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "h.db", isolation_level=None)
    migrate(db, MIGRATIONS[:1])

    def m999_broken(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE dictations ADD COLUMN extra TEXT")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        migrate(db, [*MIGRATIONS, m999_broken])
    assert {r[0] for r in db.execute("SELECT name FROM _migrations")} == {"m001_dictations"}
    assert "extra" not in {r[1] for r in db.execute("PRAGMA table_info(dictations)")}
