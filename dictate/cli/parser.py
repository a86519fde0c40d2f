"""The command line's grammar: every command, its arguments and its help, built from the commands'
docstrings. Parsing a mistake is a one-line usage error (exit 2)."""

from __future__ import annotations

import argparse
import difflib
from typing import Any, NoReturn

from dictate import __version__
from dictate.cli import dictating, everyday, recordings, setup, vocabulary
from dictate.errors import ExitCode


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Usage errors are one line, like every other error."""
        self.exit(ExitCode.USAGE, f"dictate: {message} (see `{self.prog} --help`)\n")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """A mistyped command or choice: one line with the closest one ("did you mean ...?")."""
        choices = action.choices
        if choices is None or not isinstance(value, str) or value in choices:
            super()._check_value(action, value)
            return
        names = [str(choice) for choice in choices]
        close = difflib.get_close_matches(value, names, n=1, cutoff=0.6)
        if isinstance(action, argparse._SubParsersAction):
            what = f"unknown command {value!r}"
            hint = f"did you mean `{self.prog} {close[0]}`?" if close else f"commands: {', '.join(names)}"
        else:
            what = f"{action.metavar or action.dest} {value!r} is not one of {', '.join(names)}"
            hint = f"did you mean {close[0]!r}?" if close else f"see `{self.prog} --help`"
        self.exit(ExitCode.USAGE, f"dictate: {what}; {hint}\n")


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

    p = command("run", dictating.cmd_run)
    p.add_argument(
        "--no-hotkey",
        action="store_true",
        help="no key listener; control the daemon with `dictate ctl` (Wayland, window-manager bindings)",
    )

    p = command("ctl", dictating.cmd_ctl)
    p.add_argument(
        "action",
        choices=("start", "stop", "toggle", "cancel", "status", "pause", "resume", "quit"),
        help="start, stop or toggle a recording, cancel it, or show the daemon's state; quit: finish the "
        "recording in progress, deliver it, and exit; pause and resume `dictate notes`",
    )
    p.add_argument("--notes", action="store_true", help="send start/stop/toggle/status/quit to `dictate notes`")
    p.add_argument(
        "--follow", action="store_true", help="with status: one line per change, for desktop bars (waybar, polybar)"
    )
    p.add_argument("--json", action="store_true", help="with status: JSON lines with text, alt, class and tooltip")

    p = command("notes", dictating.cmd_notes)
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

    p = command("retry", recordings.cmd_retry)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", metavar="ID", help="the dictation to re-send (see `dictate history`)")
    which.add_argument("--all", action="store_true", help="every recording whose text was never obtained")

    command("doctor", setup.cmd_doctor)

    p = command("once", dictating.cmd_once)
    p.add_argument(
        "--max-seconds", type=_positive, metavar="N", help="stop after N seconds (default: [audio] max_seconds)"
    )

    p = command("transcribe", recordings.cmd_transcribe)
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="audio files: wav, flac, ogg, opus, mp3; m4a, aac, webm and more with PyAV or ffmpeg",
    )

    command("devices", setup.cmd_devices)

    p = command("model", setup.cmd_model)
    p.add_argument("action", choices=("fetch", "path"), help="fetch: download it once; path: print where it lives")
    p.add_argument("name", nargs="?", metavar="NAME", help="a model name or folder (default: [local] model)")

    p = command("config", setup.cmd_config)
    p.add_argument(
        "action",
        choices=("path", "show", "init", "check"),
        help="path: print the file's location; show: the effective settings; "
        "init: write a commented file; check: validate it",
    )
    p.add_argument("--force", action="store_true", help="with init: overwrite an existing file")

    p = command("history", recordings.cmd_history)
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
    discard_doc = "Give up a dictation not yet delivered: never sent again, its audio deleted (unless kept)."
    discard = actions.add_parser("discard", parents=[common], help=discard_doc, description=discard_doc)
    discard.add_argument("id", metavar="ID", help="the dictation's ID, as listed by `dictate history`")

    p = command("vocabulary", vocabulary.cmd_vocabulary)
    p.epilog = vocabulary.WHERE
    p.add_argument("action", choices=("import", "export"), help="import: add FILE's entries; export: print them all")
    p.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="import: the list to add (- reads stdin); export: where to write it (- or none: stdout)",
    )

    p = command("shell-init", setup.cmd_shell_init)
    p.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell whose startup file will load the snippet")
    p.add_argument(
        "--key",
        metavar="KEYSEQ",
        help=r"key sequence in the shell's notation (default: Ctrl-X Ctrl-V: bash \C-x\C-v, zsh ^X^V, fish \cx\cv)",
    )

    everyday.add_commands(command)
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
