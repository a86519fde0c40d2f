"""Hands-free note taking: listen continuously, cut speech into utterances at pauses, transcribe each
in the background, and append it with its time to a notes file, in order, one flushed line at a time.

Each utterance is spooled the moment it is cut, so when the endpoint is down the utterances wait on
disk and are appended, still in order, once it answers again.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from dictate import DictateError
from dictate.audio import PauseSplitter, Recording, encode, has_speech, resample
from dictate.config import Config, data_dir
from dictate.recorder import Recorder
from dictate.session import NothingToSend, Pipeline, Result, TranscriptionFailed
from dictate.store import HistoryError

log = logging.getLogger(__name__)

LEAD_SECONDS = 0.3  # silence kept before an utterance
RETRY_FIRST, RETRY_MAX = 2.0, 30.0  # seconds between attempts while the endpoint is down


class Sink(Protocol):
    def write(self, started: datetime, text: str) -> None: ...


def default_notes_file(now: datetime | None = None) -> Path:
    return data_dir() / "notes" / f"{(now or datetime.now()):%Y-%m-%d}.md"


class NotesFile:
    """Append one line per utterance; each line is written whole and fsynced, so earlier notes stay intact."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise DictateError(f"cannot open the notes file {path}: {exc.strerror}") from None
        self._needs_newline = _last_byte(path) not in (b"", b"\n")  # a file edited by hand

    def write(self, started: datetime, text: str) -> None:
        line = f"- {started:%Y-%m-%d %H:%M:%S} {text}\n"
        if self._needs_newline:
            line, self._needs_newline = "\n" + line, False
        os.write(self._fd, line.encode())
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def _last_byte(path: Path) -> bytes:
    with path.open("rb") as fh:
        if fh.seek(0, os.SEEK_END) == 0:
            return b""
        fh.seek(-1, os.SEEK_END)
        return fh.read(1)


class LineSink:
    """Deliver each utterance's text through a function (stdout, or typing at the cursor)."""

    def __init__(self, deliver: Callable[[str], None]) -> None:
        self.deliver = deliver

    def write(self, started: datetime, text: str) -> None:
        self.deliver(text)


@dataclass
class Utterance:
    started: datetime
    recording: Recording
    entry_id: int | None  # its place in the spool, None when the history cannot be used


class NoteTaker:
    def __init__(self, config: Config, pipeline: Pipeline, sink: Sink) -> None:
        self.config = config
        self.pipeline = pipeline
        self.sink = sink
        self.paused = False
        self.written = 0
        self._events: queue.SimpleQueue[tuple[str, queue.SimpleQueue[dict[str, Any]] | None]] = queue.SimpleQueue()
        self._work: queue.Queue[Utterance | None] = queue.Queue()
        self._stopping = threading.Event()
        self._worker = threading.Thread(target=self._run_worker, name="notes-worker", daemon=True)
        self._recorder: Recorder | None = None
        self._splitter: PauseSplitter | None = None
        self._opened_at = 0.0  # wall-clock time of the stream's first sample

    # ---- control (other threads) -------------------------------------------------------------

    def post(self, name: str) -> None:
        self._events.put((name, None))

    def command(self, name: str) -> dict[str, Any]:
        reply: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._events.put((name, reply))
        try:
            return reply.get(timeout=5)
        except queue.Empty:
            return {"ok": False, "error": "busy"}

    @property
    def state(self) -> str:
        return "paused" if self.paused else "listening"

    # ---- the main loop -----------------------------------------------------------------------

    def run(self) -> None:
        self._worker.start()
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._open()
            while not self._stopping.is_set():
                if self._recorder is not None:
                    self._listen(0.05)
                    timeout = 0.0
                else:
                    timeout = 0.5
                try:
                    name, reply = self._events.get(timeout=timeout) if timeout else self._events.get_nowait()
                except queue.Empty:
                    continue
                outcome = self._apply(name)
                if reply is not None:
                    reply.put(outcome)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._finish()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._stopping.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: leave now; pending utterances are in the spool
        self._stopping.set()

    def _apply(self, name: str) -> dict[str, Any]:
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
        return {"ok": True, "state": self.state, "queued": self._work.qsize(), "delivered": self.written}

    def _open(self) -> None:
        audio = self.config.audio
        self._recorder = Recorder(audio.device, audio.sample_rate, keep=False).__enter__()
        self._splitter = PauseSplitter(
            self._recorder.capture_rate, ((0.5, self.config.notes.pause_seconds),), max_lead_seconds=LEAD_SECONDS
        )
        self._opened_at = time.time()

    def _listen(self, timeout: float) -> None:
        assert self._recorder is not None and self._splitter is not None
        block = self._recorder.read(timeout=timeout)
        while block is not None:
            for start, part in self._splitter.feed_timed(block):
                self._queue(start, part)
            block = self._recorder.read(timeout=0)

    def _close(self) -> None:
        """Stop listening; an utterance in progress is kept."""
        if self._recorder is None or self._splitter is None:
            return
        self._listen(0)
        self._recorder.__exit__(None, None, None)
        rest = self._splitter.rest()
        if has_speech(Recording(rest, self._splitter.rate)):
            self._queue(self._splitter.position, rest)
        self._recorder = self._splitter = None

    def _queue(self, start: int, samples: Any) -> None:
        assert self._recorder is not None
        rate, target = self._recorder.capture_rate, self.config.audio.sample_rate
        recording = Recording(samples if rate == target else resample(samples, rate, target), target)
        started = datetime.fromtimestamp(self._opened_at + start / rate)
        entry_id = None
        if self.pipeline.history is not None:
            try:
                entry_id = self.pipeline.history.spool(
                    encode(recording, "wav"),
                    source="notes",
                    model=self.config.api.model,
                    base_url=self.config.api.base_url,
                ).id
            except HistoryError as exc:
                log.warning("warning: utterance not saved (%s); sending it anyway", exc.message)
        log.debug("utterance of %.1f s queued", recording.seconds)
        self._work.put(Utterance(started, recording, entry_id))

    def _finish(self) -> None:
        self._close()
        pending = self._work.qsize()
        self._work.put(None)
        if pending:
            log.info("finishing %d pending utterance(s)…", pending)
        self._worker.join()

    # ---- the worker: in order, and patient while the endpoint is down -------------------------

    def _run_worker(self) -> None:
        while (utterance := self._work.get()) is not None:
            try:
                self._process(utterance)
            except DictateError as exc:
                log.error("%s", exc.message)
            except Exception as exc:  # one utterance must not end note taking
                log.exception("unexpected error with an utterance: %s", exc)

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
        if result.text:
            self.sink.write(utterance.started, result.text)
            self.written += 1
            self.pipeline.delivered(result)

    def _send(self, utterance: Utterance) -> Result:
        history = self.pipeline.history
        if utterance.entry_id is not None and history is not None:
            if not history.claim(utterance.entry_id):
                raise NothingToSend(f"dictation {utterance.entry_id} was taken by another dictate process")
            return self.pipeline.resend(utterance.entry_id)
        return self.pipeline.send(utterance.recording, source="notes", had_speech=True)

    def _give_up(self, utterance: Utterance, exc: TranscriptionFailed) -> None:
        if utterance.entry_id is not None:
            log.error(
                "utterance from %s is saved as dictation %d; add it later with `dictate retry %d`",
                f"{utterance.started:%H:%M:%S}",
                utterance.entry_id,
                utterance.entry_id,
            )
        else:
            log.error("utterance from %s is lost: %s", f"{utterance.started:%H:%M:%S}", exc.message)
