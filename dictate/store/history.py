"""The History: the audio spool (the truth) and the SQLite database that indexes it, behind one object.

Files, under `config.data_dir()`, folders 0700 and files 0600 whatever the umask:

    history.db (and its -wal / -shm)     one row per dictation, naming its audio by its key
    spool/<key>.<n>.<ext>                the audio of each dictation, in parts, until its text was delivered

How a crash stays harmless: `spool()` writes part 1 durably under an flock (the claim, claims.py)
and only then inserts its row; `add_part()` adds the next parts the same way. Every `open()` runs
the recovery scan (recovery.py), which leaves locked files to their live process and rebuilds rows
for whatever a dead one left.

The database only indexes: when it cannot be written (damaged, locked, read-only, of a newer
dictate) the History opens all the same, reads what it can, and `problem` says why and what to do;
`spool()` still keeps the audio, unindexed (`Spooled.id` None), for the next open to index. Only a
disk that refuses the audio itself makes `spool()` fail.

`pending()` lists the dictations whose text is not in hand, oldest first (entries.py). With
[history] enabled = false the spool works the same (it is the no-loss guarantee), but text is never
written to disk (a `done` row stays pending until delivered), keep_audio is ignored, and a row is
deleted with its audio once delivered or discarded. Retention (retention.py) runs on open, and after
a delivery or discard once PRUNE_EVERY has passed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dictate.store import database, recordings, recovery, retention, spool, steps
from dictate.store.claims import Claims
from dictate.store.database import Database, DiskFull
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
    insert,
    iso,
    load,
    now,
)
from dictate.store.recordings import Spooled, Target

if TYPE_CHECKING:
    from types import TracebackType

    from dictate.audio import EncodedAudio, Recording
    from dictate.config import HistoryConfig

log = logging.getLogger(__name__)

DB_NAME = "history.db"
PRUNE_EVERY = 3600.0  # seconds from one retention pass until a delivery or discard runs the next
MAX_ERROR_CHARS = 2000


class History:
    """The spool and the database that indexes it. Open with `History.open()`; safe across threads."""

    def __init__(
        self, db: Database | None, folder: Path, settings: HistoryConfig, *, problem: HistoryError | None = None
    ) -> None:
        self.folder = folder
        self.db_path = folder / DB_NAME
        self.spool_dir = folder / spool.SPOOL_NAME
        self.settings = settings
        self.problem = problem  # why the database cannot be written, with what to do; None when it can
        self.can_spool = True  # False when the data folder itself refused to be written
        self._db = db
        self._claims = Claims()
        self._last_prune = 0.0

    @classmethod
    def open(cls, settings: HistoryConfig | None = None, folder: Path | None = None) -> History:
        """Open the history in `folder` (default: the data dir): created, migrated, recovered and pruned;
        or, when it cannot be written, for reading what it can, `problem` saying why."""
        from dictate import config

        settings = settings or config.HistoryConfig()
        folder = folder or config.data_dir()
        db_path = folder / DB_NAME
        try:
            spool.private_dir(folder)
            spool.private_dir(folder / spool.SPOOL_NAME)
            spool.private_file(db_path)
        except OSError as exc:
            refused = HistoryError(f"cannot write in {folder}: {exc.strerror or exc}")
            history = cls(database.read_only(db_path, refused), folder, settings, problem=refused)
            history.can_spool = False  # said by the first recording that meets it
            return history
        db, why = database.open_index(db_path)
        history = cls(db, folder, settings, problem=why)
        history.can_spool = not isinstance(why, DiskFull)
        if db is not None and db.writable:
            try:
                history.recover()
                history.prune()
            except HistoryError as exc:  # a database that opened but fails further in
                history.close()
                return cls(database.read_only(db_path, exc), folder, settings, problem=exc)
            except BaseException:
                history.close()
                raise
            db.opened()
        return history

    @property
    def readable(self) -> bool:
        """Its database could be opened, at least for reading."""
        return self._db is not None

    def close(self) -> None:
        self._claims.release_all()
        if self._db is not None:
            self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- the spool ---------------------------------------------------------------------------

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
    ) -> Spooled:
        """Write the audio durably as part 1 of a new dictation, claimed by this History, and index it
        as `queued`; call before any upload.

        HistoryError when the disk refuses the audio (nothing is written then). When only the
        database refuses, the audio is kept all the same, unindexed. `base_url` is reduced to its
        host; `ext` defaults to the EncodedAudio's file extension ("wav" for bytes).
        """
        data, ext, duration = recordings.encoded(audio, ext, duration)
        moment = now()
        key = spool.new_key(moment)
        fd = recordings.write_part(self.spool_dir, spool.part_name(key, 1, ext), data, keep_lock=True)
        assert fd is not None
        self._claims.keep(key, fd)
        row = {
            "created": iso(moment),
            "updated": iso(moment),
            "source": source,
            "status": QUEUED,
            "duration": duration,
            "model": model,
            "host": endpoint_host(base_url),
            "audio_name": key,
            "press_to_audio_ms": _ms(press_to_audio_ms),
        }
        try:
            with self._write() as db:
                new_id = insert(db, row)
        except HistoryError as exc:
            return Spooled(key, None, unindexed=exc.message)
        return Spooled(key, new_id)

    def add_part(self, spooled: Spooled, audio: EncodedAudio | bytes, *, ext: str | None = None) -> Spooled:
        """Durably add the next part to a dictation this History spooled; HistoryError when the disk refuses."""
        data, ext, _ = recordings.encoded(audio, ext, None)
        number = spooled.parts + 1
        recordings.write_part(self.spool_dir, spool.part_name(spooled.key, number, ext), data)
        return dataclasses.replace(spooled, parts=number)

    def drop(self, spooled: Spooled) -> None:
        """Delete the audio of a dictation the database never indexed (delivered, or given up) and let it go."""
        try:
            recordings.remove(spool.parts(self.spool_dir, spooled.key), strict=True)
        finally:
            self._claims.release(spooled.key)

    def handle(self, entry_id: int | str) -> Spooled:
        """The Spooled of an indexed dictation (for `Pipeline.resend`); EntryStateError without audio."""
        entry = self.get(entry_id)
        if entry.key is None or not entry.audio_parts:
            raise EntryStateError(f"dictation {entry.id} has no audio any more ({entry.status})")
        return Spooled(entry.key, entry.id, parts=len(entry.audio_parts))

    def read_recording(self, target: Target) -> Recording:
        """The whole audio of a dictation, its parts decoded and joined (for `dictate retry`).

        EntryStateError when it has no audio any more; HistoryError naming the dictation and the
        file when a file cannot be read, is damaged or cut short, or the parts hold less than the
        row's recorded duration (recordings.read_whole): nothing is deleted then.
        """
        entry_id = recordings.entry_id(target)
        if entry_id is None:
            assert isinstance(target, Spooled)
            files = spool.parts(self.spool_dir, target.key)
            return recordings.read_whole("the recording", files, give_up="delete its files to give it up")
        entry = self.get(entry_id)
        return recordings.read_whole(
            f"dictation {entry.id}",
            list(entry.audio_parts),
            recorded=entry.duration,
            give_up=f"`dictate history discard {entry.id}` gives it up",
        )

    def unindexed(self) -> list[str]:
        """Keys of the dictations in the spool that no row names (while the database cannot be written)."""
        named: set[str] = set()
        if self._db is not None:
            with contextlib.suppress(HistoryError), self._db.reading() as db:
                rows = db.execute("SELECT audio_name FROM dictations WHERE audio_name IS NOT NULL").fetchall()
                named = {k for row in rows if (k := spool.key_of(row[0])) is not None}
        return recordings.unindexed(self.spool_dir, named)

    # ---- the status steps --------------------------------------------------------------------

    def mark_failed(
        self,
        entry_id: int | str,
        error: str,
        *,
        attempts: int = 1,
        bytes_uploaded: int | None = None,
        release_to_request_ms: float | None = None,
        duration: float | None = None,
    ) -> Entry:
        """Record a failed transcription (queued/failed -> failed); the audio stays for `dictate retry`."""
        return self._step(
            entry_id,
            FAILED,
            attempts,
            error=error[:MAX_ERROR_CHARS],
            bytes_uploaded=bytes_uploaded,
            duration=duration,
            release_to_request_ms=_ms(release_to_request_ms),
        )

    def mark_done(
        self,
        entry_id: int | str,
        text: str,
        *,
        attempts: int = 1,
        bytes_uploaded: int | None = None,
        release_to_request_ms: float | None = None,
        server_ms: float | None = None,
        duration: float | None = None,
        durable: bool = True,
        raw_text: str | None = None,
    ) -> Entry:
        """Record the transcript (queued/failed -> done); with the history off the text is not stored.
        `raw_text` is the transcript as heard, kept beside the text when the text layer changed it.

        `durable=False` does not wait for the disk (Database.transaction): for the step just before
        the text goes out, which a later durable step makes durable.
        """
        return self._step(
            entry_id,
            DONE,
            attempts,
            durable=durable,
            text=text if self.settings.enabled else None,
            raw_text=raw_text if self.settings.enabled and raw_text != text else None,
            bytes_uploaded=bytes_uploaded,
            duration=duration,
            release_to_request_ms=_ms(release_to_request_ms),
            server_ms=_ms(server_ms),
        )

    def _step(self, entry_id: int | str, status: str, attempts: int, *, durable: bool = True, **values: Any) -> Entry:
        with self._write(durable=durable) as db:
            return steps.step(db, self.spool_dir, entry_id, status, attempts, **values)

    def mark_delivered(self, entry_id: int | str, *, release_to_delivery_ms: float | None = None) -> Entry:
        """Record that the text reached the user (done -> delivered); the audio is removed unless kept."""
        return self._finish(entry_id, DELIVERED, "marked delivered", release_to_delivery_ms=_ms(release_to_delivery_ms))

    def discard(self, entry_id: int | str, reason: str | None = None) -> Entry:
        """Give up on a dictation not yet delivered (queued/failed/done -> discarded), e.g. no words heard."""
        return self._finish(entry_id, DISCARDED, "discarded", error=reason[:MAX_ERROR_CHARS] if reason else None)

    def _finish(self, entry_id: int | str, status: str, verb: str, **values: Any) -> Entry:
        keep_rows, keep_audio = self.settings.enabled, self.settings.keep_audio
        with self._write() as db:
            entry, final, leftover = steps.finish(
                db, self.spool_dir, entry_id, status, verb, keep_rows=keep_rows, keep_audio=keep_audio, **values
            )
        # After the commit: a crash here leaves files whose row says they were removed, which the
        # next open deletes instead of taking them for a lost recording.
        recordings.remove(leftover)
        if entry.key is not None:
            self._claims.release(entry.key)
        if time.monotonic() - self._last_prune >= PRUNE_EVERY:
            self.prune()
        return final

    # ---- claims: one sender per dictation -----------------------------------------------------

    def claim(self, target: Target) -> bool:
        """Take a pending dictation for sending by this History; False when a live process has it,
        or its text is in hand (claims.py)."""
        entry_id = recordings.entry_id(target)
        if entry_id is None:
            assert isinstance(target, Spooled)
            files = spool.parts(self.spool_dir, target.key)
            return bool(files) and self._claims.take(target.key, files[0])
        entry = self.get(entry_id)
        if not entry.pending or entry.key is None or not entry.audio_parts:
            return False
        if not self._claims.take(entry.key, entry.audio_parts[0]):
            return False
        if not self.get(entry.id).pending:  # finished by its last holder while this one waited
            self._claims.release(entry.key)
            return False
        return True

    def release(self, target: Target) -> None:
        """Give up this History's claim, so `dictate retry` or the daemon may send it."""
        if isinstance(target, Spooled):
            self._claims.release(target.key)
            return
        with contextlib.suppress(HistoryError):
            key = self.get(target).key
            if key is not None:
                self._claims.release(key)

    # ---- reading -----------------------------------------------------------------------------

    def get(self, entry_id: int | str) -> Entry:
        """The dictation with this ID; UnknownEntry (exit 2) when there is none."""
        with self._read() as db:
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
        if self._db is None:
            return []
        with self._read() as db:
            rows = db.execute(query, params).fetchall()
        found = spool.scan(self.spool_dir)  # listed once for every row
        return [from_row(row, self.spool_dir, found) for row in rows]

    def pending(self) -> list[Entry]:
        """Dictations whose text was never obtained (see the module docs), oldest first."""
        if self._db is None:
            return []
        with self._read() as db:
            rows = db.execute(SELECT + " WHERE " + PENDING_SQL + " ORDER BY created, id").fetchall()
        found = spool.scan(self.spool_dir)  # listed once for every row
        return [from_row(row, self.spool_dir, found) for row in rows]

    # ---- recovery and retention --------------------------------------------------------------

    def recover(self) -> list[Entry]:
        """Rebuild rows for what the spool holds after a crash (recovery.py); return the recordings given rows."""
        with self._write() as db:
            adopted = recovery.recover(db, self.spool_dir)
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
        with self._write() as db:
            deleted = retention.prune(
                db, self.spool_dir, max_days=self.settings.max_days, max_entries=self.settings.max_entries
            )
        if deleted:
            log.debug("pruned %d old dictation(s) from %s", deleted, self.db_path)
        return deleted

    # ---- plumbing ----------------------------------------------------------------------------

    def _write(self, *, durable: bool = True) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        if self._db is None:
            assert self.problem is not None
            raise self.problem
        return self._db.transaction(durable=durable)

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        if self._db is None:
            assert self.problem is not None
            raise self.problem
        with self._db.reading() as db:
            yield db


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value)
