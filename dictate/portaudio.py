"""PortAudio, shared by the microphone and the cues: loading it with a one-line error when it is
missing, and the lock around opening and closing streams, which PortAudio does not promise to be
thread-safe (cues play from their own thread while the microphone opens on the main one)."""

from __future__ import annotations

import threading
from types import ModuleType

from dictate.errors import DictateError

LOCK = threading.Lock()


def sounddevice() -> ModuleType:
    """The sounddevice module; DictateError naming the package to install when PortAudio is missing."""
    try:
        import sounddevice
    except OSError as exc:  # raised at import when libportaudio is missing
        raise DictateError(
            f"PortAudio is not available ({exc}); install it: sudo apt-get install libportaudio2"
        ) from None
    return sounddevice
