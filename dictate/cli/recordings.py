"""Commands about recordings already made: `transcribe` files, `retry` what failed, and `history`."""

from __future__ import annotations

import argparse
import logging
import time
from typing import TYPE_CHECKING

from dictate.cli.dictating import load_config
from dictate.errors import DictateError, ExitCode, describe, exit_code

if TYPE_CHECKING:
    from pathlib import Path

    from dictate.config import Config
    from dictate.engines import Engine
    from dictate.store import Entry
    from dictate.text_layer import TextLayer

log = logging.getLogger("dictate")


def cmd_transcribe(args: argparse.Namespace) -> int:
    """Transcribe audio files; print one line of text per file, in order.

    A bad file is named on stderr (its line is empty when there are several files) and the others go
    on; the exit is then 1, or 2 when every file was unusable (missing, not audio)."""
    from dictate.engines import open_engine
    from dictate.output.terminal import print_line
    from dictate.profiles import override
    from dictate.text_layer import TextLayer

    cfg = override(load_config(args), {"output": {"allow_newlines": False}})  # one line per file
    engine = open_engine(cfg)
    several = len(args.files) > 1
    failures: list[int] = []
    try:
        layer = TextLayer(cfg)  # the rules and the clean-up of a dictation; no profile: there is no window
    except BaseException:
        engine.close()
        raise
    try:
        for path in args.files:
            try:
                text, damage = _transcribe_file(path, engine, layer, cfg)
            except Exception as exc:  # one file's failure, whatever it is, does not stop the others
                log.error("%s", describe(exc))
                failures.append(exit_code(exc))
                if several:
                    print_line("")  # keep one line per file
                continue
            if damage is not None:  # the text of what could be read, and what went wrong after it
                log.error("%s", describe(damage))
                failures.append(damage.exit_code)
            print_line(text)
    finally:
        layer.close()
        engine.close()
    if not failures:
        return ExitCode.OK
    if len(failures) == len(args.files) and all(code == ExitCode.USAGE for code in failures):
        return ExitCode.USAGE
    return ExitCode.FAILURE


def _transcribe_file(path: str, engine: Engine, layer: TextLayer, cfg: Config) -> tuple[str, DictateError | None]:
    """The text of one file, read in blocks, its silences left out, sent in parts (each prompted with the
    text before it and the vocabulary), through the text layer; and the error that cut it short when
    the file is damaged part way."""
    from dictate import audio
    from dictate.engines import TranscriptionError
    from dictate.text import join
    from dictate.text_layer import speech_of

    started = time.monotonic()
    texts: list[str] = []
    damage: DictateError | None = None
    with audio.open_input(path) as source:
        trimmer = audio.SpeechTrimmer(source.rate)
        parts = 0

        def send(ready: list[audio.Recording]) -> None:
            nonlocal parts
            for part in ready:
                try:
                    texts.append(speech_of(engine.transcribe(part, join(texts), cfg.text.vocabulary), part))
                except TranscriptionError as exc:
                    raise DictateError(f"{path}: {exc.message}", ExitCode.FAILURE) from None
                parts += 1

        blocks = source.blocks()
        while True:
            try:
                block = next(blocks)
            except StopIteration:
                break
            except DictateError as exc:  # damaged part way: what came before is still transcribed
                damage = exc
                break
            send(trimmer.feed(block))
        seconds = trimmer.seconds_read
        if damage is not None and not trimmer.has_speech:
            raise damage
        if seconds < cfg.audio.min_seconds:  # nothing was sent yet: a part is minutes long
            raise DictateError(
                f"{path}: too short ({seconds:.2f} s of audio, under [audio] min_seconds "
                f"{cfg.audio.min_seconds:g}); nothing sent",
                ExitCode.FAILURE,
            )
        if not trimmer.has_speech:
            raise DictateError(f"no speech heard in {path} ({seconds:.1f} s of audio); nothing sent", ExitCode.FAILURE)
        send(trimmer.finish())
        log.debug(
            "%s: %s; %.1f s of audio, %.1f s of speech, %.1f s sent in %d part(s) in %.0f ms",
            path,
            source.description,
            seconds,
            trimmer.speech_seconds,
            trimmer.samples_kept / trimmer.rate,
            parts,
            (time.monotonic() - started) * 1000,
        )
    written = layer.finish(texts, cfg)
    if not written.heard and damage is None:
        raise DictateError(f"{path}: the server heard no words", ExitCode.FAILURE)
    if written.heard and not written.text:
        log.info("%s: nothing is left after the spoken commands and replacements", path)
    return written.text, damage


def cmd_retry(args: argparse.Namespace) -> int:
    """Re-send recordings whose transcription failed; print each recovered transcript (nothing is typed)."""
    from dictate.dictation import NothingToSend, Pipeline, TranscriptionFailed, Unreadable
    from dictate.engines import open_engine
    from dictate.output.terminal import print_line
    from dictate.profiles import override
    from dictate.store import History

    cfg = override(load_config(args), {"output": {"allow_newlines": False}})  # one line per dictation
    with History.open(cfg.history) as store:
        if store.problem is not None:
            raise store.problem  # what is delivered must be recorded, or the next retry would send it again
        if args.all:
            entries = store.pending()
            if not entries:
                log.info("nothing to retry: every recording has its text")
                return ExitCode.OK
        else:
            entry = store.get(args.id)
            if not entry.pending:
                raise DictateError(
                    f"dictation {entry.id} is {entry.status}, nothing to retry; see `dictate history show {entry.id}`",
                    ExitCode.USAGE,
                )
            entries = [entry]
        pipeline = Pipeline(cfg, open_engine(cfg), store)
        failed = 0
        for entry in entries:
            # Away (moved, not yet synced): kept pending, not given up. Looked at again as it is now,
            # as another process may have finished it since the list was read.
            if entry.audio_missing and (now := store.get(entry.id)).pending and now.audio_missing:
                log.error("dictation %d: %s", entry.id, audio_missing(entry, store.spool_dir))
                failed += 1
                continue
            if not store.claim(entry.id):
                log.warning("dictation %d is being sent by another dictate process; skipped", entry.id)
                continue
            started = time.monotonic()
            try:
                result = pipeline.resend(entry.id)
            except TranscriptionFailed as exc:
                log.error("dictation %d: %s", entry.id, exc.message)
                failed += 1
                continue
            except Unreadable as exc:  # named; the others are still sent
                log.error("%s", exc.message)
                failed += 1
                continue
            except NothingToSend as exc:  # too short, as a new recording would be: discarded
                log.info("dictation %d: %s", entry.id, exc.message)
                continue
            log.debug("dictation %d: %s", entry.id, result.timings(started, "the resend began"))
            if not result.text:
                log.info("dictation %d: the server heard no words", entry.id)
                continue
            pipeline.deliver(result, print_line)
            log.info("dictation %d recovered", entry.id)
    return ExitCode.FAILURE if failed else ExitCode.OK


def cmd_history(args: argparse.Namespace) -> int:
    """List past dictations, newest first, or show one (history show ID)."""
    import json

    from dictate.store import History, HistoryError

    cfg = load_config(args)
    unreadable: HistoryError | None = None
    with History.open(cfg.history) as history:
        if args.history_action == "copy":
            from dictate.output import copy_to_clipboard

            entry = history.get(args.id)
            if not entry.text:
                raise DictateError(f"dictation {entry.id} has no text to copy ({entry.status})", ExitCode.USAGE)
            where = copy_to_clipboard(entry.text)
            log.info("dictation %d copied to %s", entry.id, where)
            return ExitCode.OK
        if args.history_action == "discard":
            entry = history.discard(args.id, "given up with `dictate history discard`")
            log.info("dictation %d discarded%s", entry.id, "; its audio is kept" if entry.audio_parts else "")
            return ExitCode.OK
        if args.history_action == "show":
            entry = history.get(args.id)
            if args.json:
                print(json.dumps(entry.to_dict(), ensure_ascii=False, indent=2))
                return ExitCode.OK
            fields = entry.to_dict()
            width = max(len(name) for name in fields) + 2
            for name, value in fields.items():
                lines = str("-" if value is None else value).splitlines() or [""]
                print(f"{name + ':':<{width}}{lines[0]}")
                for line in lines[1:]:  # a multi-line text stays in its column
                    print(f"{'':<{width}}{line}")
            return ExitCode.OK
        # Read what can be read: a database that cannot be written is still listed; one that cannot
        # be read is named, with the recordings the spool holds for it.
        try:
            entries = history.entries(search=args.search, limit=args.limit)
            if not history.readable and history.db_path.exists():
                raise history.problem or HistoryError(f"cannot read {history.db_path}")
        except HistoryError as exc:
            entries, unreadable = [], exc
        waiting = len(history.unindexed()) if unreadable else 0
    if unreadable is not None:
        log.warning("warning: %s; %d recording(s) in the spool wait for it", unreadable.message, waiting)
    if not cfg.history.enabled:
        log.info("history is off ([history] enabled = false): dictations are forgotten once delivered")
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2))
    elif entries:
        _print_history_table(entries)
    elif unreadable is None:
        log.info(f"no dictations match {args.search!r}" if args.search else "no dictations yet")
    return ExitCode.FAILURE if unreadable else ExitCode.OK


def audio_missing(entry: Entry, spool_dir: Path) -> str:
    """What to do about a pending dictation whose audio is not in the spool."""
    return (
        f"its audio ({entry.key}.*) is not in {spool_dir}; put it back and run `dictate retry {entry.id}`, "
        f"or give it up: `dictate history discard {entry.id}`"
    )


def _missing_text(entry: Entry) -> str:
    if entry.pending and entry.audio_missing:
        return "(its audio is missing from the spool: see `dictate retry`)"
    if entry.error:
        return f"({entry.error})"
    return "(not transcribed yet)" if entry.pending else "(text not kept)"


def _print_history_table(entries: list[Entry]) -> None:
    import shutil

    id_width = max(2, *(len(str(e.id)) for e in entries))
    status_width = max(6, *(len(e.status) for e in entries))
    head = f"{'ID':>{id_width}}  {'TIME':<16}  {'DUR':>6}  {'STATUS':<{status_width}}  "
    text_width = max(20, shutil.get_terminal_size((100, 24)).columns - len(head) - 1)
    print(head + "TEXT")
    for e in entries:
        when = e.created.astimezone().strftime("%Y-%m-%d %H:%M")
        duration = f"{e.duration:.1f}s" if e.duration is not None else "-"
        text = " ".join(e.text.split()) if e.text is not None else _missing_text(e)
        if len(text) > text_width:
            text = text[: text_width - 1] + "…"
        print(f"{e.id:>{id_width}}  {when:<16}  {duration:>6}  {e.status:<{status_width}}  {text}".rstrip())
