"""Helpers for the store's tests: real SQLite and real files in the per-test home."""

from __future__ import annotations

import io
import sqlite3
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from dictate import config
from dictate.store import History


def wav_bytes(seconds: float = 0.5, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x01\x00" * int(seconds * rate))
    return buf.getvalue()


def data_folder() -> Path:
    return config.data_dir()


def spool_files() -> list[Path]:
    return sorted((data_folder() / "spool").iterdir())


def raw_db() -> sqlite3.Connection:
    db = sqlite3.connect(data_folder() / "history.db", isolation_level=None)
    db.row_factory = sqlite3.Row
    return db


def delivered(h: History, text: str, **kw: object) -> int:
    entry = h.spool(wav_bytes(), source="run", **kw)  # type: ignore[arg-type]
    h.mark_done(entry.id, text)
    h.mark_delivered(entry.id)
    return entry.id


def age(entry_id: int, days: float) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(time.time() - days * 86400))
    raw_db().execute("UPDATE dictations SET created = ? WHERE id = ?", (stamp, entry_id))


@pytest.fixture
def history() -> Iterator[History]:
    with History.open() as h:
        yield h
