"""The dictation history (SQLite) and the durable audio spool, so that no dictation is ever lost.

Files, under `config.data_dir()`, folders 0700 and files 0600 whatever the umask:

    history.db (and its -wal / -shm)   one row per dictation
    spool/<UTC stamp>-<token>.<ext>    the audio of each dictation until its text was delivered

How a crash stays harmless: `spool()` writes the audio under a temporary name, fsyncs it, renames it
into place and fsyncs the folder, all inside the SQLite write transaction that inserts its row. Every
writer, and the `recover()` scan run by every `History.open()`, holds that write lock, so the scan
never sees a spool in progress: what it finds is what a dead process left behind.

    crash before the rename             a temp file: no row, and the scan deletes it
    crash after the rename, before the commit
                                        an audio file with no row: the scan gives it a `queued` row
                                        (source "recovered"), so `pending()` lists it
    crash after the commit              the row and its audio file

Statuses, one row per dictation (`pending` below = queued, failed, or done without stored text):

    spool()                                  -> queued
    pending          --mark_failed(error)--> failed      attempts counted, the last error kept
    pending          --mark_done(text)-----> done        text stored only with the history on
    done             --mark_delivered()----> delivered   audio removed unless [history] keep_audio
    queued | failed | done --discard(reason)-> discarded audio removed unless [history] keep_audio

Any other step raises EntryStateError. `pending()` lists the dictations whose text is not in hand,
oldest first: queued and failed ones and, with the history off, done ones not yet delivered (their
text was not stored, so `dictate retry` must transcribe them again).

[history] enabled = false (no text history). The spool works exactly as above, because it is the
no-loss guarantee, but: text is never written to disk (a `done` row has no text, so it stays pending
until delivered, and `dictate retry` transcribes it again), keep_audio is ignored, and a row is deleted
together with its audio as soon as it is delivered or discarded. So the database only ever holds the
dictations not yet delivered. Rows written while the history was on are left as they are (and still
pruned by max_days / max_entries); deleting history.db removes them.

Retention (`prune()`, run on open and then hourly): delivered and discarded rows (and their kept audio)
older than [history] max_days, or beyond the newest [history] max_entries of them, are deleted.
Queued, failed and done rows are never pruned.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import secrets
import sqlite3
import struct
import threading
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from dictate.errors import DictateError, ExitCode

if TYPE_CHECKING:
    from types import TracebackType

    from dictate.audio import EncodedAudio
    from dictate.config import HistoryConfig

log = logging.getLogger(__name__)

DB_NAME = "history.db"
SPOOL_NAME = "spool"
BUSY_TIMEOUT = 10.0  # seconds to wait for another dictate process's write transaction
PRUNE_EVERY = 3600.0  # seconds between retention passes in a long-running process
MAX_ERROR_CHARS = 2000
CLAIM_SECONDS = 600.0  # longest a process may hold a dictation it is sending

QUEUED = "queued"
FAILED = "failed"
DONE = "done"
DELIVERED = "delivered"
DISCARDED = "discarded"
STATUSES = (QUEUED, FAILED, DONE, DELIVERED, DISCARDED)
FINISHED = (DELIVERED, DISCARDED)
RECOVERED_SOURCE = "recovered"

# 20250102T030405678Z-1a2b3c4d.wav: the UTC time of the spool, a random token, the format.
_AUDIO_NAME = re.compile(r"(?P<stamp>\d{8}T\d{9}Z)-[0-9a-f]{8}\.(?P<ext>[a-z0-9]{1,8})")
_TEMP_PREFIX = "."
_TEMP_SUFFIX = ".tmp"

# Pending: the text is not in hand. With the history off a `done` row keeps no text, so it is
# pending until delivered.
_PENDING_SQL = "(status IN ('queued', 'failed') OR (status = 'done' AND text IS NULL))"


class HistoryError(DictateError):
    """The history database or the spool cannot be used."""


class UnknownEntry(HistoryError):
    """No dictation has this ID."""

    exit_code = ExitCode.USAGE


class EntryStateError(HistoryError):
    """The dictation is not in a state that allows this step (e.g. delivering a queued one)."""

    exit_code = ExitCode.USAGE


# ---- migrations ------------------------------------------------------------------------------
# Append-only: a migration, once released, is never edited or reordered; a change is a new one.
# Each is applied once per database, inside one transaction with the record of its name.

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


def migrate(db: sqlite3.Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply the migrations this database has not had yet, in order; return their names."""
    steps = MIGRATIONS if migrations is None else migrations
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
        done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
        applied = []
        for step in steps:
            if step.__name__ in done:
                continue
            step(db)
            db.execute("INSERT INTO _migrations (name, applied) VALUES (?, ?)", (step.__name__, _iso(_now())))
            applied.append(step.__name__)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return applied


# ---- entries ---------------------------------------------------------------------------------


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
    bytes_uploaded: int | None  # size of the last upload
    audio_path: Path | None  # the spooled audio; None once removed
    press_to_audio_ms: int | None  # key press -> first sample
    release_to_request_ms: int | None  # key release -> request sent
    server_ms: int | None  # processing time reported by the server
    release_to_delivery_ms: int | None  # key release -> text delivered

    @property
    def pending(self) -> bool:
        """The text is not in hand: `dictate retry` should transcribe this again."""
        return self.status in (QUEUED, FAILED) or (self.status == DONE and self.text is None)

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready values (times as ISO 8601 UTC, the path as a string)."""
        data = dataclasses.asdict(self)
        data["created"] = _iso(self.created)
        data["updated"] = _iso(self.updated)
        data["audio_path"] = str(self.audio_path) if self.audio_path else None
        return data


_SELECT = (
    "SELECT id, created, updated, source, status, duration, model, host, text, error, attempts, bytes_uploaded,"
    " audio_name, audio_removed, press_to_audio_ms, release_to_request_ms, server_ms, release_to_delivery_ms"
    " FROM dictations"
)
_FINISHED_SQL = "status IN ('delivered', 'discarded')"
_NEWEST_FINISHED = (
    "SELECT id FROM dictations WHERE status IN ('delivered', 'discarded') ORDER BY created DESC, id DESC LIMIT ?"
)


def parse_id(value: str | int) -> int:
    """The integer ID of `value` ("12" or "#12"); UnknownEntry when it is not one."""
    if isinstance(value, int):
        return value
    text = value.strip().removeprefix("#")
    if not text.isdigit():
        raise UnknownEntry(f"no dictation with ID {value!r}: IDs are numbers (see `dictate history`)")
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


# ---- the store -------------------------------------------------------------------------------


class History:
    """The history database and the spool beside it. Open with `History.open()`; safe across threads."""

    def __init__(self, db: sqlite3.Connection, folder: Path, settings: HistoryConfig) -> None:
        self.folder = folder
        self.db_path = folder / DB_NAME
        self.spool_dir = folder / SPOOL_NAME
        self.settings = settings
        self._db = db
        self._lock = threading.RLock()
        self._last_prune = 0.0

    @classmethod
    def open(cls, settings: HistoryConfig | None = None, folder: Path | None = None) -> History:
        """Open (creating, migrating) the history in `folder` (default: the data dir), then recover and prune."""
        from dictate import config

        settings = settings or config.HistoryConfig()
        folder = folder or config.data_dir()
        db_path = folder / DB_NAME
        try:
            _private_dir(folder)
            _private_dir(folder / SPOOL_NAME)
            _private_file(db_path)
        except OSError as exc:
            raise HistoryError(f"cannot create the history in {folder}: {exc.strerror or exc}") from None
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode = WAL")  # readers (dictate history) never block the daemon
            db.execute("PRAGMA synchronous = FULL")  # a committed row survives a power cut
            db.create_function("dictate_fold", 1, _fold, deterministic=True)
            migrate(db)
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            raise HistoryError(
                f"history database {db_path} cannot be used ({exc}); move it aside to start a new one"
            ) from None
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{db_path}{suffix}", 0o600)
        history = cls(db, folder, settings)
        try:
            history.recover()
            history.prune()
        except BaseException:
            history.close()
            raise
        return history

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- writing -----------------------------------------------------------------------------

    def spool(
        self,
        audio: EncodedAudio | bytes,
        *,
        source: str,
        model: str | None = None,
        base_url: str | None = None,
        duration: float | None = None,
        ext: str | None = None,
        press_to_audio_ms: float | None = None,
    ) -> Entry:
        """Write the audio durably into the spool and record it as `queued`; call before any upload.

        `base_url` is reduced to its host. `ext` defaults to the EncodedAudio's file extension, or
        "wav" for raw bytes; `duration` defaults to the EncodedAudio's seconds.
        """
        if isinstance(audio, bytes | bytearray | memoryview):
            data = bytes(audio)
            ext = ext or "wav"
        else:
            data = audio.data
            ext = ext or Path(audio.filename).suffix.lstrip(".") or "wav"
            duration = audio.seconds if duration is None else duration
        ext = ext.lower()
        if not re.fullmatch(r"[a-z0-9]{1,8}", ext):
            raise ValueError(f"not a file extension: {ext!r}")
        if not data:
            raise HistoryError("nothing to spool: the audio is empty")
        now = _now()
        name = f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(4)}.{ext}"
        with self._transaction() as db:
            try:
                _write_durably(self.spool_dir / name, data)
            except OSError as exc:
                raise HistoryError(f"cannot write the recording to {self.spool_dir}: {exc.strerror or exc}") from None
            cursor = db.execute(
                "INSERT INTO dictations (created, updated, source, status, duration, model, host, audio_name,"
                " press_to_audio_ms, claimed_pid, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _iso(now),
                    _iso(now),
                    source,
                    QUEUED,
                    duration,
                    model,
                    endpoint_host(base_url),
                    name,
                    _ms(press_to_audio_ms),
                    os.getpid(),  # the spooling process is the one about to send it
                    _iso(now),
                ),
            )
            assert cursor.lastrowid is not None
            return self._get(db, cursor.lastrowid)

    def mark_failed(
        self,
        entry_id: int | str,
        error: str,
        *,
        attempts: int = 1,
        bytes_uploaded: int | None = None,
        release_to_request_ms: float | None = None,
    ) -> Entry:
        """Record a failed transcription (queued/failed -> failed); the audio stays for `dictate retry`."""
        with self._transaction() as db:
            entry = self._require(db, entry_id, "marked failed", lambda e: e.pending)
            db.execute(
                "UPDATE dictations SET status = ?, error = ?, attempts = attempts + ?,"
                " bytes_uploaded = coalesce(?, bytes_uploaded),"
                " release_to_request_ms = coalesce(?, release_to_request_ms), updated = ? WHERE id = ?",
                (
                    FAILED,
                    error[:MAX_ERROR_CHARS],
                    attempts,
                    bytes_uploaded,
                    _ms(release_to_request_ms),
                    _iso(_now()),
                    entry.id,
                ),
            )
            return self._get(db, entry.id)

    def mark_done(
        self,
        entry_id: int | str,
        text: str,
        *,
        attempts: int = 1,
        bytes_uploaded: int | None = None,
        release_to_request_ms: float | None = None,
        server_ms: float | None = None,
    ) -> Entry:
        """Record the transcript (queued/failed -> done); with the history off the text is not stored."""
        with self._transaction() as db:
            entry = self._require(db, entry_id, "marked done", lambda e: e.pending)
            db.execute(
                "UPDATE dictations SET status = ?, text = ?, attempts = attempts + ?,"
                " bytes_uploaded = coalesce(?, bytes_uploaded),"
                " release_to_request_ms = coalesce(?, release_to_request_ms),"
                " server_ms = coalesce(?, server_ms), updated = ? WHERE id = ?",
                (
                    DONE,
                    text if self.settings.enabled else None,
                    attempts,
                    bytes_uploaded,
                    _ms(release_to_request_ms),
                    _ms(server_ms),
                    _iso(_now()),
                    entry.id,
                ),
            )
            return self._get(db, entry.id)

    def mark_delivered(self, entry_id: int | str, *, release_to_delivery_ms: float | None = None) -> Entry:
        """Record that the text reached the user (done -> delivered); the audio is removed unless kept."""
        return self._finish(
            entry_id,
            DELIVERED,
            lambda e: e.status == DONE,
            "marked delivered",
            release_to_delivery_ms=_ms(release_to_delivery_ms),
        )

    def discard(self, entry_id: int | str, reason: str | None = None) -> Entry:
        """Give up on a dictation not yet delivered (queued/failed/done -> discarded), e.g. no words heard."""
        return self._finish(
            entry_id,
            DISCARDED,
            lambda e: e.status not in FINISHED,
            "discarded",
            error=reason[:MAX_ERROR_CHARS] if reason else None,
        )

    def _finish(
        self,
        entry_id: int | str,
        status: str,
        allowed: Callable[[Entry], bool],
        verb: str,
        *,
        error: str | None = None,
        release_to_delivery_ms: int | None = None,
    ) -> Entry:
        leftover: Path | None = None
        with self._transaction() as db:
            entry = self._require(db, entry_id, verb, allowed)
            now = _parse_time(_iso(_now()))  # the stored precision, so both branches agree
            if self.settings.enabled:
                drop = entry.audio_path is not None and not self.settings.keep_audio
                db.execute(
                    "UPDATE dictations SET status = ?, updated = ?, error = coalesce(?, error),"
                    " release_to_delivery_ms = coalesce(?, release_to_delivery_ms),"
                    " audio_removed = CASE WHEN ? THEN ? ELSE audio_removed END WHERE id = ?",
                    (status, _iso(now), error, release_to_delivery_ms, drop, _iso(now), entry.id),
                )
                leftover = entry.audio_path if drop else None
                final = self._get(db, entry.id)
            else:
                # The row only guarded the audio. The audio goes first: a crash before the commit
                # leaves a row whose file is missing (tidied on the next open), never a file that
                # would come back as a new recording.
                if entry.audio_path:
                    _unlink(entry.audio_path)
                db.execute("DELETE FROM dictations WHERE id = ?", (entry.id,))
                final = dataclasses.replace(
                    entry,
                    status=status,
                    updated=now,
                    audio_path=None,
                    error=error or entry.error,
                    release_to_delivery_ms=release_to_delivery_ms,
                )
        # After the commit: a crash here leaves a file whose row says it was removed, which the
        # next open deletes instead of taking it for a lost recording.
        if leftover:
            _unlink(leftover)
        self._maybe_prune()
        return final

    # ---- claims: one sender per dictation -----------------------------------------------------

    def claim(self, entry_id: int | str) -> bool:
        """Take a pending dictation for sending by this process; False when a live process has it.

        A claim lapses when its process is gone (killed mid-upload) or after CLAIM_SECONDS.
        """
        with self._transaction() as db:
            entry = self._get(db, parse_id(entry_id))
            if not entry.pending:
                return False
            row = db.execute("SELECT claimed_pid, claimed_at FROM dictations WHERE id = ?", (entry.id,)).fetchone()
            pid, at = row["claimed_pid"], row["claimed_at"]
            fresh = at is not None and _now() - _parse_time(at) < timedelta(seconds=CLAIM_SECONDS)
            if pid not in (None, os.getpid()) and fresh and _alive(pid):
                return False
            db.execute(
                "UPDATE dictations SET claimed_pid = ?, claimed_at = ? WHERE id = ?",
                (os.getpid(), _iso(_now()), entry.id),
            )
            return True

    def release(self, entry_id: int | str) -> None:
        """Give up this process's claim, so `dictate retry` or the daemon may send it."""
        with self._transaction() as db:
            db.execute(
                "UPDATE dictations SET claimed_pid = NULL, claimed_at = NULL WHERE id = ? AND claimed_pid = ?",
                (parse_id(entry_id), os.getpid()),
            )

    def append_audio(self, entry_id: int | str, pcm: bytes, seconds: float) -> Entry:
        """Durably add PCM samples to the end of a pending dictation's WAV spool (a longer take of the
        same recording): cheap however long the dictation already is.

        The header is made to announce the new length before the samples are written, and one fsync
        covers both: after a crash the file announces at most what it holds, or more, and a reader
        takes what is there.
        """
        with self._transaction() as db:
            entry = self._require(db, entry_id, "given more audio", lambda e: e.pending and e.audio_path is not None)
            assert entry.audio_path is not None
            try:
                with entry.audio_path.open("r+b") as fh:
                    data_at = _wav_data_offset(fh)
                    end = fh.seek(0, os.SEEK_END)
                    size = end - data_at + len(pcm)
                    fh.seek(4)
                    fh.write(struct.pack("<I", min(data_at - 8 + size, 0xFFFFFFFF)))
                    fh.seek(data_at - 4)
                    fh.write(struct.pack("<I", min(size, 0xFFFFFFFF)))
                    fh.seek(end)
                    fh.write(pcm)
                    fh.flush()
                    os.fsync(fh.fileno())
            except (OSError, ValueError) as exc:
                detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise HistoryError(f"cannot add to the recording {entry.audio_path}: {detail}") from None
            db.execute(
                "UPDATE dictations SET duration = ?, updated = ? WHERE id = ?", (seconds, _iso(_now()), entry.id)
            )
            return self._get(db, entry.id)

    # ---- reading -----------------------------------------------------------------------------

    def get(self, entry_id: int | str) -> Entry:
        """The dictation with this ID; UnknownEntry (exit 2) when there is none."""
        with self._reading() as db:
            return self._get(db, parse_id(entry_id))

    def entries(self, *, search: str | None = None, limit: int | None = None) -> list[Entry]:
        """Dictations newest first; `search` matches text case-insensitively; limit None or 0 = all."""
        query = _SELECT
        params: list[Any] = []
        if search:
            query += " WHERE instr(dictate_fold(text), ?) > 0"
            params.append(search.casefold())
        query += " ORDER BY created DESC, id DESC"
        if limit:
            query += " LIMIT ?"
            params.append(limit)
        with self._reading() as db:
            return [self._entry(row) for row in db.execute(query, params)]

    def pending(self) -> list[Entry]:
        """Dictations whose text was never obtained (see the module docs), oldest first."""
        query = _SELECT + " WHERE " + _PENDING_SQL + " ORDER BY created, id"
        with self._reading() as db:
            return [self._entry(row) for row in db.execute(query)]

    def read_audio(self, entry_id: int | str) -> bytes:
        """The spooled audio of a dictation (for `dictate retry`)."""
        entry = self.get(entry_id)
        if entry.audio_path is None:
            raise EntryStateError(f"dictation {entry.id} has no audio any more ({entry.status})")
        try:
            return entry.audio_path.read_bytes()
        except OSError as exc:
            raise HistoryError(f"cannot read {entry.audio_path}: {exc.strerror or exc}") from None

    # ---- recovery and retention --------------------------------------------------------------

    def recover(self) -> list[Entry]:
        """Reconcile the spool with the rows after a crash; return the recordings given new rows.

        Under the write lock no spool is in progress, so: temp files are half-written leftovers
        (deleted); an audio file with no row is a recording whose row was never committed (adopted
        as queued); a file whose row says it was removed is a leftover of that removal (deleted);
        a row whose audio file vanished gets its audio marked removed (and, if its text was never
        obtained, is discarded: nothing is left to transcribe).
        """
        adopted: list[Entry] = []
        with self._transaction() as db:
            rows = {row["audio_name"]: row for row in db.execute(_SELECT + " WHERE audio_name IS NOT NULL")}
            try:
                files = sorted(self.spool_dir.iterdir())
            except OSError as exc:
                raise HistoryError(f"cannot read {self.spool_dir}: {exc.strerror or exc}") from None
            for path in files:
                name = path.name
                if name.startswith(_TEMP_PREFIX) and name.endswith(_TEMP_SUFFIX):
                    log.debug("removing half-written %s", path)
                    _unlink(path)
                    continue
                match = _AUDIO_NAME.fullmatch(name)
                if not match or not path.is_file():
                    continue
                row = rows.get(name)
                if row is None:
                    adopted.append(self._adopt(db, path, match))
                elif row["audio_removed"] is not None:
                    _unlink(path)
            now = _iso(_now())
            for name, row in rows.items():
                if row["audio_removed"] is not None or (self.spool_dir / name).exists():
                    continue
                entry = self._entry(row)
                if entry.pending and not self.settings.enabled:
                    db.execute("DELETE FROM dictations WHERE id = ?", (entry.id,))
                elif entry.pending:
                    db.execute(
                        "UPDATE dictations SET status = ?, error = ?, audio_removed = ?, updated = ? WHERE id = ?",
                        (DISCARDED, f"audio file {name} is missing from the spool", now, now, entry.id),
                    )
                else:
                    db.execute("UPDATE dictations SET audio_removed = ? WHERE id = ?", (now, entry.id))
                if entry.pending:
                    log.warning(
                        "dictation %d: its audio %s is missing from %s; dropped", entry.id, name, self.spool_dir
                    )
        if adopted:
            log.warning(
                "found %d recording(s) in %s that were never transcribed; `dictate retry` sends them",
                len(adopted),
                self.spool_dir,
            )
        return adopted

    def _adopt(self, db: sqlite3.Connection, path: Path, match: re.Match[str]) -> Entry:
        try:
            created = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
        except ValueError:
            created = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        cursor = db.execute(
            "INSERT INTO dictations (created, updated, source, status, duration, audio_name) VALUES (?, ?, ?, ?, ?, ?)",
            (_iso(created), _iso(_now()), RECOVERED_SOURCE, QUEUED, _wav_seconds(path), path.name),
        )
        assert cursor.lastrowid is not None
        return self._get(db, cursor.lastrowid)

    def prune(self) -> int:
        """Delete delivered/discarded rows (and kept audio) beyond max_days / max_entries; return how many."""
        self._last_prune = time.monotonic()
        days, count = self.settings.max_days, self.settings.max_entries
        deleted = 0
        with self._transaction() as db:
            if days:
                cutoff = _iso(_now() - timedelta(days=days))
                deleted += self._delete(db, _SELECT + " WHERE " + _FINISHED_SQL + " AND created < ?", cutoff)
            if count:
                query = _SELECT + " WHERE " + _FINISHED_SQL + " AND id NOT IN (" + _NEWEST_FINISHED + ")"
                deleted += self._delete(db, query, count)
        if deleted:
            log.debug("pruned %d old dictation(s) from %s", deleted, self.db_path)
        return deleted

    def _delete(self, db: sqlite3.Connection, query: str, param: Any) -> int:
        doomed = [self._entry(row) for row in db.execute(query, (param,))]
        for entry in doomed:
            # Audio before rows: a crash in between leaves rows with missing audio (tidied on the
            # next open), never a kept file that would come back as a new recording.
            if entry.audio_path:
                _unlink(entry.audio_path)
        db.executemany("DELETE FROM dictations WHERE id = ?", [(e.id,) for e in doomed])
        return len(doomed)

    def _maybe_prune(self) -> None:
        if time.monotonic() - self._last_prune >= PRUNE_EVERY:
            self.prune()

    # ---- plumbing ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding SQLite's write lock (shared by every dictate process)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise HistoryError(f"history database {self.db_path}: {exc}") from None
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise HistoryError(f"history database {self.db_path}: {exc}") from None

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise HistoryError(f"history database {self.db_path}: {exc}") from None

    def _get(self, db: sqlite3.Connection, entry_id: int | str) -> Entry:
        number = parse_id(entry_id)
        row = db.execute(_SELECT + " WHERE id = ?", (number,)).fetchone()
        if row is None:
            raise UnknownEntry(f"no dictation with ID {number} (see `dictate history`)")
        return self._entry(row)

    def _require(
        self, db: sqlite3.Connection, entry_id: int | str, verb: str, allowed: Callable[[Entry], bool]
    ) -> Entry:
        entry = self._get(db, entry_id)
        if not allowed(entry):
            raise EntryStateError(f"dictation {entry.id} is {entry.status} and cannot be {verb}")
        return entry

    def _entry(self, row: sqlite3.Row) -> Entry:
        present = row["audio_name"] is not None and row["audio_removed"] is None
        return Entry(
            id=row["id"],
            created=_parse_time(row["created"]),
            updated=_parse_time(row["updated"]),
            source=row["source"],
            status=row["status"],
            duration=row["duration"],
            model=row["model"],
            host=row["host"],
            text=row["text"],
            error=row["error"],
            attempts=row["attempts"],
            bytes_uploaded=row["bytes_uploaded"],
            audio_path=self.spool_dir / row["audio_name"] if present else None,
            press_to_audio_ms=row["press_to_audio_ms"],
            release_to_request_ms=row["release_to_request_ms"],
            server_ms=row["server_ms"],
            release_to_delivery_ms=row["release_to_delivery_ms"],
        )


# ---- files -----------------------------------------------------------------------------------


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask, and the folder may predate us


def _private_file(path: Path) -> None:
    """Create the file 0600 (or tighten an existing one) before SQLite opens it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _write_durably(path: Path, data: bytes) -> None:
    """Write under a temp name, fsync, rename into place, fsync the folder: all or nothing on disk."""
    temp = path.with_name(f"{_TEMP_PREFIX}{path.name}{_TEMP_SUFFIX}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.chmod(temp, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        _unlink(temp)
        raise
    _fsync_dir(path.parent)


def _wav_data_offset(fh: BinaryIO) -> int:
    """Where the sample data of a RIFF/WAVE file starts (after the "data" chunk header)."""
    fh.seek(0)
    if fh.read(4) != b"RIFF" or (fh.read(4), fh.read(4))[1] != b"WAVE":
        raise ValueError("not a WAV file")
    while True:
        header = fh.read(8)
        if len(header) < 8:
            raise ValueError("a WAV file without a data chunk")
        kind, size = header[:4], struct.unpack("<I", header[4:])[0]
        if kind == b"data":
            return fh.tell()
        fh.seek(size + size % 2, os.SEEK_CUR)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a folder; its renames are journaled by NTFS
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _wav_seconds(path: Path) -> float | None:
    if path.suffix != ".wav":
        return None
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / wav.getframerate()
    except (OSError, EOFError, wave.Error, ZeroDivisionError):
        return None


# ---- time ------------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    # One fixed format, so text order is time order in SQL.
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _fold(text: str | None) -> str | None:
    # SQLite's own lower() and LIKE fold ASCII only; search should match "Über" with "über".
    return None if text is None else text.casefold()


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value)
