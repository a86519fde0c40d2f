"""`dictate run`, the push-to-talk daemon: a press opens the microphone, a release sends the tail, and
the text appears at the cursor.

The main thread is the shared listening loop. What it records goes through two threads, each in
order. The intake spools every part and tail the moment it comes and starts its upload, and never
waits for an answer, so a dictation behind one whose server hangs is on disk all the same. The
delivery waits for each dictation's answers and types them in the order the dictations were made,
so nothing is ever typed out of order and on release only the tail is left to send. At exit the
delivery gets EXIT_WAIT seconds; what is still in flight then is left in the spool for
`dictate retry`. A background thread re-sends this daemon's failed dictations once the endpoint
answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from dictate.audio import Recording
from dictate.config import Config, OutputConfig
from dictate.dictation import Dictation, NothingToSend, Pipeline, Result, TranscriptionFailed, part_steps
from dictate.errors import DictateError
from dictate.listening import EXIT_WAIT, Event, Listening, Loop, Microphone, Part, Worker, open_recorder
from dictate.output import Output
from dictate.output.common import is_terminal
from dictate.output.terminal import print_line
from dictate.statusfeed import Feed

log = logging.getLogger("dictate")

MODIFIER_WAIT = 1.0  # longest wait for the hotkey's modifiers to be released before typing
WARM_AFTER = 20.0  # re-open the connection on key press when it has been idle this long
NEVER = float("inf")
RETRY_FIRST, RETRY_MAX = 5.0, 300.0  # seconds between background retries while the endpoint fails
ANSWER_WAITERS = 8  # threads waiting for dictations' answers (threads are made as needed, then kept)
RETRY_ATTEMPTS, RETRY_AGE = 8, 24 * 3600.0  # give up (leave it to `dictate retry`) after these


class Signs(Protocol):
    """Tones and notifications (dictate.cues.Cues)."""

    def cue(self, name: str) -> None: ...

    def error(self, message: str) -> None: ...

    def notify(self, title: str, message: str) -> None: ...


@dataclass
class Work:
    """One step: for the intake a part cut while recording, the tail at release, or a cancellation;
    for the delivery a tail being finished (`finishing`), or (with [output] stream) a part
    finished, so what is ready can be typed."""

    dictation: Dictation
    part: Recording | None = None
    tail: Recording | None = None
    released_at: float = 0.0
    cancelled: bool = False
    stream: bool = False
    deliver: bool = True  # False while the daemon is stopping: print instead of typing
    finishing: Future[Result] = field(default_factory=Future)  # the tail's Dictation.result, once handed over


GONE: Any = object()  # what _open.pop() gives for a dictation someone else settled


def _outcome(work: Work | None) -> Result | BaseException | None:
    """What the tail's hand_over() and result() came to; None while in flight (or not handed over)."""
    if work is None or not work.finishing.done():
        return None
    return work.finishing.exception() or work.finishing.result()


def _interrupted(entry_id: int, history: Any) -> None:
    history.mark_failed(entry_id, "interrupted: dictate stopped before the answer came")
    history.release(entry_id)


class Daemon(Loop):
    def __init__(
        self,
        config: Config,
        pipeline: Pipeline,
        output: Output,
        signs: Signs,
        *,
        modifiers_down: Callable[[], bool] = lambda: False,
        microphone: Callable[[Any], Microphone] = open_recorder,
    ) -> None:
        super().__init__()
        self.config = config
        self.pipeline = pipeline
        self.output = output
        # The output for a dictation's [output] settings (a profile may choose another); cmd_run sets it.
        self.output_for: Callable[[OutputConfig], Output] = lambda _settings: output
        self.signs = signs
        self.modifiers_down = modifiers_down
        self.microphone = microphone
        self.intake: Worker[Work] = Worker("dictate-intake", self._take_in, self._report)
        self.delivery: Worker[Work] = Worker("dictate-delivery", self._deliver_and_publish, self._report)
        self._answers = ThreadPoolExecutor(max_workers=ANSWER_WAITERS, thread_name_prefix="dictate-answers")
        # Dictations started and not yet delivered, dropped or left behind; whoever pops one from
        # here (the delivery, a cancellation, or the exit) is the one that settles it.
        self._open: dict[Dictation, Work | None] = {}
        self._dictation: Dictation | None = None
        self._last_request = -NEVER
        self._retry_wake = threading.Event()
        self._typed_at: float | None = None  # for -v: when the last text was typed
        self.delivered = 0
        self.recovered = 0
        self.feed = Feed()  # the status for desktop bars (`dictate ctl status --follow`)
        self.last_error: str | None = None  # the last failure, until the next recording or delivery
        self._quit_by_ctl = False  # `dictate ctl quit`: what is recording is finished and typed
        self.listener_alive: Callable[[], bool] | None = None  # the key listener's, when there is one
        self.upkeep: Callable[[], None] = lambda: None  # between events: the control socket kept
        self.stopped_by: str | None = None  # why the daemon ended on its own, if it did

    @property
    def state(self) -> str:
        return "recording" if self.listening is not None else "idle"

    # ---- the main thread ---------------------------------------------------------------------

    def started(self) -> None:
        self.intake.start()
        self.delivery.start()
        if self.pipeline.history is not None:
            threading.Thread(target=self._retry_failed, name="dictate-retry", daemon=True).start()

    def status(self) -> dict[str, Any]:
        """What `dictate ctl status` answers and the status feed sends."""
        return {
            "state": self.state,
            "queued": len(self._open) - (self._dictation is not None),
            "delivered": self.delivered,
            "recovered": self.recovered,
            "error": self.last_error,
        }

    def command(self, name: str) -> dict[str, Any]:
        if name == "quit":  # from `dictate ctl quit`: finish, type, then exit (a signal prints instead)
            self._quit_by_ctl = True
            reply = super().command(name)
            return {**reply, "wait": self.quit_wait()}
        return super().command(name)

    def quit_wait(self) -> float:
        """How long `ctl quit` gives what is being transcribed: an upload's whole budget."""
        return EXIT_WAIT + self.config.api.timeout + self.config.api.retry_seconds

    def step(self) -> None:
        super().step()
        self.feed.publish(self.status)

    def tick(self) -> None:
        """Between events: the control socket kept (upkeep); a key listener that stopped (its display
        went away) ends the daemon with a failure, so the service starts it again, rather than leave
        it deaf without a word."""
        self.upkeep()
        if self.listener_alive is not None and not self.quitting and not self.listener_alive():
            self.stopped_by = "the key listener stopped (did the X display go away?)"
            log.error("%s; exiting", self.stopped_by)
            self.quitting = True

    def apply(self, event: Event) -> dict[str, Any]:
        name, recording = event.name, self.listening is not None
        if name in ("start", "toggle") and not recording:
            self._start(event.at)
        elif name in ("stop", "toggle") and recording:
            self._stop(event.at)
        elif name == "cancel" and recording:
            self._cancel()
        elif name in ("pause", "resume"):
            return {"ok": False, "error": f"{name} is for `dictate notes`", "state": self.state}
        return {"ok": True, **self.status()}

    def failed(self, message: str) -> None:
        self._report(message)

    def _report(self, message: str) -> None:
        """A failure (of an event, or of a dictation in the intake or the delivery): signalled, and
        shown by the status feed until the next recording or delivery."""
        self.last_error = message
        self.feed.publish(self.status)
        self.signs.error(message)

    def take(self, parts: list[Part]) -> None:
        assert self._dictation is not None and self.listening is not None
        if self.listening.first_sample_at is not None:
            self._dictation.first_sample(self.listening.first_sample_at)
        for part in parts:
            self.intake.put(Work(self._dictation, part=part.recording))

    def on_full(self) -> None:
        log.warning(
            "recording reached [audio] max_seconds (%g s) and was ended; it is kept", self.config.audio.max_seconds
        )
        self.signs.cue("error")
        self._stop(time.monotonic())

    def finished(self) -> None:
        if self.listening is not None:
            log.info("finishing the recording in progress before exiting")
            self.quitting = True
            self._stop(time.monotonic())
        wait = self.quit_wait() if self._quit_by_ctl else EXIT_WAIT
        deadline = time.monotonic() + wait
        self.intake.finish(wait)  # spooling only: it is through in moments
        if not self.delivery.finish(max(0.0, deadline - time.monotonic())):
            self._leave_in_spool()
        self.feed.close()

    def _leave_in_spool(self) -> None:
        """The wait at exit ran out: what is still being transcribed stays in the spool, marked
        failed (interrupted), for `dictate retry --all` and the next daemon's background retry; a
        text already in hand (behind one that is not) is kept in the history."""
        saved, kept, lost = [], [], 0
        for dictation in list(self._open):
            work = self._open.pop(dictation, GONE)
            if work is GONE:
                continue  # settled by the delivery meanwhile
            if dictation.entry_id is None:
                lost += 1
                continue
            outcome = _outcome(work)
            if isinstance(outcome, Result):
                if outcome.text:
                    self.pipeline.keep(outcome)
                    kept.append(dictation.entry_id)
            elif outcome is None:
                self.pipeline.record(partial(_interrupted, dictation.entry_id))
                saved.append(dictation.entry_id)
            elif not isinstance(outcome, NothingToSend):
                saved.append(dictation.entry_id)  # failed, and marked so by the dictation
        said = []
        if saved:
            said.append(f"{len(saved)} not transcribed are in the spool: `dictate retry --all` sends them")
        if kept:
            said.append(f"{len(kept)} transcribed are in the history: `dictate history show {kept[0]}`")
        if lost:
            said.append(f"{lost} could not be saved and are lost")
        if said:
            log.warning("stopped before %d dictation(s) were delivered: %s", len(saved + kept) + lost, "; ".join(said))

    def _start(self, pressed_at: float) -> None:
        steps = part_steps(self.config)
        self.listening = Listening(self.config.audio, steps, microphone=self.microphone)
        self._dictation = self.pipeline.start(source="run", pressed_at=pressed_at)
        self._open[self._dictation] = None
        self.last_error = None
        self.signs.cue("start")
        if time.monotonic() - self._last_request > WARM_AFTER:
            threading.Thread(target=self.pipeline.engine.warm, name="dictate-warm", daemon=True).start()
        log.debug("recording")

    def _stop(self, released_at: float) -> None:
        assert self.listening is not None and self._dictation is not None
        listening, dictation = self.listening, self._dictation
        self.listening = self._dictation = None
        tail = listening.take_rest()
        if listening.first_sample_at is not None:
            dictation.first_sample(listening.first_sample_at)
        # The tail goes on before the device is closed and the cue played: neither is on the way to the text.
        work = Work(dictation, tail=tail.recording, released_at=released_at, deliver=self._typing())
        self._open[dictation] = work
        self.feed.publish(self.status)  # transcribing, before anything can settle it
        self.intake.put(work)
        listening.close()
        self.signs.cue("stop")
        self._last_request = time.monotonic()

    def _cancel(self) -> None:
        assert self.listening is not None and self._dictation is not None
        self.listening.end()
        self.intake.put(Work(self._dictation, cancelled=True))
        self.listening = self._dictation = None
        self.signs.cue("cancel")
        log.info("recording cancelled")

    # ---- the intake: spool, and start uploads; never wait for an answer ---------------------------

    def _take_in(self, work: Work) -> None:
        dictation = work.dictation
        if work.cancelled:
            if self._open.pop(dictation, GONE) is not GONE:
                dictation.cancel()
        elif work.part is not None:
            upload = dictation.add(work.part)  # spooled, then sent
            log.debug("part of %.1f s sent while recording", work.part.seconds)
            if upload is not None and self.config.output.stream:
                upload.add_done_callback(lambda _done: self.delivery.put(Work(dictation, stream=True)))
        elif work.tail is not None:
            # The tail's upload starts, then it is spooled, here; the wait for the answers is on a
            # thread of the pool, so the next dictation is taken in (and spooled) meanwhile. When
            # every one of them waits on a hanging server, the next answers wait their turn, but
            # nothing waits to be spooled.
            try:
                dictation.hand_over(work.tail)
            except BaseException as exc:  # NothingToSend: reported by the delivery, in order
                work.finishing.set_exception(exc)
            else:
                self._answers.submit(self._await_answers, dictation, work.finishing)
            self.delivery.put(work)

    @staticmethod
    def _await_answers(dictation: Dictation, finishing: Future[Result]) -> None:
        try:
            finishing.set_result(dictation.result())
        except BaseException as exc:  # handed to the delivery, which reports it
            finishing.set_exception(exc)

    # ---- the delivery: answers awaited and typed in order -------------------------------------

    def _typing(self) -> bool:
        """Whether texts are typed: not once the daemon is stopped by a signal (the focus is probably
        the terminal that stopped it), but still after `dictate ctl quit` (a key binding)."""
        return not self.quitting or self._quit_by_ctl

    def _deliver_and_publish(self, work: Work) -> None:
        self._deliver(work)  # a failure is published by _report, with its message
        self.feed.publish(self.status)

    def _deliver(self, work: Work) -> None:
        if work.stream:
            if self._typing():
                work.dictation.stream(partial(self._type, dictation=work.dictation))
            return
        dictation = work.dictation
        try:
            result = work.finishing.result()
        except NothingToSend as exc:
            if self._open.pop(dictation, GONE) is not GONE:
                log.info("%s", exc.message)
            return
        except BaseException:
            if self._open.pop(dictation, GONE) is not GONE:
                raise
            return
        if self._open.pop(dictation, GONE) is GONE:
            return  # the daemon stopped meanwhile and left it in the spool
        self._last_request = time.monotonic()
        if not result.text:
            if result.heard is None:  # else the spoken commands left nothing, and the dictation said so
                log.info("the server heard no words")
            return
        if not work.deliver or not self._typing():
            # The daemon is being stopped: the focus is probably the terminal that stopped it.
            self.pipeline.deliver(result, print_line)
            log.info("transcribed while stopping; printed instead of typed")
            return
        text = dictation.unstreamed_text(result)
        self.pipeline.deliver(
            result,
            partial(self._type, dictation=dictation) if text else lambda _text: None,
            text=text,
            released_at=work.released_at,
        )
        self.delivered += 1
        self.last_error = None
        self._retry_wake.set()  # the endpoint answers: a good moment for what failed before
        log.debug("%s", dictation.timings(work.released_at, self._typed_at))

    def _type(self, text: str, dictation: Dictation | None = None) -> None:
        deadline = time.monotonic() + MODIFIER_WAIT
        while self.modifiers_down() and time.monotonic() < deadline:
            time.sleep(0.01)
        settings = dictation.config.output if dictation is not None else self.config.output
        if "\n" in text:
            text = self._one_line_for_a_terminal(text)
        output = self.output_for(settings)
        space = settings.trailing_space and output.name != "stdout" and not text.endswith("\n")
        output.deliver(text + (" " if space else ""))
        self._typed_at = time.monotonic()

    def _one_line_for_a_terminal(self, text: str) -> str:
        """The settings were chosen for the window focused at the press; if the focus has since moved
        to a terminal, a newline there would be Enter and run the line: the text goes as one line."""
        window = self.pipeline.focus() if self.pipeline.focus is not None else None
        if window is None or not is_terminal(window, self.config.output.terminal_classes):
            return text
        log.info("the focus moved to a terminal (%s) after the press: its newlines are typed as spaces", window[-1])
        return " ".join(text.split())

    # ---- background retry of this daemon's failed dictations ----------------------------------

    def _retry_failed(self) -> None:
        """Re-send failed dictations once the endpoint answers again; store the text, type nothing
        (the focus has moved on since), and say where it is."""
        delay = RETRY_FIRST
        while not self.quitting:
            self._retry_wake.wait(delay)
            self._retry_wake.clear()
            delay = RETRY_FIRST if self._retry_pending() else min(delay * 2, RETRY_MAX)

    def _retry_pending(self) -> bool:
        """Try the failed dictations kept in memory, then each pending one of ours in the spool, oldest
        first; False when the endpoint failed again. One whose audio cannot be read is recorded as
        failed and passed over: it must not hold up the others."""
        history = self.pipeline.history
        assert history is not None
        for dictation in self.pipeline.held():
            if self.quitting:
                return True
            try:
                result = dictation.retry()
            except TranscriptionFailed as exc:
                log.debug("background retry of a dictation kept in memory failed: %s", exc.message)
                return False
            self._recovered(result)
        now = time.time()
        for entry in history.pending():
            if self.quitting:
                return True
            too_old = now - entry.created.timestamp() > RETRY_AGE
            # Only failed ones: a queued entry may be a dictation this daemon is sending right now.
            if entry.source != "run" or entry.status != "failed" or entry.attempts >= RETRY_ATTEMPTS or too_old:
                continue
            if entry.key in {d.spooled.key for d in self.pipeline.held() if d.spooled is not None}:
                continue  # kept in memory as well (the disk took only part of it): sent from there
            if not history.claim(entry.id):
                continue
            try:
                result = self.pipeline.resend(entry.id)
            except TranscriptionFailed as exc:
                log.debug("background retry of dictation %d failed: %s", entry.id, exc.message)
                return False
            except DictateError as exc:  # its audio cannot be read (Unreadable), or it is gone
                log.warning("warning: %s", exc.message)
                continue
            self._recovered(result)
        return True

    def _recovered(self, result: Result) -> None:
        """Keep a text the background retry obtained and say where it is; it is not typed, as the focus
        has moved on. One the history cannot keep is printed on the daemon's output instead."""
        if not result.text:
            return
        self.recovered += 1
        if result.entry_id is not None and self.pipeline.keep(result):
            self.pipeline.release(result.spooled)
            message = (
                f"dictation {result.entry_id} recovered; it was not typed: `dictate history show {result.entry_id}`"
            )
        else:
            print_line(result.text)
            if result.spooled is not None:
                self.pipeline.drop(result.spooled)
            message = "a dictation kept in memory was recovered; the history cannot keep it, so it was printed"
        log.info("%s", message)
        self.signs.notify("dictate", message)
