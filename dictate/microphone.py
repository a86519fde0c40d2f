"""The microphone: one sounddevice.InputStream, opened and closed by its owner; the device list.

The audio callback runs on PortAudio's thread and only copies each block into a queue; everything
else (cutting, encoding, deciding when to stop) happens on the caller's side. Every call into
PortAudio goes through `_portaudio`, so none of its errors escapes as anything but a DeviceError,
one line saying what to do in the words that `run`, `once`, `notes`, `devices` and `doctor` share.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from dictate.errors import ConfigError, DeviceError
from dictate.portaudio import LOCK, sounddevice

log = logging.getLogger("dictate")

# What to do about a microphone that is missing or fails.
CONNECT = "connect a microphone, and check that PulseAudio or PipeWire runs (`pactl info`)"
CHOOSE = "check that it is connected and free, or set [audio] device to another one (`dictate devices` lists them)"


def no_microphone() -> DeviceError:
    """No input device at all."""
    return DeviceError("no microphone found", CONNECT)


def no_default(devices: list[InputDevice]) -> DeviceError:
    """Input devices exist, but the system names none as its default."""
    return DeviceError(
        "the system has no default microphone", f"set [audio] device to one of: {describe(devices)} (`dictate devices`)"
    )


def device_failed(name: str, exc: BaseException) -> DeviceError:
    """PortAudio refused to record from `name`, with its reason."""
    return DeviceError(f"cannot record from {name} ({_reason(exc)})", CHOOSE)


def listing_failed(exc: BaseException) -> DeviceError:
    """PortAudio could not list the devices, with its reason."""
    return DeviceError(f"cannot list the audio devices ({_reason(exc)})", CONNECT)


def _reason(exc: BaseException) -> str:
    """PortAudio's words, without its error code."""
    return str(exc).split(" [PaErrorCode", 1)[0].strip() or type(exc).__name__


@contextlib.contextmanager
def _portaudio(failed: Callable[[BaseException], DeviceError]) -> Iterator[Any]:
    """The sounddevice module, with any PortAudio error inside the block turned into `failed(error)`."""
    sd = sounddevice()
    try:
        yield sd
    except sd.PortAudioError as exc:
        raise failed(exc) from None


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
    with _portaudio(listing_failed) as sd:
        default = sd.default.device[0]
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
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
    if not devices:
        raise no_microphone()
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


def check_microphone(spec: str) -> str:
    """The name of the input device that `spec` ([audio] device) records from; DeviceError (or a
    ConfigError for a name that matches nothing) when there is none. Nothing is opened: this is
    what `run` and `notes` check before they start, and what every opening checks first."""
    return _find(spec)[1]


def _find(spec: str) -> tuple[int | None, str]:
    device = resolve_device(spec)
    with _portaudio(partial(device_failed, spec or "the default microphone")) as sd:
        try:
            info = sd.query_devices(device, "input")
        except (sd.PortAudioError, ValueError):
            devices = input_devices()
            raise (no_default(devices) if devices and device is None else no_microphone()) from None
    return device, str(info["name"])


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
        self.name = device or "the default microphone"

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if self.first_block_at is None:
            self.first_block_at = time.monotonic()
        self._queue.put(indata[:, 0].copy())

    def open(self) -> Recorder:
        device, self.name = _find(self.device_spec)
        with _portaudio(partial(device_failed, self.name)) as sd:
            try:
                sd.check_input_settings(device=device, channels=1, dtype="int16", samplerate=self.rate)
            except sd.PortAudioError:
                # Some hardware devices only record at their own rate: record at that and resample.
                self.capture_rate = int(sd.query_devices(device, "input")["default_samplerate"])
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
                self.close()
                raise device_failed(self.name, exc) from None
        return self

    def close(self) -> None:
        """Stop and close the stream; a device that went away meanwhile is no error here (what it
        recorded has been taken)."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            try:
                with LOCK:
                    stream.stop()
                    stream.close()
            except Exception as exc:  # sounddevice.PortAudioError, for a device unplugged mid-stream
                log.debug("closing the microphone: %s", exc)

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
