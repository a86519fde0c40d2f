"""What a dictation leaves in the store, the same for every front end: its audio spooled in the upload
format, each step recorded, its delivery recorded, and what the disk refused held in memory until sent.

The store's failures never cost a dictation: a step the history cannot record is a warning (said once
per process), and audio the disk refuses stays in memory (`held`), which the daemon's background
retry sends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from dictate.audio import Recording, encode
from dictate.config import Config
from dictate.errors import DictateError
from dictate.store import History, HistoryError, Spooled

if TYPE_CHECKING:
    from dictate.dictation import Dictation, Result

log = logging.getLogger("dictate")

IN_MEMORY = "it is kept in memory until it is sent, and lost if dictate exits first"


class Safekeeping:
    """The settings and the history, and every step a dictation takes in them."""

    def __init__(self, config: Config, history: History | None, *, keep_claims: bool = False) -> None:
        self.config = config
        self.history = history
        # A failed dictation is left for `dictate retry` or the daemon, unless its sender retries it itself.
        self.keep_claims = keep_claims
        self._held: list[Dictation] = []  # failed, and not all on disk: kept in memory until sent
        self._lock = threading.Lock()
        self._said: set[str] = set()

    def spool(self, recording: Recording, *, source: str, press_ms: float | None = None) -> Spooled | None:
        """Write a recording durably to the spool as a new dictation; None (said in one line) when the
        disk refused it: a full disk must not also cost the dictation in memory."""
        try:
            return self.save(None, recording, source=source, press_ms=press_ms)
        except HistoryError as exc:
            log.warning("warning: %s; %s", exc.message, IN_MEMORY)
            return None

    def save(
        self, spooled: Spooled | None, recording: Recording, *, source: str, press_ms: float | None = None
    ) -> Spooled | None:
        """Add the recording to the spool in the upload format, as part 1 of a new dictation or the
        next part of `spooled`; None without a history. HistoryError when the disk refuses."""
        if self.history is None:
            return None
        audio = encode(recording, self.config.api.format)
        if spooled is not None:
            return self.history.add_part(spooled, audio)
        api = self.config.api
        spooled = self.history.spool(
            audio, source=source, model=api.model, base_url=api.base_url, press_to_audio_ms=press_ms
        )
        known = self.history.problem.message if self.history.problem else None
        if spooled.unindexed and spooled.unindexed != known:  # a database that broke since it was opened
            self.say(f"warning: {spooled.unindexed}; the recording is kept in the spool")
        return spooled

    def deliver(
        self, result: Result, write: Callable[[str], None], *, text: str | None = None, released_at: float | None = None
    ) -> None:
        """Record the text (done), hand it (by default the result's) to `write`, then record that it
        reached the user; the spooled audio goes unless kept.

        The text is recorded before it goes out, without waiting for the disk: a crash in between
        leaves it in the history, never a dictation that `dictate retry` would deliver a second
        time. When `write` fails, the text stays in the history."""
        self.keep(result, released_at=released_at, durable=False)
        try:
            write(result.text if text is None else text)
        except DictateError as exc:
            self.release(result.spooled)
            if result.entry_id is None:
                kept = "; the recording is kept in the spool" if result.spooled else ""
            else:
                kept = f"; the text is kept in the history: `dictate history show {result.entry_id}`"
            raise DictateError(f"{exc.message}{kept}") from None
        ms = (time.monotonic() - released_at) * 1000 if released_at else None
        spooled = result.spooled
        if spooled is None:
            return
        entry_id = spooled.id
        if entry_id is None or not self.record(lambda h: h.mark_delivered(entry_id, release_to_delivery_ms=ms)):
            self.drop(spooled)  # delivered: whatever the history could not record, it is never sent again

    def keep(self, result: Result, *, released_at: float | None = None, durable: bool = True) -> bool:
        """Record a dictation's text in the history (done); its audio stays until it is delivered.
        False when it could not be recorded."""
        if result.entry_id is None or not result.text:
            return False
        entry_id = result.entry_id
        to_request = (result.request_sent_at - released_at) * 1000 if result.request_sent_at and released_at else None
        server_ms = result.server_seconds * 1000 if result.server_seconds is not None else None
        return self.record(
            lambda h: h.mark_done(
                entry_id,
                result.text,
                attempts=result.attempts,
                bytes_uploaded=result.bytes_sent,
                release_to_request_ms=to_request,
                server_ms=server_ms,
                duration=result.seconds,
                durable=durable,
                raw_text=result.heard,
            )
        )

    def discard(self, spooled: Spooled | None, reason: str) -> None:
        if spooled is None or self.history is None:
            return
        entry_id = spooled.id
        if entry_id is None or not self.record(lambda h: h.discard(entry_id, reason)):
            self.drop(spooled)

    def drop(self, spooled: Spooled) -> None:
        """Delete a finished dictation's audio that the history could not record as finished."""
        if self.history is not None:
            try:
                self.history.drop(spooled)
            except HistoryError as exc:
                log.warning("warning: %s", exc.message)

    def release(self, spooled: Spooled | None) -> None:
        if spooled is not None and self.history is not None:
            self.history.release(spooled)

    def record(self, step: Callable[[History], object]) -> bool:
        """Apply one step to the history; a failure is a warning, never the loss of the dictation."""
        if self.history is None:
            return False
        try:
            step(self.history)
        except HistoryError as exc:
            self.say(f"warning: history not updated: {exc.message}")
            return False
        return True

    def say(self, message: str) -> None:
        """Log a warning once per process: a broken database must not repeat itself at every step."""
        with self._lock:
            if message in self._said:
                return
            self._said.add(message)
        log.warning("%s", message)

    # ---- failed dictations the disk refused, kept in memory -----------------------------------

    def hold(self, dictation: Dictation) -> None:
        with self._lock:
            if dictation not in self._held:
                self._held.append(dictation)

    def forget(self, dictation: Dictation) -> None:
        with self._lock:
            if dictation in self._held:
                self._held.remove(dictation)

    def held(self) -> list[Dictation]:
        """Failed dictations kept in memory (not all on disk, or not in the index), oldest first."""
        with self._lock:
            return list(self._held)
