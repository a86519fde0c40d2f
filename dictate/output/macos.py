"""macOS and Windows: type with pynput; paste on macOS with pbcopy and Cmd+V."""

from __future__ import annotations

import time
from typing import Any

from dictate.config import OutputConfig
from dictate.errors import DictateError
from dictate.output.common import PASTE_SETTLE, run_tool


class PynputTyping:
    """Type with pynput's keyboard Controller (Unicode key events on macOS and Windows)."""

    name = "type (pynput)"

    def __init__(self) -> None:
        self._controller: Any = None

    def prepare(self) -> None:
        pass  # the controller is made on the first delivery

    def deliver(self, text: str) -> None:
        if self._controller is None:
            try:
                from pynput.keyboard import Controller
            except Exception as exc:  # pynput raises ImportError subclasses and platform errors
                raise DictateError(f"pynput cannot type here: {exc}") from None
            self._controller = Controller()
        try:
            self._controller.type(text)
        except Exception as exc:
            raise DictateError(f"typing failed: {exc}") from None

    def close(self) -> None:
        pass  # the controller holds nothing to release


class MacPaste:
    """pbcopy, Cmd+V through pynput, then the previous text back (pbcopy keeps only text)."""

    name = "paste (macOS)"

    def __init__(self, cfg: OutputConfig) -> None:
        self.cfg = cfg

    def prepare(self) -> None:
        pass  # each delivery runs pbcopy afresh

    def deliver(self, text: str) -> None:
        if not text:
            return
        previous = run_tool(["pbpaste"], what="pbpaste") if self.cfg.restore_clipboard else None
        run_tool(["pbcopy"], input=text.encode(), what="pbcopy")
        try:
            from pynput.keyboard import Controller, Key
        except Exception as exc:
            raise DictateError(f"pynput cannot press Cmd+V here: {exc}") from None
        keyboard = Controller()
        with keyboard.pressed(Key.cmd):
            keyboard.tap("v")
        if previous is not None:
            time.sleep(PASTE_SETTLE)
            if run_tool(["pbpaste"], what="pbpaste") == text.encode():
                run_tool(["pbcopy"], input=previous, what="pbcopy")

    def close(self) -> None:
        pass  # nothing held
