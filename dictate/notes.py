"""Hands-free note taking: listen continuously, cut speech into utterances at pauses, transcribe each
in the background, and append it with its time to a notes file, in order, one flushed line at a time.

Each utterance is spooled the moment it is cut, so when the endpoint is down the utterances wait on
disk and are appended, still in order, once it answers again. At exit the worker gets EXIT_WAIT
seconds; what it has not sent by then stays in the spool for `dictate retry`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from dictate.audio import Recording, has_speech
from dictate.config import Config, data_dir
from dictate.dictation import NothingToSend, Pipeline, Result, TranscriptionFailed
from dictate.errors import DictateError
from dictate.files import kind_of
from dictate.listening import EXIT_WAIT, Event, Listening, Loop, Microphone, Part, Worker, open_recorder
from dictate.statusfeed import Feed
from dictate.store import Spooled

log = logging.getLogger("dictate")

LEAD_SECONDS = 0.3  # silence kept before an utterance
RETRY_FIRST, RETRY_MAX = 2.0, 30.0  # seconds between attempts while the endpoint is down


class Sink(Protocol):
    def write(self, started: datetime, text: str) -> None: ...

    def close(self) -> None: ...


def default_notes_file(now: datetime | None = None) -> Path:
    return data_dir() / "notes" / f"{(now or datetime.now()):%Y-%m-%d}.md"


class NotesFile:
    """Append one line per utterance, written whole and fsynced, so earlier notes stay intact. The file
    is opened afresh for each note: an editor that saves by renaming a new file over it gets the next
    notes in the file it saved, not in the one it replaced. A disk that refuses a note leaves no half
    line: the file is cut back to where it was, and the note stays in the history."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DictateError(f"cannot open the notes file {path}: {exc.strerror}") from None
        os.close(self._open())  # said now, before anyone speaks, when it cannot be written

    def _open(self) -> int:
        try:  # read-write, non-blocking: a pipe would wait for ever for a reader (and its last byte is read)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise DictateError(f"cannot open the notes file {self.path}: {exc.strerror}") from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise DictateError(f"the notes file {self.path} is {kind_of(mode)}, not a regular file")
        return fd

    def write(self, started: datetime, text: str) -> None:
        line = f"- {started:%Y-%m-%d %H:%M:%S} {text}\n"
        fd = self._open()
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a file edited by hand
                line = "\n" + line
            try:
                data = memoryview(line.encode())
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)  # no half line for the next note to be glued to
                raise DictateError(f"cannot add the note to {self.path}: {exc.strerror or exc}") from None
        finally:
            os.close(fd)

    def close(self) -> None:
        pass  # nothing held between notes


class LineSink:
    """Deliver each utterance's text through a function (stdout, or typing at the cursor)."""

    def __init__(self, deliver: Callable[[str], None]) -> None:
        self.deliver = deliver

    def write(self, started: datetime, text: str) -> None:
        self.deliver(text)

    def close(self) -> None:
        pass


@dataclass
class Utterance:
    started: datetime
    recording: Recording
    spooled: Spooled | None  # its place in the spool, None when it could not be written there
    ended_at: float = field(default_factory=time.monotonic)  # when its pause was heard, for -v


class NoteTaker(Loop):
    def __init__(
        self,
        config: Config,
        pipeline: Pipeline,
        sink: Sink,
        *,
        microphone: Callable[[Any], Microphone] = open_recorder,
    ) -> None:
        super().__init__()
        self.config = config
        self.pipeline = pipeline
        self.sink = sink
        self.microphone = microphone
        self.paused = False
        self.written = 0
        self._stopping = threading.Event()
        self.worker: Worker[Utterance] = Worker("notes-worker", self._process)
        self.feed = Feed()  # the status for desktop bars (`dictate ctl status --notes --follow`)

    @property
    def state(self) -> str:
        return "paused" if self.paused else "listening"

    def step(self) -> None:
        super().step()
        self.feed.publish(lambda: {"state": self.state, "queued": self.worker.unfinished(), "delivered": self.written})

    # ---- the main thread ---------------------------------------------------------------------

    def started(self) -> None:
        self.worker.start()
        self._open()

    def apply(self, event: Event) -> dict[str, Any]:
        name = event.name
        if name in ("pause", "toggle", "stop") and not self.paused:
            self._close()
            self.paused = True
            log.info("paused")
        elif name in ("resume", "toggle", "start") and self.paused:
            self._open()
            self.paused = False
            log.info("listening")
        elif name not in ("status", "pause", "resume", "toggle", "start", "stop"):
            return {"ok": False, "error": f"{name} is not available in notes mode", "state": self.state}
        return {"ok": True, "state": self.state, "queued": self.worker.pending(), "delivered": self.written}

    def take(self, parts: list[Part]) -> None:
        for part in parts:
            self._queue(part)

    def finished(self) -> None:
        self._stopping.set()
        self._close()
        pending = self.worker.unfinished()
        if pending:
            log.info("finishing %d pending utterance(s)…", pending)
        if not self.worker.finish(EXIT_WAIT):
            log.warning(
                "stopped with %d utterance(s) not transcribed yet; they are in the spool: "
                "`dictate retry --all` sends them",
                self.worker.unfinished(),
            )
        self.feed.close()

    def _open(self) -> None:
        self.listening = Listening(
            self.config.audio,
            ((0.5, self.config.notes.pause_seconds),),
            max_lead_seconds=LEAD_SECONDS,
            bounded=False,
            microphone=self.microphone,
        )

    def _close(self) -> None:
        """Stop listening; an utterance in progress is kept."""
        if self.listening is None:
            return
        listening, self.listening = self.listening, None
        rest = listening.end()
        if has_speech(rest.recording):
            self._queue(rest, listening)

    def _queue(self, part: Part, listening: Listening | None = None) -> None:
        listening = listening or self.listening
        assert listening is not None
        started = datetime.fromtimestamp(listening.opened_at + part.start)
        spooled = self.pipeline.spool(part.recording, source="notes")
        log.debug("utterance of %.1f s queued", part.recording.seconds)
        self.worker.put(Utterance(started, part.recording, spooled))

    # ---- the worker: in order, and patient while the endpoint is down -------------------------

    def _process(self, utterance: Utterance) -> None:
        delay = RETRY_FIRST
        attempt_after_stop = False
        while True:
            try:
                result = self._send(utterance)
                break
            except NothingToSend:
                return
            except TranscriptionFailed as exc:
                if self._stopping.is_set():
                    if attempt_after_stop:
                        self._give_up(utterance, exc)
                        return
                    attempt_after_stop = True
                    continue
                log.error("%s; trying again in %.0f s", exc.message.split("; the recording is saved")[0], delay)
                if self._stopping.wait(delay):
                    continue
                delay = min(delay * 2, RETRY_MAX)
        log.debug("utterance from %s: %s", f"{utterance.started:%H:%M:%S}", result.timings(utterance.ended_at))
        if result.text:
            self.pipeline.deliver(result, lambda text: self.sink.write(utterance.started, text))
            self.written += 1

    def _send(self, utterance: Utterance) -> Result:
        history = self.pipeline.history
        if utterance.spooled is not None and history is not None:
            if not history.claim(utterance.spooled):
                raise NothingToSend(f"dictation {utterance.spooled.id} was taken by another dictate process")
            return self.pipeline.resend(utterance.spooled)
        return self.pipeline.send(utterance.recording, source="notes", had_speech=True)

    def _give_up(self, utterance: Utterance, exc: TranscriptionFailed) -> None:
        entry_id = utterance.spooled.id if utterance.spooled is not None else None
        if entry_id is not None:
            log.error(
                "utterance from %s is saved as dictation %d; add it later with `dictate retry %d`",
                f"{utterance.started:%H:%M:%S}",
                entry_id,
                entry_id,
            )
        else:
            log.error("utterance from %s is lost: %s", f"{utterance.started:%H:%M:%S}", exc.message)
