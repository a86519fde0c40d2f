"""One dictation as the store keeps it: its statuses and their rules, its row, its errors.

Statuses, one row per dictation (`pending` = the text is not in hand: queued, failed, or done
without stored text):

    spool()                                  -> queued
    pending          --mark_failed(error)--> failed      attempts counted, the last error kept
    pending          --mark_done(text)-----> done        text stored only with the history on
    done             --mark_delivered()----> delivered   audio removed unless [history] keep_audio
    queued | failed | done --discard(reason)-> discarded audio removed unless [history] keep_audio

Any other step raises EntryStateError. The rules are written once, as Python (`is_pending`,
`is_finished`, `Entry.can_become`); the SQL conditions `PENDING_SQL` and `FINISHED_SQL` are
derived from the same functions.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dictate.errors import DictateError, ExitCode
from dictate.store import spool

QUEUED = "queued"
FAILED = "failed"
DONE = "done"
DELIVERED = "delivered"
DISCARDED = "discarded"
STATUSES = (QUEUED, FAILED, DONE, DELIVERED, DISCARDED)
RECOVERED_SOURCE = "recovered"


class HistoryError(DictateError):
    """The history database or the spool cannot be used."""


class UnknownEntry(HistoryError):
    """No dictation has this ID."""

    exit_code = ExitCode.USAGE


class EntryStateError(HistoryError):
    """The dictation is not in a state that allows this step (e.g. delivering a queued one)."""

    exit_code = ExitCode.USAGE


# ---- the status machine ----------------------------------------------------------------------


def is_pending(status: str, has_text: bool) -> bool:
    """The text is not in hand, so `dictate retry` must transcribe the audio again.

    With the history off a `done` row keeps no text, so it stays pending until delivered.
    """
    return status in (QUEUED, FAILED) or (status == DONE and not has_text)


def is_finished(status: str) -> bool:
    """Delivered or discarded: no step leads anywhere from here, and retention may delete the row."""
    return status in (DELIVERED, DISCARDED)


def sql_condition(predicate: Callable[[str, bool], bool]) -> str:
    """The SQL condition on a `dictations` row that holds exactly when `predicate(status, text present)` does."""
    with_text = [s for s in STATUSES if predicate(s, True)]
    without_text = [s for s in STATUSES if predicate(s, False)]
    either = [s for s in with_text if s in without_text]
    only_with = [s for s in with_text if s not in without_text]
    only_without = [s for s in without_text if s not in with_text]

    def among(statuses: list[str]) -> str:
        assert all(re.fullmatch(r"[a-z]+", s) for s in statuses)  # safe to write into SQL as they are
        return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"

    terms = []
    if either:
        terms.append(among(either))
    if only_with:
        terms.append(f"(text IS NOT NULL AND {among(only_with)})")
    if only_without:
        terms.append(f"(text IS NULL AND {among(only_without)})")
    return "(" + " OR ".join(terms or ["0"]) + ")"


PENDING_SQL = sql_condition(is_pending)
FINISHED_SQL = sql_condition(lambda status, _has_text: is_finished(status))


# ---- the entry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One dictation. Timings are milliseconds; None when not measured."""

    id: int
    created: datetime  # UTC
    updated: datetime  # UTC, the last change of status
    source: str  # run, once, notes, transcribe, retry, recovered ...
    status: str  # one of STATUSES
    duration: float | None  # seconds of audio
    model: str | None
    host: str | None  # the endpoint's host[:port], nothing else of its URL
    text: str | None
    error: str | None  # the last error message
    attempts: int
    bytes_uploaded: int | None  # audio bytes in the requests that gave the text, all parts together
    audio_path: Path | None  # the first file of the spooled audio; None once removed
    press_to_audio_ms: int | None  # key press -> first sample
    release_to_request_ms: int | None  # key release -> request sent
    server_ms: int | None  # processing time reported by the server
    release_to_delivery_ms: int | None  # key release -> text delivered
    raw_text: str | None = None  # the transcript as heard, when the text layer changed it
    audio_parts: tuple[Path, ...] = ()  # every file of the spooled audio, in order
    key: str | None = None  # the dictation's name in the spool
    audio_missing: bool = False  # its audio was not removed, yet the spool does not hold it (moved away?)

    @property
    def pending(self) -> bool:
        """The text is not in hand: `dictate retry` should transcribe this again."""
        return is_pending(self.status, self.text is not None)

    @property
    def finished(self) -> bool:
        """Delivered or discarded."""
        return is_finished(self.status)

    def can_become(self, status: str) -> bool:
        """Whether the status machine allows the step from this entry's status to `status`."""
        if status in (FAILED, DONE):
            return self.pending
        if status == DELIVERED:
            return self.status == DONE
        if status == DISCARDED:
            return not self.finished
        return False

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready values (times as ISO 8601 UTC, the path as a string)."""
        data = dataclasses.asdict(self)
        del data["key"]
        data["created"] = iso(self.created)
        data["updated"] = iso(self.updated)
        data["audio_path"] = str(self.audio_path) if self.audio_path else None
        data["audio_parts"] = [str(path) for path in self.audio_parts]
        return data


# ---- the row ---------------------------------------------------------------------------------

COLUMNS = (
    "id", "created", "updated", "source", "status", "duration", "model", "host", "text", "error", "attempts",
    "bytes_uploaded", "audio_name", "audio_removed", "press_to_audio_ms", "release_to_request_ms", "server_ms",
    "release_to_delivery_ms", "raw_text",
)  # fmt: skip
SELECT = f"SELECT {', '.join(COLUMNS)} FROM dictations"  # noqa: S608 - names from the code


def from_row(row: sqlite3.Row, spool_dir: Path, found: spool.Scan | None = None) -> Entry:
    """The Entry of a row read with SELECT; its audio files are looked up in `found`, the spool folder
    listed once for many rows (by default listed for this row alone)."""
    name = row["audio_name"]
    present = name is not None and row["audio_removed"] is None
    if present and found is None:
        found = spool.scan(spool_dir, spool.key_of(name))
    files = tuple(found.files(name)) if present and found is not None else ()
    missing = present and found is not None and found.missing(name)
    return Entry(
        id=row["id"],
        created=parse_time(row["created"]),
        updated=parse_time(row["updated"]),
        source=row["source"],
        status=row["status"],
        duration=row["duration"],
        model=row["model"],
        host=row["host"],
        text=row["text"],
        error=row["error"],
        attempts=row["attempts"],
        bytes_uploaded=row["bytes_uploaded"],
        audio_path=files[0] if files else None,
        press_to_audio_ms=row["press_to_audio_ms"],
        release_to_request_ms=row["release_to_request_ms"],
        server_ms=row["server_ms"],
        release_to_delivery_ms=row["release_to_delivery_ms"],
        raw_text=row["raw_text"],
        audio_parts=files,
        key=spool.key_of(name) if name is not None else None,
        audio_missing=missing,
    )


def insert(db: sqlite3.Connection, row: dict[str, Any]) -> int:
    """Insert a new dictation's row (column -> value, names from the code, never from input); its ID."""
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    cursor = db.execute(f"INSERT INTO dictations ({columns}) VALUES ({marks})", tuple(row.values()))  # noqa: S608
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def load(db: sqlite3.Connection, spool_dir: Path, entry_id: int | str) -> Entry:
    """The dictation with this ID; UnknownEntry when there is none."""
    number = parse_id(entry_id)
    row = db.execute(SELECT + " WHERE id = ?", (number,)).fetchone()
    if row is None:
        raise UnknownEntry(f"no dictation with ID {number} (see `dictate history`)")
    return from_row(row, spool_dir)


def parse_id(value: str | int) -> int:
    """The integer ID of `value` ("12" or "#12"); UnknownEntry when it is not one."""
    if isinstance(value, int):
        return value
    text = value.strip().removeprefix("#")
    if not (text.isascii() and text.isdigit()):
        raise UnknownEntry(f"no dictation with ID {value[:40]!r}: IDs are numbers (see `dictate history`)")
    if len(text) > 18:  # beyond SQLite's integers: no such dictation
        raise UnknownEntry(f"no dictation with ID {text[:20]}…: IDs are far smaller (see `dictate history`)")
    return int(text)


def endpoint_host(base_url: str | None) -> str | None:
    """The host[:port] of an endpoint URL: never its user, password, path or query, where keys may hide."""
    if not base_url:
        return None
    parts = urlsplit(base_url)
    if not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


# ---- times -----------------------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """The one stored time format (UTC, milliseconds), so text order is time order in SQL."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)
