"""The microphone: one sounddevice.InputStream, opened and closed by its owner; the device list.

The audio callback runs on PortAudio's thread and only copies each block into a queue; everything
else (cutting, encoding, deciding when to stop) happens on the caller's side.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from dictate.errors import ConfigError, DictateError
from dictate.portaudio import LOCK, sounddevice


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    hostapi: str
    channels: int
    default_rate: float
    is_default: bool


def input_devices() -> list[InputDevice]:
    """Every device that can record, with the system default marked."""
    sd = sounddevice()
    try:
        default = sd.default.device[0]
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
    except sd.PortAudioError as exc:
        raise DictateError(f"cannot list audio devices: {exc}") from None
    if default is None or default < 0:
        default = -1
    return [
        InputDevice(
            d["index"],
            d["name"],
            hostapis[d["hostapi"]]["name"],
            d["max_input_channels"],
            d["default_samplerate"],
            d["index"] == default,
        )
        for d in devices
        if d["max_input_channels"] > 0
    ]


def describe(devices: list[InputDevice]) -> str:
    return ", ".join(f"[{d.index}] {d.name}" for d in devices) or "none"


def resolve_device(spec: str, devices: list[InputDevice] | None = None) -> int | None:
    """Device index for "" (system default: None), an index, or a unique name substring."""
    spec = spec.strip()
    if not spec:
        sounddevice()  # loads PortAudio, so the failure to load is reported here
        return None
    devices = input_devices() if devices is None else devices
    if spec.isdigit():
        index = int(spec)
        if any(d.index == index for d in devices):
            return index
        raise ConfigError(f"[audio] device {index} is not an input device; input devices: {describe(devices)}")
    exact = [d for d in devices if d.name.lower() == spec.lower()]
    matches = exact or [d for d in devices if spec.lower() in d.name.lower()]
    if len(matches) == 1:
        return matches[0].index
    if not matches:
        raise ConfigError(f"[audio] device {spec!r} matches no input device; input devices: {describe(devices)}")
    raise ConfigError(
        f"[audio] device {spec!r} is ambiguous, it matches {describe(matches)}; use an index or a longer name"
    )


class Recorder:
    """The microphone, recording mono int16 at `rate` Hz (or at the device's own rate, `capture_rate`,
    when it refuses that one). `open()` or `with`, then `read()` blocks until `close()`."""

    def __init__(self, device: str = "", rate: int = 16000, blocksize: int = 0) -> None:
        self.device_spec = device
        self.rate = rate
        self.blocksize = blocksize
        self._queue: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()
        self._stream: Any = None
        self.capture_rate = rate
        self.first_block_at: float | None = None  # monotonic time the first block arrived
        self.captured_frames = 0  # at capture_rate, counted as blocks are read

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if self.first_block_at is None:
            self.first_block_at = time.monotonic()
        self._queue.put(indata[:, 0].copy())

    def open(self) -> Recorder:
        sd = sounddevice()
        device = resolve_device(self.device_spec)
        try:
            sd.check_input_settings(device=device, channels=1, dtype="int16", samplerate=self.rate)
        except sd.PortAudioError:
            # Some hardware devices only record at their own rate: record at that and resample.
            info = sd.query_devices(device, "input")
            self.capture_rate = int(info["default_samplerate"])
        except ValueError as exc:
            raise DictateError(f"no microphone found ({exc}); see `dictate devices`") from None
        try:
            with LOCK:
                self._stream = sd.InputStream(
                    device=device,
                    samplerate=self.capture_rate,
                    channels=1,
                    dtype="int16",
                    blocksize=self.blocksize,
                    latency="low",
                    callback=self._callback,
                )
                self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            if self._stream is not None:
                self._stream.close()
            name = self.device_spec or "the default input device"
            raise DictateError(f"cannot record from {name}: {exc}; see `dictate devices`") from None
        return self

    def close(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            with LOCK:
                stream.stop()
                stream.close()

    def __enter__(self) -> Recorder:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, timeout: float | None = None) -> np.ndarray | None:
        """The next block at `capture_rate`, or None if none came in time."""
        try:
            block = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        self.captured_frames += len(block)
        return block
