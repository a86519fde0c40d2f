"""Outputs without a desktop: print the text, or send it to the active tmux pane."""

from __future__ import annotations

import sys
from typing import TextIO

from dictate.output.common import Environ, run_tool


class StdoutOutput:
    """Print the text, with nothing added after it."""

    name = "stdout"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def prepare(self) -> None:
        pass  # nothing to connect

    def deliver(self, text: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(text)
        stream.flush()

    def close(self) -> None:
        pass  # nothing held


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
