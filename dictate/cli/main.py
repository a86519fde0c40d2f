"""The one place where errors become messages and exit codes.

Every command runs inside `main`: a DictateError is its one-line message and its exit code; anything
else is "unexpected ..." with exit 1 (a traceback only with --debug); Ctrl-C is 130; a closed stdout
is quiet. Every message goes through dictate.errors.describe, so the key never shows.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import sys
import threading

from dictate.cli.parser import build_parser
from dictate.errors import DictateError, ExitCode, describe

log = logging.getLogger("dictate")


def main(argv: list[str] | None = None) -> int:
    _utf8_stdout()
    threading.excepthook = _thread_failed
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    if not getattr(args, "func", None):  # bare `dictate` runs the daemon
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "run"])
    try:
        return int(args.func(args) or ExitCode.OK)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `dictate ... | head`); nothing more to say.
        sys.stderr.close()
        return ExitCode.FAILURE
    except Exception as exc:
        if args.debug and not isinstance(exc, DictateError):
            raise
        if args.debug:
            log.exception("debug traceback")
        log.error("%s", describe(exc))
        return exc.exit_code if isinstance(exc, DictateError) else ExitCode.FAILURE


def _thread_failed(args: threading.ExceptHookArgs) -> None:
    """A thread of a library (pynput's listener when its display goes away) that ends with an
    exception: one line, as every error is, and its traceback only under --debug (-v)."""
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "a thread"
    log.error("%s stopped: %s", name, describe(args.exc_value))
    log.debug("traceback", exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def _utf8_stdout() -> None:
    """Texts are Unicode: a stdout set to a narrower encoding (PYTHONIOENCODING=ascii, a Latin-1
    locale) would fail on the first "café"; it gets UTF-8, which at worst shows oddly, and loses nothing."""
    stream = sys.stdout
    encoding = getattr(stream, "encoding", None)
    if stream is None or not encoding:
        return
    with contextlib.suppress(LookupError, AttributeError, ValueError, OSError):
        if codecs.lookup(encoding).name not in ("utf-8", "utf-16", "utf-32", "gb18030"):
            stream.reconfigure(encoding="utf-8")  # type: ignore[union-attr]


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("dictate: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False


def run() -> None:
    """The entry point (the console script, and `python -m dictate`): main(), then leave."""
    code = main()
    if any(t.is_alive() for t in threading.enumerate() if t is not threading.main_thread()):
        # A thread still running may be an upload waiting on a server (left after Ctrl-C, a signal,
        # or the bounded wait at exit), and the interpreter's exit joins every upload thread, for as
        # long as the server hangs. What such a thread carries is in the spool: leave without it.
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):  # a reader gone, a stream closed or None
                stream.flush()
        os._exit(code)
    sys.exit(code)
