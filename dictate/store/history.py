"""The History: the audio spool (the truth) and the SQLite database that indexes it, behind one object.

Files, under `config.data_dir()`, folders 0700 and files 0600 whatever the umask:

    history.db (and its -wal / -shm)     one row per dictation, naming its audio by its key
    spool/<key>.<n>.<ext>                the audio of each dictation, in parts, until its text was delivered

How a crash stays harmless: `spool()` writes part 1 under a temporary name, fsyncs it, renames it
into place and fsyncs the folder, holding an flock on it (the claim, claims.py) from before the
write; only then is the row inserted. `add_part()` adds the next parts the same way. Every
`History.open()` runs the recovery scan (recovery.py), which leaves locked files to their live
process and rebuilds rows for whatever a dead one left.

The database only indexes: when it cannot be used (damaged, locked, read-only, written by a newer
dictate) the History still opens, reads what it can, and `problem` says why it cannot be written
and how to repair it. `spool()` then still keeps the audio, unindexed (`Spooled.id` is None); the
next open with a usable database indexes it. Only a disk that refuses the audio itself makes
`spool()` fail.

Each dictation moves through the statuses of entries.py. `pending()` lists the dictations whose text
is not in hand, oldest first: queued and failed ones and, with the history off, done ones not yet
delivered (their text was not stored, so `dictate retry` must transcribe them again).

[history] enabled = false (no text history). The spool works exactly as above, because it is the
no-loss guarantee, but: text is never written to disk (a `done` row has no text, so it stays pending
until delivered, and `dictate retry` transcribes it again), keep_audio is ignored, and a row is deleted
together with its audio as soon as it is delivered or discarded.

Retention (retention.py) runs in `History.open()`, and after a dictation is delivered or discarded
when the last pass was PRUNE_EVERY (an hour) or more ago.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dictate.store import recovery, retention, spool
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
    iso,
    load,
    now,
    parse_time,
)

if TYPE_CHECKING:
    from types import TracebackType

    from dictate.audio import EncodedAudio, Recording
    from dictate.config import HistoryConfig

log = logging.getLogger(__name__)

DB_NAME = "history.db"
PRUNE_EVERY = 3600.0  # seconds from one retention pass until a delivery or discard runs the next
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Spooled:
    """A dictation's audio in the spool, as the process that wrote it holds it (claimed)."""

    key: str  # its name in the spool
    id: int | None  # its row; None when the database could not index it (`unindexed` says why)
    parts: int = 1
    unindexed: str | None = None


Target = int | str | Spooled  # a dictation: its ID, or the Spooled from spool()


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
            history = cls._reading(folder, settings, HistoryError(f"cannot write in {folder}: {exc.strerror or exc}"))
            history.can_spool = False
            return history
        try:
            db = Database.open(db_path)
        except HistoryError as exc:
            history = cls._reading(folder, settings, exc)
            history.can_spool = not isinstance(exc, DiskFull)  # a full disk is said when a recording meets it
            return history
        history = cls(db, folder, settings, problem=db.read_only)
        if db.writable:
            try:
                history.recover()
                history.prune()
            except HistoryError as exc:  # a database that opened but fails further in
                history.close()
                return cls._reading(folder, settings, exc)
            except BaseException:
                history.close()
                raise
            db.opened()
        return history

    @classmethod
    def _reading(cls, folder: Path, settings: HistoryConfig, why: HistoryError) -> History:
        db = None
        if (folder / DB_NAME).is_file():
            try:
                db = Database.open_read_only(folder / DB_NAME, why)
            except HistoryError as exc:
                log.debug("history database not readable either: %s", exc.message)
        return cls(db, folder, settings, problem=why)

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
        data, ext, duration = _audio(audio, ext, duration)
        moment = now()
        key = spool.new_key(moment)
        fd = self._write_part(spool.part_name(key, 1, ext), data, keep_lock=True)
        assert fd is not None
        self._claims.keep(key, fd)
        try:
            with self._write() as db:
                cursor = db.execute(
                    "INSERT INTO dictations (created, updated, source, status, duration, model, host, audio_name,"
                    " press_to_audio_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        iso(moment),
                        iso(moment),
                        source,
                        QUEUED,
                        duration,
                        model,
                        endpoint_host(base_url),
                        key,
                        _ms(press_to_audio_ms),
                    ),
                )
        except HistoryError as exc:
            return Spooled(key, None, unindexed=exc.message)
        assert cursor.lastrowid is not None
        return Spooled(key, cursor.lastrowid)

    def add_part(self, spooled: Spooled, audio: EncodedAudio | bytes, *, ext: str | None = None) -> Spooled:
        """Durably add the next part to a dictation this History spooled; HistoryError when the disk refuses."""
        data, ext, _ = _audio(audio, ext, None)
        number = spooled.parts + 1
        self._write_part(spool.part_name(spooled.key, number, ext), data)
        return dataclasses.replace(spooled, parts=number)

    def drop(self, spooled: Spooled) -> None:
        """Delete the audio of a dictation the database never indexed (delivered, or given up) and let it go."""
        try:
            _remove(spool.parts(self.spool_dir, spooled.key), strict=True)
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
        file when a file cannot be read or decoded.
        """
        import numpy as np

        from dictate.audio import Recording, decode
        from dictate.errors import DictateError

        label, files = self._files(target)
        if not files:
            raise EntryStateError(f"{label} has no audio any more")
        pieces: list[Recording] = []
        for path in files:
            try:
                recording = decode(path.read_bytes())
            except OSError as exc:
                raise HistoryError(f"{label}: cannot read {path}: {exc.strerror or exc}") from None
            except DictateError as exc:
                detail = exc.message.removeprefix("audio data: ")
                raise HistoryError(f"{label}: {path} is damaged ({detail})") from None
            pieces.append(recording.at_rate(pieces[0].rate) if pieces else recording)
        return Recording(np.concatenate([p.samples for p in pieces]), pieces[0].rate)

    def unindexed(self) -> list[str]:
        """Keys of the dictations in the spool that no row names (while the database cannot be written)."""
        try:
            found = spool.scan(self.spool_dir)
        except OSError:
            return []
        named: set[str] = set()
        if self._db is not None:
            with contextlib.suppress(HistoryError), self._db.reading() as db:
                rows = db.execute("SELECT audio_name FROM dictations WHERE audio_name IS NOT NULL").fetchall()
                named = {k for row in rows if (k := spool.key_of(row[0])) is not None}
        return [key for key in found.dictations if key not in named]

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
        with self._write() as db:
            entry = self._require(db, entry_id, "marked failed", lambda e: e.can_become(FAILED))
            db.execute(
                "UPDATE dictations SET status = ?, error = ?, attempts = attempts + ?,"
                " bytes_uploaded = coalesce(?, bytes_uploaded), duration = coalesce(?, duration),"
                " release_to_request_ms = coalesce(?, release_to_request_ms), updated = ? WHERE id = ?",
                (
                    FAILED,
                    error[:MAX_ERROR_CHARS],
                    attempts,
                    bytes_uploaded,
                    duration,
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
        duration: float | None = None,
        durable: bool = True,
    ) -> Entry:
        """Record the transcript (queued/failed -> done); with the history off the text is not stored.

        `durable=False` does not wait for the disk (Database.transaction): for the step just before
        the text goes out, which a later durable step makes durable.
        """
        with self._write(durable=durable) as db:
            entry = self._require(db, entry_id, "marked done", lambda e: e.can_become(DONE))
            db.execute(
                "UPDATE dictations SET status = ?, text = ?, attempts = attempts + ?,"
                " bytes_uploaded = coalesce(?, bytes_uploaded), duration = coalesce(?, duration),"
                " release_to_request_ms = coalesce(?, release_to_request_ms),"
                " server_ms = coalesce(?, server_ms), updated = ? WHERE id = ?",
                (
                    DONE,
                    text if self.settings.enabled else None,
                    attempts,
                    bytes_uploaded,
                    duration,
                    _ms(release_to_request_ms),
                    _ms(server_ms),
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
        leftover: list[Path] = []
        with self._write() as db:
            entry = self._require(db, entry_id, verb, lambda e: e.can_become(status))
            moment = parse_time(iso(now()))  # the stored precision, so both branches agree
            if self.settings.enabled:
                drop = bool(entry.audio_parts) and not self.settings.keep_audio
                db.execute(
                    "UPDATE dictations SET status = ?, updated = ?, error = coalesce(?, error),"
                    " release_to_delivery_ms = coalesce(?, release_to_delivery_ms),"
                    " audio_removed = CASE WHEN ? THEN ? ELSE audio_removed END WHERE id = ?",
                    (status, iso(moment), error, release_to_delivery_ms, drop, iso(moment), entry.id),
                )
                leftover = list(entry.audio_parts) if drop else []
                final = load(db, self.spool_dir, entry.id)
            else:
                # The row only guarded the audio. The audio goes first: a crash before the commit
                # leaves a row whose audio is missing (tidied on the next open), never audio that
                # would come back as a new recording.
                _remove(list(entry.audio_parts))
                db.execute("DELETE FROM dictations WHERE id = ?", (entry.id,))
                final = dataclasses.replace(
                    entry,
                    status=status,
                    updated=moment,
                    audio_path=None,
                    audio_parts=(),
                    error=error or entry.error,
                    release_to_delivery_ms=release_to_delivery_ms,
                )
        # After the commit: a crash here leaves files whose row says they were removed, which the
        # next open deletes instead of taking them for a lost recording.
        _remove(leftover)
        if entry.key is not None:
            self._claims.release(entry.key)
        if time.monotonic() - self._last_prune >= PRUNE_EVERY:
            self.prune()
        return final

    # ---- claims: one sender per dictation -----------------------------------------------------

    def claim(self, target: Target) -> bool:
        """Take a pending dictation for sending by this History; False when a live process has it,
        or its text is in hand (claims.py)."""
        entry_id = _entry_id(target)
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
            return [from_row(row, self.spool_dir) for row in db.execute(query, params)]

    def pending(self) -> list[Entry]:
        """Dictations whose text was never obtained (see the module docs), oldest first."""
        if self._db is None:
            return []
        with self._read() as db:
            return [
                from_row(row, self.spool_dir)
                for row in db.execute(SELECT + " WHERE " + PENDING_SQL + " ORDER BY created, id")
            ]

    # ---- recovery and retention --------------------------------------------------------------

    def recover(self) -> list[Entry]:
        """Rebuild rows for what the spool holds after a crash (recovery.py); return the recordings given rows."""
        with self._write() as db:
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

    def _write_part(self, name: str, data: bytes, *, keep_lock: bool = False) -> int | None:
        if not data:
            raise HistoryError("nothing to spool: the audio is empty")
        try:
            try:
                return spool.write_durably(self.spool_dir / name, data, keep_lock=keep_lock)
            except FileNotFoundError:
                spool.private_dir(self.spool_dir)  # a folder that could not be made at open, or was removed
                return spool.write_durably(self.spool_dir / name, data, keep_lock=keep_lock)
        except OSError as exc:
            raise HistoryError(f"cannot write the recording to {self.spool_dir}: {exc.strerror or exc}") from None

    def _files(self, target: Target) -> tuple[str, list[Path]]:
        entry_id = _entry_id(target)
        if entry_id is None:
            assert isinstance(target, Spooled)
            return "the recording", spool.parts(self.spool_dir, target.key)
        entry = self.get(entry_id)
        return f"dictation {entry.id}", list(entry.audio_parts)

    def _require(
        self, db: sqlite3.Connection, entry_id: int | str, verb: str, allowed: Callable[[Entry], bool]
    ) -> Entry:
        entry = load(db, self.spool_dir, entry_id)
        if not allowed(entry):
            raise EntryStateError(f"dictation {entry.id} is {entry.status} and cannot be {verb}")
        return entry


def _entry_id(target: Target) -> int | str | None:
    return target.id if isinstance(target, Spooled) else target


def _audio(audio: EncodedAudio | bytes, ext: str | None, duration: float | None) -> tuple[bytes, str, float | None]:
    if isinstance(audio, bytes | bytearray | memoryview):
        return bytes(audio), ext or "wav", duration
    ext = ext or Path(audio.filename).suffix.lstrip(".") or "wav"
    return audio.data, ext, audio.seconds if duration is None else duration


def _remove(files: list[Path], *, strict: bool = False) -> None:
    """Delete a dictation's files, part 1 first: parts left without it are known for a removal that died.

    A file that cannot be deleted is a warning (the next open deletes it, as its row says it was
    removed), or with `strict` (no row says so) a HistoryError.
    """
    for path in files:
        try:
            spool.unlink(path)
        except OSError as exc:
            message = f"cannot delete {path}: {exc.strerror or exc}"
            if strict:
                raise HistoryError(message) from None
            log.warning("warning: %s; it is deleted on the next start", message)


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value)
