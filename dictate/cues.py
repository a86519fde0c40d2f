"""Signs for the user: short tones (generated with numpy, played through PortAudio) and desktop
notifications (notify-send)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from collections.abc import Sequence

import numpy as np

from dictate.portaudio import LOCK, sounddevice

log = logging.getLogger(__name__)

CUE_RATE = 24000
# Each cue is a list of (frequency Hz, seconds); 0 Hz is a pause. Rising = start, falling = stop.
CUES = {
    "start": [(660, 0.05), (880, 0.06)],
    "stop": [(880, 0.05), (660, 0.06)],
    "cancel": [(440, 0.05), (0, 0.03), (330, 0.08)],
    "error": [(300, 0.12), (0, 0.05), (300, 0.12)],
}


def tone(parts: Sequence[tuple[float, float]], volume: float, rate: int = CUE_RATE) -> np.ndarray:
    """Sine segments with 5 ms fades, so cues click neither in nor out."""
    chunks = []
    for freq, seconds in parts:
        t = np.arange(int(seconds * rate)) / rate
        wave = np.sin(2 * np.pi * freq * t) if freq else np.zeros_like(t)
        fade = min(len(t) // 2, int(0.005 * rate))
        if fade:
            ramp = np.linspace(0, 1, fade)
            wave[:fade] *= ramp
            wave[-fade:] *= ramp[::-1]
        chunks.append(wave)
    return (np.concatenate(chunks) * volume).astype(np.float32)


class Cues:
    """Cues and notifications; every failure here is logged and swallowed (feedback must not break dictation)."""

    def __init__(self, sounds: bool = True, notify: bool = True, volume: float = 0.3) -> None:
        self.sounds = sounds
        self.notify_enabled = notify and shutil.which("notify-send") is not None
        self._waves = {name: tone(parts, volume) for name, parts in CUES.items()} if sounds else {}

    def cue(self, name: str) -> None:
        """Play a cue without waiting for it."""
        if not self.sounds:
            return
        threading.Thread(target=self._play, args=(self._waves[name],), name=f"cue-{name}", daemon=True).start()

    def _play(self, wave: np.ndarray) -> None:
        try:
            sd = sounddevice()
            with LOCK:
                stream = sd.OutputStream(samplerate=CUE_RATE, channels=1, dtype="float32")
                stream.start()
            try:
                stream.write(wave)
            finally:
                with LOCK:
                    stream.stop()
                    stream.close()
        except Exception as exc:  # no output device, PortAudio missing, ...
            log.debug("cue not played: %s", exc)

    def error(self, message: str) -> None:
        """An error cue, and a desktop notification when enabled."""
        self.cue("error")
        self.notify("dictate", message)

    def notify(self, title: str, message: str) -> None:
        if not self.notify_enabled:
            return
        try:
            subprocess.Popen(
                ["notify-send", "--app-name=dictate", "--urgency=normal", title, message],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            log.debug("notification not shown: %s", exc)
