"""Command line: argument parsing, the subcommands, and the one place errors become messages and exit codes.

stdout carries only what a command produces (dictated text, a device table, a config); every status
line and error goes to stderr. Heavy modules are imported inside the commands, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from dictate import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, ConfigError, DictateError, __version__

if TYPE_CHECKING:
    from dictate.config import Config
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
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
    from dictate.transcriber import Transcriber

    config.check_endpoint(cfg)
    warning = config.insecure_permissions_warning(cfg)
    if warning:
        log.warning("warning: %s", warning)
    key, _source = config.api_key(cfg)
    return Transcriber(cfg.api, key, key_env_hint=cfg.api.api_key_env or "OPENAI_API_KEY")


# ---- commands --------------------------------------------------------------------------------


def cmd_once(args: argparse.Namespace) -> int:
    """Record now and print only the transcript (for $(dictate once) and shell key bindings)."""
    from dictate import session
    from dictate.recorder import Recorder

    cfg = load_config(args)
    transcriber = make_transcriber(cfg)
    max_seconds = args.max_seconds or cfg.audio.max_seconds
    status = StatusLine()
    with StopKeys() as keys, Recorder(cfg.audio.device, cfg.audio.sample_rate) as recorder:
        hint = "Enter to stop" if keys.active else f"stops after {max_seconds:g} s"
        if cfg.audio.silence_seconds:
            hint += f" or after {cfg.audio.silence_seconds:g} s of silence"
        status.show(f"recording… {hint}")
        recording, reason = session.capture(
            recorder, max_seconds=max_seconds, silence_seconds=cfg.audio.silence_seconds, should_stop=keys.pressed
        )
    log.debug("recorded %.2f s, ended by %s", recording.seconds, reason)
    try:
        had_speech = session.check_sendable(recording, cfg)
        status.show(f"transcribing {recording.seconds:.1f} s…")
        result = session.transcribe(recording, cfg, transcriber, had_speech=had_speech)
    finally:
        status.clear()
    if not result.text:
        raise session.NothingToSend("the server heard no words")
    print(result.text, flush=True)
    return EXIT_OK


def cmd_transcribe(args: argparse.Namespace) -> int:
    """Transcribe audio files; print one line of text per file."""
    from dictate import audio, session
    from dictate.transcriber import TranscriptionError

    cfg = load_config(args)
    recordings = [audio.read_file(path) for path in args.files]  # every file is checked before any upload
    transcriber = make_transcriber(cfg)
    failed = 0
    for path, recording in zip(args.files, recordings, strict=True):
        try:
            result = session.transcribe(recording, cfg, transcriber, had_speech=audio.has_speech(recording))
        except TranscriptionError as exc:
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
