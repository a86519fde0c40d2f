"""The X11 outputs: typing through XTEST, and pasting through the clipboard with the previous one put back."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from dictate.config import OutputConfig
from dictate.errors import DictateError
from dictate.output.common import CHORDS, paste_chord

if TYPE_CHECKING:
    from dictate.output.x11.keyboard import XKeyboard

log = logging.getLogger("dictate")

# How long the target may take to ask for the pasted text before we give up and restore.
PASTE_TIMEOUT = 2.0


class XTestTyping:
    """Type through XTEST with the needed keysyms bound for the occasion (see dictate.output.x11.keyboard).

    With `paste_cfg`, a text with more distinct characters off the layout than the keys that may be
    borrowed at once hold (long CJK dictations; about 230 on the evdev map) is pasted instead:
    typing it would take several keymap changes, each waiting until the window has read the keys
    typed before it, and be slower than a paste by far.
    """

    name = "type (X11 XTEST)"

    def __init__(self, display: str | None = None, *, paste_cfg: OutputConfig | None = None) -> None:
        self.display = display
        self._keyboard: XKeyboard | None = None
        self._paste = X11Paste(paste_cfg, display, typing=self) if paste_cfg is not None else None

    def keyboard(self) -> XKeyboard:
        """The connected keyboard, connecting on first use."""
        if self._keyboard is None:
            from dictate.output.x11.keyboard import XKeyboard

            self._keyboard = XKeyboard(self.display)
        return self._keyboard

    def prepare(self) -> None:
        self.keyboard()

    def deliver(self, text: str) -> None:
        try:
            if self._paste is None:
                self.keyboard().type(text)
            elif not self.keyboard().type(text, max_keymaps=1):
                log.debug("%d characters need more than one keymap: pasting them", len(text))
                self.keyboard().restore()  # the paste keys must be read with the layout's own keymap
                self._paste.deliver(text)
        except DictateError:
            raise
        except Exception as exc:  # Xlib reports a lost connection and protocol errors with its own types
            self.close()  # connect afresh next time (the X server may have restarted)
            raise DictateError(f"typing on X display {self.display or '(DISPLAY)'} failed: {exc}") from None

    def close(self) -> None:
        if self._keyboard is not None:
            with contextlib.suppress(Exception):
                self._keyboard.close()
            self._keyboard = None


class X11Paste:
    """Serve the text as CLIPBOARD (and PRIMARY for terminals), press the paste keys, wait until the
    window has fetched it, then put every format the clipboard held before back."""

    name = "paste (X11)"

    def __init__(self, cfg: OutputConfig, display: str | None = None, *, typing: XTestTyping | None = None) -> None:
        self.cfg = cfg
        self.display = display
        self.timeout = PASTE_TIMEOUT
        self._typing = typing or XTestTyping(display)  # its keyboard presses the paste keys

    def prepare(self) -> None:
        self._typing.prepare()

    def deliver(self, text: str) -> None:
        if not text:
            return
        try:
            self._paste(text)
        except DictateError:
            raise
        except Exception as exc:  # Xlib reports a lost connection and protocol errors with its own types
            self._typing.close()
            raise DictateError(f"pasting on X display {self.display or '(DISPLAY)'} failed: {exc}") from None

    def close(self) -> None:
        self._typing.close()

    def _paste(self, text: str) -> None:
        from dictate.output.x11 import hold, selection, selection_server

        keyboard = self._typing.keyboard()
        chord = paste_chord(keyboard.focused_class(), self.cfg.paste_keys, self.cfg.terminal_classes)
        # Shift+Insert pastes PRIMARY in xterm, urxvt, st, alacritty, kitty; CLIPBOARD in others.
        selections = ["CLIPBOARD", "PRIMARY"] if chord == "shift+insert" else ["CLIPBOARD"]
        previous = {name: selection.read_selection(self.display, name) for name in selections}
        ours = selection.text_contents(text)
        server = selection_server.SelectionServer(self.display, dict.fromkeys(selections, ours)).start()
        fetched = False
        try:
            keyboard.press_chord(CHORDS[chord])
            fetched = server.wait_fetched(self.timeout)
        finally:
            # Whatever happened, the selections we still own go back to what they held (or, with
            # restoring off, keep our text beyond this process, as a copy would).
            still_ours = [name for name in selections if server.owns(name)]
            if self.cfg.restore_clipboard:
                back = {name: held for name in still_ours if (held := previous[name])}
                for name in still_ours:
                    if not previous[name]:
                        server.release(name)
            else:
                back = dict.fromkeys(still_ours, ours)
            try:
                if back:
                    hold.hold_selections(self.display, back)
            finally:
                server.stop()
        if not fetched:
            raise DictateError(
                f"the focused window did not take the pasted text within {self.timeout:g} s after {chord}; "
                'set [output] paste_keys, or use method = "type"'
            )
