"""The global key listener: pynput's keyboard events fed to a HotkeyState. Needs a display; pynput
is imported only when the listener starts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from dictate.errors import DictateError
from dictate.hotkey.keys import HotkeyState, pynput_key_name


class HotkeyListener:
    """A global key listener (pynput) feeding a HotkeyState; events go to `on_event(name)`."""

    def __init__(self, state: HotkeyState, on_event: Callable[[str], None]) -> None:
        self.state = state
        self.on_event = on_event
        self._listener: Any = None
        self._lock = threading.Lock()

    def start(self) -> None:
        try:
            from pynput import keyboard
        except ImportError as exc:  # pynput raises ImportError when it finds no usable backend
            reason = str(exc).splitlines()[0]
            raise DictateError(
                f"cannot listen for the hotkey ({reason}); without X11 access (e.g. on Wayland) run "
                "`dictate run --no-hotkey` and bind a compositor key to `dictate ctl toggle`"
            ) from None
        self._listener = keyboard.Listener(on_press=self._on_press, on_release=self._on_release)
        self._listener.start()
        self._listener.wait()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()

    @property
    def alive(self) -> bool:
        """Whether it still listens: pynput's thread ends when the display goes away."""
        return self._listener is not None and bool(self._listener.is_alive())

    def _name(self, key: object) -> str | None:
        if key is None:
            return None
        if getattr(key, "name", None):  # Key.<name>: keep the side, which canonical() would drop
            return pynput_key_name(key)
        return pynput_key_name(self._listener.canonical(key))  # characters without shift/case

    def _on_press(self, key: object) -> None:
        name = self._name(key)
        if name:
            with self._lock:
                event = self.state.press(name)
            if event:
                self.on_event(event)

    def _on_release(self, key: object) -> None:
        name = self._name(key)
        if name:
            with self._lock:
                event = self.state.release(name)
            if event:
                self.on_event(event)

    def modifiers_down(self) -> bool:
        with self._lock:
            return self.state.modifiers_down()
