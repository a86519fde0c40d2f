"""The History: the SQLite database of dictations and the spool beside it, behind one object.

Files, under `config.data_dir()`, folders 0700 and files 0600 whatever the umask:

    history.db (and its -wal / -shm)   one row per dictation
    spool/<UTC stamp>-<token>.<ext>    the audio of each dictation until its text was delivered

How a crash stays harmless: `spool()` writes the audio under a temporary name, fsyncs it, renames it
into place and fsyncs the folder, all inside the SQLite write transaction that inserts its row. Every
writer, and the recovery scan (recovery.py) run by every `History.open()`, holds that write lock.

Each dictation moves through the statuses of entries.py. `pending()` lists the dictations whose text
is not in hand, oldest first: queued and failed ones and, with the history off, done ones not yet
delivered (their text was not stored, so `dictate retry` must transcribe them again). `claim()` makes
sure only one process sends a dictation at a time.

[history] enabled = false (no text history). The spool works exactly as above, because it is the
no-loss guarantee, but: text is never written to disk (a `done` row has no text, so it stays pending
until delivered, and `dictate retry` transcribes it again), keep_audio is ignored, and a row is deleted
together with its audio as soon as it is delivered or discarded. So the database only ever holds the
dictations not yet delivered. Rows written while the history was on are left as they are (and still
pruned by max_days / max_entries); deleting history.db removes them.

Retention (retention.py) runs in `History.open()`, and after a dictation is delivered or discarded
when the last pass was PRUNE_EVERY (an hour) or more ago; a process that delivers and discards
nothing does not prune again after opening.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dictate.store import claims, recovery, retention, spool
from dictate.store.database import Database
from dictate.store.entries import (
    DELIVERED,
    DISCARDED,
    DONE,
    FAILED,
    PENDING_SQL,
    QUEUED,
    SELECT,
    Entry,
    EntryStateError,
    HistoryError,
    endpoint_host,
    from_row,
    iso,
    load,
    now,
    parse_id,
    parse_time,
)

if TYPE_CHECKING:
    from types import TracebackType

    from dictate.audio import EncodedAudio
    from dictate.config import HistoryConfig

log = logging.getLogger(__name__)

DB_NAME = "history.db"
PRUNE_EVERY = 3600.0  # seconds from one retention pass until a delivery or discard runs the next
MAX_ERROR_CHARS = 2000


class History:
    """The history database and the spool beside it. Open with `History.open()`; safe across threads."""

    def __init__(self, db: Database, folder: Path, settings: HistoryConfig) -> None:
        self.folder = folder
        self.db_path = folder / DB_NAME
        self.spool_dir = folder / spool.SPOOL_NAME
        self.settings = settings
        self._db = db
        self._last_prune = 0.0

    @classmethod
    def open(cls, settings: HistoryConfig | None = None, folder: Path | None = None) -> History:
        """Open (creating, migrating) the history in `folder` (default: the data dir), then recover and prune."""
        from dictate import config

        settings = settings or config.HistoryConfig()
        folder = folder or config.data_dir()
        db_path = folder / DB_NAME
        try:
            spool.private_dir(folder)
            spool.private_dir(folder / spool.SPOOL_NAME)
            spool.private_file(db_path)
        except OSError as exc:
            raise HistoryError(f"cannot create the history in {folder}: {exc.strerror or exc}") from None
        db = Database.open(db_path)
        history = cls(db, folder, settings)
        try:
            history.recover()
            history.prune()
        except BaseException:
            history.close()
            raise
        return history

    def close(self) -> None:
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
        moment = now()
        name = spool.audio_name(moment, ext)
        if not data:
            raise HistoryError("nothing to spool: the audio is empty")
        with self._db.transaction() as db:
            try:
                spool.write_durably(self.spool_dir / name, data)
            except OSError as exc:
                raise HistoryError(f"cannot write the recording to {self.spool_dir}: {exc.strerror or exc}") from None
            cursor = db.execute(
                "INSERT INTO dictations (created, updated, source, status, duration, model, host, audio_name,"
                " press_to_audio_ms, claimed_pid, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    iso(moment),
                    iso(moment),
                    source,
                    QUEUED,
                    duration,
                    model,
                    endpoint_host(base_url),
                    name,
                    _ms(press_to_audio_ms),
                    os.getpid(),  # the spooling process is the one about to send it
                    iso(moment),
                ),
            )
            assert cursor.lastrowid is not None
            return load(db, self.spool_dir, cursor.lastrowid)

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
        with self._db.transaction() as db:
            entry = self._require(db, entry_id, "marked failed", lambda e: e.can_become(FAILED))
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
                    iso(now()),
                    entry.id,
                ),
            )
            return load(db, self.spool_dir, entry.id)

    def mark_done(
        self,
        entry_id: int | str,
        text: str,
        *,
        attempts: int = 1,
        bytes_uploaded: int | None = None,
        release_to_request_ms: float | None = None,
        server_ms: float | None = None,
        raw_text: str | None = None,
    ) -> Entry:
        """Record the transcript (queued/failed -> done); with the history off the text is not stored.
        `raw_text` is the transcript as heard, kept beside the text when the text layer changed it."""
        with self._db.transaction() as db:
            entry = self._require(db, entry_id, "marked done", lambda e: e.can_become(DONE))
            db.execute(
                "UPDATE dictations SET status = ?, text = ?, attempts = attempts + ?,"
                " bytes_uploaded = coalesce(?, bytes_uploaded),"
                " release_to_request_ms = coalesce(?, release_to_request_ms),"
                " server_ms = coalesce(?, server_ms), raw_text = ?, updated = ? WHERE id = ?",
                (
                    DONE,
                    text if self.settings.enabled else None,
                    attempts,
                    bytes_uploaded,
                    _ms(release_to_request_ms),
                    _ms(server_ms),
                    raw_text if self.settings.enabled and raw_text != text else None,
                    iso(now()),
                    entry.id,
                ),
            )
            return load(db, self.spool_dir, entry.id)

    def mark_delivered(self, entry_id: int | str, *, release_to_delivery_ms: float | None = None) -> Entry:
        """Record that the text reached the user (done -> delivered); the audio is removed unless kept."""
        return self._finish(entry_id, DELIVERED, "marked delivered", release_to_delivery_ms=_ms(release_to_delivery_ms))

    def discard(self, entry_id: int | str, reason: str | None = None) -> Entry:
        """Give up on a dictation not yet delivered (queued/failed/done -> discarded), e.g. no words heard."""
        return self._finish(entry_id, DISCARDED, "discarded", error=reason[:MAX_ERROR_CHARS] if reason else None)

    def _finish(
        self,
        entry_id: int | str,
        status: str,
        verb: str,
        *,
        error: str | None = None,
        release_to_delivery_ms: int | None = None,
    ) -> Entry:
        leftover: Path | None = None
        with self._db.transaction() as db:
            entry = self._require(db, entry_id, verb, lambda e: e.can_become(status))
            moment = parse_time(iso(now()))  # the stored precision, so both branches agree
            if self.settings.enabled:
                drop = entry.audio_path is not None and not self.settings.keep_audio
                db.execute(
                    "UPDATE dictations SET status = ?, updated = ?, error = coalesce(?, error),"
                    " release_to_delivery_ms = coalesce(?, release_to_delivery_ms),"
                    " audio_removed = CASE WHEN ? THEN ? ELSE audio_removed END WHERE id = ?",
                    (status, iso(moment), error, release_to_delivery_ms, drop, iso(moment), entry.id),
                )
                leftover = entry.audio_path if drop else None
                final = load(db, self.spool_dir, entry.id)
            else:
                # The row only guarded the audio. The audio goes first: a crash before the commit
                # leaves a row whose file is missing (tidied on the next open), never a file that
                # would come back as a new recording.
                if entry.audio_path:
                    spool.unlink(entry.audio_path)
                db.execute("DELETE FROM dictations WHERE id = ?", (entry.id,))
                final = dataclasses.replace(
                    entry,
                    status=status,
                    updated=moment,
                    audio_path=None,
                    error=error or entry.error,
                    release_to_delivery_ms=release_to_delivery_ms,
                )
        # After the commit: a crash here leaves a file whose row says it was removed, which the
        # next open deletes instead of taking it for a lost recording.
        if leftover:
            spool.unlink(leftover)
        if time.monotonic() - self._last_prune >= PRUNE_EVERY:
            self.prune()
        return final

    def append_audio(self, entry_id: int | str, pcm: bytes, seconds: float) -> Entry:
        """Durably add PCM samples to the end of a pending dictation's WAV spool (a longer take of the
        same recording), now `seconds` long: cheap however long the dictation already is.
        """
        with self._db.transaction() as db:
            entry = self._require(db, entry_id, "given more audio", lambda e: e.pending and e.audio_path is not None)
            assert entry.audio_path is not None
            try:
                spool.append_pcm(entry.audio_path, pcm)
            except (OSError, ValueError) as exc:
                detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise HistoryError(f"cannot add to the recording {entry.audio_path}: {detail}") from None
            db.execute("UPDATE dictations SET duration = ?, updated = ? WHERE id = ?", (seconds, iso(now()), entry.id))
            return load(db, self.spool_dir, entry.id)

    # ---- claims: one sender per dictation -----------------------------------------------------

    def claim(self, entry_id: int | str) -> bool:
        """Take a pending dictation for sending by this process; False when a live process has it (claims.py)."""
        with self._db.transaction() as db:
            return claims.take(db, load(db, self.spool_dir, entry_id))

    def release(self, entry_id: int | str) -> None:
        """Give up this process's claim, so `dictate retry` or the daemon may send it."""
        with self._db.transaction() as db:
            claims.release(db, parse_id(entry_id))

    # ---- reading -----------------------------------------------------------------------------

    def get(self, entry_id: int | str) -> Entry:
        """The dictation with this ID; UnknownEntry (exit 2) when there is none."""
        with self._db.reading() as db:
            return load(db, self.spool_dir, entry_id)

    def entries(self, *, search: str | None = None, limit: int | None = None) -> list[Entry]:
        """Dictations newest first; `search` matches text case-insensitively; limit None or 0 = all."""
        query = SELECT
        params: list[Any] = []
        if search:
            query += " WHERE instr(dictate_fold(text), ?) > 0"
            params.append(search.casefold())
        query += " ORDER BY created DESC, id DESC"
        if limit:
            query += " LIMIT ?"
            params.append(limit)
        with self._db.reading() as db:
            return [from_row(row, self.spool_dir) for row in db.execute(query, params)]

    def pending(self) -> list[Entry]:
        """Dictations whose text was never obtained (see the module docs), oldest first."""
        query = SELECT + " WHERE " + PENDING_SQL + " ORDER BY created, id"
        with self._db.reading() as db:
            return [from_row(row, self.spool_dir) for row in db.execute(query)]

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
        """Reconcile the spool with the rows after a crash (see recovery.py); return the recordings given new rows."""
        with self._db.transaction() as db:
            adopted = recovery.recover(db, self.spool_dir, history_on=self.settings.enabled)
        if adopted:
            log.warning(
                "found %d recording(s) in %s that were never transcribed; `dictate retry` sends them",
                len(adopted),
                self.spool_dir,
            )
        return adopted

    def prune(self) -> int:
        """Delete delivered/discarded rows (and kept audio) beyond max_days / max_entries; return how many."""
        self._last_prune = time.monotonic()
        with self._db.transaction() as db:
            deleted = retention.prune(
                db, self.spool_dir, max_days=self.settings.max_days, max_entries=self.settings.max_entries
            )
        if deleted:
            log.debug("pruned %d old dictation(s) from %s", deleted, self.db_path)
        return deleted

    # ---- plumbing ----------------------------------------------------------------------------

    def _require(
        self, db: sqlite3.Connection, entry_id: int | str, verb: str, allowed: Callable[[Entry], bool]
    ) -> Entry:
        entry = load(db, self.spool_dir, entry_id)
        if not allowed(entry):
            raise EntryStateError(f"dictation {entry.id} is {entry.status} and cannot be {verb}")
        return entry


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value)
