"""Command line: argument parsing, the subcommands, and the one place errors become messages and exit codes.

stdout carries only what a command produces (dictated text, a device table, a config); every status
line and error goes to stderr. Heavy modules are imported inside the commands, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from dictate import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, ConfigError, DictateError, __version__

if TYPE_CHECKING:
    from dictate.config import Config
    from dictate.output import Output
    from dictate.store import Entry
    from dictate.transcriber import Transcriber

log = logging.getLogger("dictate")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Usage errors are one line, like every other error."""
        self.exit(EXIT_USAGE, f"dictate: {message} (see `{self.prog} --help`)\n")


def _global_options(default: Any) -> _Parser:
    # Accepted before and after the command. Each parser needs its own copy: argparse shares
    # action objects between parents, so one default would overwrite the other.
    options = _Parser(add_help=False)
    options.add_argument(
        "--config",
        metavar="PATH",
        default=None if default is False else default,
        help="config file (default: $DICTATE_CONFIG or ~/.config/dictate/config.toml)",
    )
    options.add_argument("--debug", action="store_true", default=default, help="show tracebacks")
    options.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="print timings and details to stderr"
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    common = _global_options(argparse.SUPPRESS)
    parser = _Parser(
        prog="dictate",
        parents=[_global_options(False)],
        description="Push-to-talk dictation: hold a key, speak, release, and the words appear at the cursor.",
    )
    parser.add_argument("--version", action="version", version=f"dictate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, func: Any, **kw: Any) -> argparse.ArgumentParser:
        doc = (func.__doc__ or "").strip().splitlines()[0]
        p = sub.add_parser(name, parents=[common], help=doc, description=doc, **kw)
        p.set_defaults(func=func)
        return p

    p = command("run", cmd_run)
    p.add_argument(
        "--no-hotkey",
        action="store_true",
        help="no key listener; control the daemon with `dictate ctl` (Wayland, window-manager bindings)",
    )

    p = command("ctl", cmd_ctl)
    p.add_argument(
        "action",
        choices=("start", "stop", "toggle", "cancel", "status", "pause", "resume"),
        help="start, stop or toggle a recording, cancel it, or show the daemon's state; "
        "pause and resume `dictate notes`",
    )
    p.add_argument("--notes", action="store_true", help="send start/stop/toggle/status to `dictate notes`")

    p = command("notes", cmd_notes)
    p.add_argument(
        "file", nargs="?", metavar="FILE", help="notes file (default: a dated Markdown file in the data folder)"
    )
    p.add_argument(
        "--output",
        choices=("file", "type", "paste", "stdout"),
        default="file",
        help="where each utterance goes (default: appended to FILE)",
    )
    p.add_argument("--no-hotkey", action="store_true", help="no key listener; pause with `dictate ctl pause`")

    p = command("retry", cmd_retry)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", metavar="ID", help="the dictation to re-send (see `dictate history`)")
    which.add_argument("--all", action="store_true", help="every recording whose text was never obtained")

    command("doctor", cmd_doctor)

    p = command("once", cmd_once)
    p.add_argument(
        "--max-seconds", type=_positive, metavar="N", help="stop after N seconds (default: [audio] max_seconds)"
    )

    p = command("transcribe", cmd_transcribe)
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, ogg, mp3, ...)")

    command("devices", cmd_devices)

    p = command("config", cmd_config)
    p.add_argument(
        "action",
        choices=("path", "show", "init", "check"),
        help="path: print the file's location; show: the effective settings; "
        "init: write a commented file; check: validate it",
    )
    p.add_argument("--force", action="store_true", help="with init: overwrite an existing file")

    p = command("history", cmd_history)
    p.add_argument("--search", metavar="TEXT", help="only dictations whose text contains TEXT (any case)")
    p.add_argument("--limit", type=_count, default=20, metavar="N", help="show the newest N (default 20; 0 = all)")
    p.add_argument("--json", action="store_true", help="print a JSON list with every field")
    actions = p.add_subparsers(dest="history_action", metavar="ACTION", parser_class=_Parser)
    show_doc = "Print every field of one dictation, with its full text."
    show = actions.add_parser("show", parents=[common], help=show_doc, description=show_doc)
    show.add_argument("id", metavar="ID", help="the dictation's ID, as listed by `dictate history`")
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print a JSON object")
    copy_doc = "Copy the text of one dictation to the clipboard."
    copy = actions.add_parser("copy", parents=[common], help=copy_doc, description=copy_doc)
    copy.add_argument("id", metavar="ID", help="the dictation's ID, as listed by `dictate history`")

    p = command("shell-init", cmd_shell_init)
    p.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell whose startup file will load the snippet")
    p.add_argument(
        "--key",
        metavar="KEYSEQ",
        help=r"key sequence in the shell's notation (default: Ctrl-X Ctrl-V: bash \C-x\C-v, zsh ^X^V, fish \cx\cv)",
    )
    return parser


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value!r}")
    return number


def _count(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number (0 = all), got {value!r}")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    if not getattr(args, "func", None):  # bare `dictate` runs the daemon
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "run"])
    try:
        return int(args.func(args) or EXIT_OK)
    except DictateError as exc:
        if args.debug:
            log.exception("debug traceback")
        log.error("%s", exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `dictate ... | head`); nothing more to say.
        sys.stderr.close()
        return EXIT_FAILURE
    except Exception as exc:
        if args.debug:
            raise
        log.error("unexpected %s: %s (run with --debug for a traceback)", type(exc).__name__, _redacted(str(exc)))
        return EXIT_FAILURE


def _redacted(text: str) -> str:
    for name in ("DICTATE_API_KEY", "OPENAI_API_KEY"):
        value = os.environ.get(name)
        if value:
            text = text.replace(value, "***")
    return text


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("dictate: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False


# ---- shared set-up ---------------------------------------------------------------------------


def load_config(args: argparse.Namespace) -> Config:
    from dictate import config

    return config.load(args.config)


def make_transcriber(cfg: Config) -> Transcriber:
    """The client for the configured endpoint, after the checks that protect the key."""
    from dictate import config
    from dictate.transcriber import RetryPolicy, Transcriber

    config.check_endpoint(cfg)
    warning = config.insecure_permissions_warning(cfg)
    if warning:
        log.warning("warning: %s", warning)
    key, _source = config.api_key(cfg)
    retry = RetryPolicy(max_retries=cfg.api.max_retries, max_total_seconds=cfg.api.retry_seconds)
    return Transcriber(cfg.api, key, retry=retry, key_env_hint=cfg.api.api_key_env or "OPENAI_API_KEY")


# ---- commands --------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    """Run the push-to-talk daemon: hold the hotkey, speak, release; the text appears at the cursor."""
    import numpy as np

    from dictate import control, hotkey
    from dictate.audio import Recording, encode
    from dictate.daemon import Daemon
    from dictate.feedback import Feedback
    from dictate.output import choose_output, close_output, prepare_output
    from dictate.recorder import resolve_device
    from dictate.session import Pipeline, open_history

    cfg = load_config(args)
    keys = hotkey.parse_hotkey(cfg.hotkey.keys)
    cancel = hotkey.parse_hotkey(cfg.hotkey.cancel) if cfg.hotkey.cancel else None
    if cancel is not None and cancel.keys <= keys.keys:
        raise ConfigError(f"[hotkey] cancel {cancel} is part of [hotkey] keys {keys}; choose another cancel key")
    transcriber = make_transcriber(cfg)
    output, why = choose_output(cfg.output)
    history = open_history(cfg)
    feedback = Feedback(cfg.feedback.sounds, cfg.feedback.notify, cfg.feedback.volume)
    # Pay the first-use costs now, not after the first release: PortAudio scans the devices when
    # loaded (most of a second), the output connects to the display, the encoder loads.
    resolve_device(cfg.audio.device)
    prepare_output(output)
    encode(Recording(np.zeros(1600, dtype=np.int16), cfg.audio.sample_rate), cfg.api.format)
    daemon = Daemon(cfg, Pipeline(cfg, transcriber, history), output, feedback)
    listener = None
    if not args.no_hotkey:
        listener = hotkey.HotkeyListener(hotkey.HotkeyState(keys, cfg.hotkey.mode, cancel), daemon.post)
        daemon.modifiers_down = listener.modifiers_down
    server = control.ControlServer(control.socket_path(), daemon.command)
    server.start()
    try:
        if listener is not None:
            listener.start()
            how = ("hold" if cfg.hotkey.mode == "hold" else "press") + f" {keys} to dictate"
            how += f", {cancel} cancels" if cancel else ""
        else:
            how = "no hotkey; use `dictate ctl toggle`"
        log.info("ready: %s; output: %s (%s)", how, output.name, why)
        daemon.run()
    finally:
        if listener is not None:
            listener.stop()
        server.close()
        transcriber.close()
        close_output(output)
    return EXIT_OK


def cmd_ctl(args: argparse.Namespace) -> int:
    """Control the running daemon: start, stop, toggle or cancel a recording, or show its status."""
    from dictate import control

    notes = args.notes or args.action in control.NOTES_COMMANDS
    reply = control.send(args.action, control.socket_path(notes=notes))
    if not reply.get("ok"):
        raise DictateError(f"the daemon refused {args.action}: {reply.get('error', 'no reason given')}")
    if args.action == "status":
        print(f"{reply.get('state')}; queued {reply.get('queued', 0)}; delivered {reply.get('delivered', 0)}")
    return EXIT_OK


def cmd_retry(args: argparse.Namespace) -> int:
    """Re-send recordings whose transcription failed; print each recovered transcript (nothing is typed)."""
    from dictate import session
    from dictate import store as hist

    cfg = load_config(args)
    with hist.History.open(cfg.history) as store:
        if args.all:
            entries = store.pending()
            if not entries:
                log.info("nothing to retry: every recording has its text")
                return EXIT_OK
        else:
            entry = store.get(args.id)
            if not entry.pending:
                raise DictateError(
                    f"dictation {entry.id} is {entry.status}, nothing to retry; see `dictate history show {entry.id}`",
                    EXIT_USAGE,
                )
            entries = [entry]
        pipeline = session.Pipeline(cfg, make_transcriber(cfg), store)
        failed = 0
        for entry in entries:
            if not store.claim(entry.id):
                log.warning("dictation %d is being sent by another dictate process; skipped", entry.id)
                continue
            try:
                result = pipeline.resend(entry.id)
            except session.TranscriptionFailed as exc:
                log.error("dictation %d: %s", entry.id, exc.message)
                failed += 1
                continue
            if not result.text:
                log.info("dictation %d: the server heard no words", entry.id)
                continue
            print(result.text, flush=True)
            pipeline.delivered(result)
            log.info("dictation %d recovered", entry.id)
    return EXIT_FAILURE if failed else EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check microphone, display and output tools, hotkey, config, endpoint and key; say how to fix each."""
    from dictate import doctor

    try:
        cfg, problem = load_config(args), None
    except ConfigError as exc:
        cfg, problem = None, exc.message
    failed = doctor.report(doctor.run_checks(cfg, problem), lambda line: print(line, flush=True))
    if failed:
        log.error("%d check(s) failed", failed)
        return EXIT_FAILURE
    return EXIT_OK


def cmd_notes(args: argparse.Namespace) -> int:
    """Take notes hands-free: each spoken utterance is transcribed and appended to FILE with its time."""
    import dataclasses

    from dictate import control, hotkey, notes
    from dictate.session import Pipeline, open_history

    cfg = load_config(args)
    if args.output != "file" and args.file:
        raise ConfigError(f"FILE is only used with --output file, not --output {args.output}")
    pipeline = Pipeline(cfg, make_transcriber(cfg), open_history(cfg), keep_claims=True)  # it retries its own
    sink: notes.Sink
    output: Output | None = None
    if args.output == "file":
        path = Path(args.file) if args.file else notes.default_notes_file()
        sink = notes.NotesFile(path)
        where = str(path)
    elif args.output == "stdout":
        sink, where = notes.LineSink(lambda text: print(text, flush=True)), "stdout"
    else:
        from dictate.output import choose_output

        output, why = choose_output(dataclasses.replace(cfg.output, method=args.output))
        deliver = output.deliver
        sink, where = notes.LineSink(lambda text: deliver(text + " ")), f"the cursor ({output.name}: {why})"
    taker = notes.NoteTaker(cfg, pipeline, sink)
    server = control.ControlServer(control.socket_path(notes=True), taker.command)
    server.start()
    listener = None
    how = "`dictate ctl pause`"
    if not args.no_hotkey:
        keys = hotkey.parse_hotkey(cfg.hotkey.keys)
        listener = hotkey.HotkeyListener(hotkey.HotkeyState(keys, "toggle"), taker.post)
        try:
            listener.start()
            how = f"{keys} or `dictate ctl pause`"
        except DictateError as exc:
            listener = None
            log.info("no hotkey (%s)", exc.message.split(";")[0])
    try:
        log.info("listening: utterances go to %s; pause with %s; Ctrl-C finishes and exits", where, how)
        taker.run()
    finally:
        if listener is not None:
            listener.stop()
        server.close()
        if output is not None:
            from dictate.output import close_output

            close_output(output)  # puts back keys borrowed for typing
    log.info("%d note(s) written", taker.written)
    return EXIT_OK


def cmd_once(args: argparse.Namespace) -> int:
    """Record now and print only the transcript (for $(dictate once) and shell key bindings)."""
    from dictate import session
    from dictate.recorder import Recorder

    cfg = load_config(args)
    transcriber = make_transcriber(cfg)
    max_seconds = args.max_seconds or cfg.audio.max_seconds
    status = StatusLine()
    # Keys pressed until the transcript is out (an Enter meant to stop a recording that a pause had
    # already ended) are for us, not for the shell that reads the terminal next: they are dropped.
    try:
        with StopKeys() as keys:
            with Recorder(cfg.audio.device, cfg.audio.sample_rate) as recorder:
                threading.Thread(target=transcriber.warm, name="dictate-warm", daemon=True).start()
                hint = "Enter to stop" if keys.active else f"stops after {max_seconds:g} s"
                if cfg.audio.silence_seconds:
                    hint += f" or after {cfg.audio.silence_seconds:g} s of silence"
                status.show(f"recording… {hint}")
                recording, reason = session.capture(
                    recorder,
                    max_seconds=max_seconds,
                    silence_seconds=cfg.audio.silence_seconds,
                    should_stop=keys.pressed,
                )
            log.debug("recorded %.2f s, ended by %s", recording.seconds, reason)
            session.check_sendable(recording, cfg)
            pipeline = session.Pipeline(cfg, transcriber, session.open_history(cfg))
            status.show(f"transcribing {recording.seconds:.1f} s…")
            result = pipeline.send(recording, source="once", had_speech=True)
    finally:
        status.clear()  # also on Ctrl-C, so no stale line is left above the prompt
    if not result.text:
        raise session.NothingToSend("the server heard no words")
    print(result.text, flush=True)
    pipeline.delivered(result)
    return EXIT_OK


def cmd_transcribe(args: argparse.Namespace) -> int:
    """Transcribe audio files; print one line of text per file."""
    from dictate import audio, session

    cfg = load_config(args)
    recordings = [audio.read_file(path) for path in args.files]  # every file is checked before any upload
    pipeline = session.Pipeline(cfg, make_transcriber(cfg), history=None)  # the files themselves are kept
    failed = 0
    for path, recording in zip(args.files, recordings, strict=True):
        try:
            result = pipeline.send(recording, source="transcribe", had_speech=audio.has_speech(recording))
        except session.TranscriptionFailed as exc:
            if len(args.files) == 1:
                raise
            log.error("%s: %s", path, exc.message)
            failed += 1
            print(flush=True)  # keep one line per file
            continue
        print(result.text, flush=True)
    return EXIT_FAILURE if failed else EXIT_OK


def cmd_devices(args: argparse.Namespace) -> int:
    """List audio input devices, marking the default with *."""
    from dictate.recorder import input_devices

    devices = input_devices()
    if not devices:
        raise DictateError("no audio input devices found; is a microphone connected and PulseAudio/PipeWire running?")
    width = max(len(d.name) for d in devices)
    for d in devices:
        mark = "*" if d.is_default else " "
        print(f"{mark} {d.index:>3}  {d.name:<{width}}  {d.hostapi}, {d.channels} ch, {d.default_rate:g} Hz")
    return EXIT_OK


def cmd_config(args: argparse.Namespace) -> int:
    """Show where the config lives, print it, write a commented one, or check it."""
    from dictate import config

    path, _source = config.config_path(args.config)
    if args.action == "path":
        print(path)
        return EXIT_OK
    if args.action == "init":
        if path.exists() and not args.force:
            raise ConfigError(f"{path} already exists; use `dictate config init --force` to overwrite it")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it may come to hold a key
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(config.example())
        log.info("wrote %s", path)
        return EXIT_OK
    cfg = config.load(args.config)
    _key, key_source = config.api_key(cfg)
    if args.action == "show":
        origin = str(path) if cfg.path else f"defaults ({path} does not exist)"
        print(f"# from {origin}; API key: {'from ' + key_source if _key else 'not set'}")
        print(config.render(cfg), end="")
        return EXIT_OK
    config.check_endpoint(cfg)
    warning = config.insecure_permissions_warning(cfg)
    if warning:
        log.warning("warning: %s", warning)
    where = str(cfg.path) if cfg.path else f"no file at {path}, using defaults"
    print(f"config ok: {where}; API key: {'from ' + key_source if _key else 'not set'}")
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    """List past dictations, newest first, or show one (history show ID)."""
    import json

    from dictate.store import History

    cfg = load_config(args)
    with History.open(cfg.history) as history:
        if args.history_action == "copy":
            from dictate.output import copy_to_clipboard

            entry = history.get(args.id)
            if not entry.text:
                raise DictateError(f"dictation {entry.id} has no text to copy ({entry.status})", EXIT_USAGE)
            where = copy_to_clipboard(entry.text)
            log.info("dictation %d copied to %s", entry.id, where)
            return EXIT_OK
        if args.history_action == "show":
            entry = history.get(args.id)
            if args.json:
                print(json.dumps(entry.to_dict(), ensure_ascii=False, indent=2))
                return EXIT_OK
            fields = entry.to_dict()
            width = max(len(name) for name in fields) + 2
            for name, value in fields.items():
                lines = str("-" if value is None else value).splitlines() or [""]
                print(f"{name + ':':<{width}}{lines[0]}")
                for line in lines[1:]:  # a multi-line text stays in its column
                    print(f"{'':<{width}}{line}")
            return EXIT_OK
        entries = history.entries(search=args.search, limit=args.limit)
    if not cfg.history.enabled:
        log.info("history is off ([history] enabled = false): dictations are forgotten once delivered")
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not entries:
        log.info(f"no dictations match {args.search!r}" if args.search else "no dictations yet")
        return EXIT_OK
    _print_history_table(entries)
    return EXIT_OK


def _missing_text(entry: Entry) -> str:
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


def cmd_shell_init(args: argparse.Namespace) -> int:
    """Print a key binding that inserts a dictated transcript at the shell prompt without running it."""
    from dictate import shellinit

    text = shellinit.snippet(args.shell, shellinit.dictate_command(sys.argv[0], sys.executable), args.key)
    sys.stdout.write(text)
    return EXIT_OK


# ---- terminal helpers ------------------------------------------------------------------------


class StatusLine:
    """A transient status line on stderr: rewritten in place on a terminal, plain lines otherwise."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._shown = False

    def show(self, text: str) -> None:
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}")
        else:
            self.stream.write(f"dictate: {text}\n")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self._shown = False


class StopKeys:
    """Watch stdin for Enter or Ctrl-D, without echo on a terminal; idle when stdin cannot signal."""

    def __init__(self, fd: int | None = None) -> None:
        self.fd = sys.stdin.fileno() if fd is None and sys.stdin else fd
        self.active = False
        self._saved: Any = None
        self._stopped = False

    def __enter__(self) -> StopKeys:
        import stat

        if self.fd is None or os.name != "posix":
            return self
        try:
            mode = os.fstat(self.fd).st_mode
        except OSError:
            return self
        if os.isatty(self.fd):
            import termios
            import tty

            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd, termios.TCSANOW)
            new = termios.tcgetattr(self.fd)
            new[3] &= ~termios.ECHO
            termios.tcsetattr(self.fd, termios.TCSANOW, new)
            self.active = True
        elif stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            self.active = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None and self.fd is not None:
            import termios

            termios.tcflush(self.fd, termios.TCIFLUSH)  # what was typed meanwhile never reaches the shell
            termios.tcsetattr(self.fd, termios.TCSANOW, self._saved)

    def pressed(self) -> bool:
        """True once Enter or Ctrl-D was pressed (or the pipe on stdin ended)."""
        if not self.active or self._stopped:
            return self._stopped
        import select

        assert self.fd is not None
        while select.select([self.fd], [], [], 0)[0]:
            data = os.read(self.fd, 1024)
            if not data or any(b in data for b in (b"\n", b"\r", b"\x04")):
                self._stopped = True
                break
        return self._stopped


def run() -> None:  # console-script entry point
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
