"""Outputs without a desktop: print the text, or send it to the active tmux pane."""

from __future__ import annotations

import sys
from typing import TextIO

from dictate.errors import DictateError
from dictate.output.common import Environ, run_tool


class StdoutOutput:
    """Print the text as one line: each delivery ends with a newline, so a reader of the daemon's
    output gets every dictation (with [output] stream, every part) the moment it is delivered."""

    name = "stdout"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def prepare(self) -> None:
        pass  # nothing to connect

    def deliver(self, text: str) -> None:
        print_line(text, self.stream)

    def close(self) -> None:
        pass  # nothing held


def print_line(text: str, stream: TextIO | None = None) -> None:
    """Print a dictated text and its newline on stdout (or `stream`) at once. A stdout that cannot
    take it (closed, a full disk, a reader gone) is one DictateError line, so the caller keeps the
    text and says where (`dictate history show N`)."""
    stream = stream or sys.stdout
    if stream is None:  # started with stdout closed (`>&-`)
        raise DictateError("standard output is closed: the text could not be printed")
    try:
        stream.write(text + "\n")
        stream.flush()
    except BrokenPipeError:
        raise DictateError("the reader of standard output went away: the text could not be printed") from None
    except OSError as exc:
        raise DictateError(f"cannot print to standard output: {exc.strerror or exc}") from None


class TmuxOutput:
    """Send the text to the active tmux pane as literal keys (-l), so nothing is read as a key name
    and no Enter is added."""

    name = "tmux"

    def __init__(self, tmux: str = "tmux", env: Environ | None = None) -> None:
        self.tmux = tmux
        self.env = env

    def prepare(self) -> None:
        pass  # each delivery runs tmux afresh

    def deliver(self, text: str) -> None:
        if text:
            run_tool([self.tmux, "send-keys", "-l", "--", text], what="tmux send-keys", env=self.env)

    def close(self) -> None:
        pass  # nothing held
