"""The microphone: device lookup (pure), and recording for real from the rig's virtual microphone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dictate.audio import Recording, has_speech
from dictate.errors import ConfigError, DeviceError
from dictate.microphone import InputDevice, Recorder, describe, resolve_device
from tests.rig.sound import VirtualMic

DEVICES = [
    InputDevice(0, "HDA Intel PCH: ALC257 Analog (hw:0,0)", "ALSA", 2, 48000.0, False),
    InputDevice(4, "USB Headset: Audio (hw:2,0)", "ALSA", 1, 44100.0, False),
    InputDevice(7, "pulse", "ALSA", 32, 44100.0, False),
    InputDevice(8, "default", "ALSA", 32, 44100.0, True),
]


@pytest.mark.parametrize(
    ("spec", "index"),
    [("4", 4), ("headset", 4), ("USB HEADSET", 4), ("pulse", 7), ("default", 8), ("  alc257 ", 0)],
)
def test_a_device_is_found_by_index_or_a_unique_part_of_its_name(spec: str, index: int) -> None:
    assert resolve_device(spec, DEVICES) == index


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("3", "[audio] device 3 is not an input device; input devices: [0] HDA Intel"),
        ("webcam", "[audio] device 'webcam' matches no input device; input devices: [0] HDA"),
        ("hw:", "[audio] device 'hw:' is ambiguous, it matches [0] HDA Intel PCH: ALC257 Analog (hw:0,0), [4] USB"),
    ],
)
def test_a_device_that_is_not_found_lists_the_candidates(spec: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_device(spec, DEVICES)
    assert info.value.message.startswith(message)


def test_devices_are_described_by_index_and_name() -> None:
    assert describe(DEVICES[:2]) == "[0] HDA Intel PCH: ALC257 Analog (hw:0,0), [4] USB Headset: Audio (hw:2,0)"
    assert describe([]) == "none"


@pytest.mark.rig
def test_recording_from_the_virtual_microphone(
    vmic: VirtualMic, clip: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in vmic.env.items():
        monkeypatch.setenv(name, value)
    blocks = []
    with Recorder("", 16000) as recorder:
        player = vmic.play(clip("testing the microphone"), wait=False)
        while player.poll() is None or len(blocks) < 5:
            block = recorder.read(timeout=1)
            assert block is not None, "the stream stopped delivering"
            blocks.append(block)
        rate = recorder.capture_rate
        assert recorder.first_block_at is not None
        assert recorder.captured_frames == sum(len(b) for b in blocks)
    recording = Recording(np.concatenate(blocks), rate).at_rate(16000)
    assert recording.seconds > 1.0
    assert has_speech(recording)


class PortAudioError(Exception):
    pass


class FailingPortAudio:
    """A stand-in for the sounddevice module whose calls fail as PortAudio's do, one chosen call at a time."""

    PortAudioError = PortAudioError

    def __init__(self, failing: str, devices: int = 1) -> None:
        self.failing = failing
        self.devices = [
            {"index": i, "name": f"mic {i}", "hostapi": 0, "max_input_channels": 1, "default_samplerate": 16000.0}
            for i in range(devices)
        ]
        self.default = type("Default", (), {"device": [0 if devices else -1, 0]})()

    def _maybe_fail(self, call: str) -> None:
        if call == self.failing:
            raise PortAudioError(f"Error in {call} [PaErrorCode -9999]")

    def query_devices(self, device: int | None = None, kind: str | None = None) -> object:
        self._maybe_fail("query_devices" if device is None and kind is None else "query_device")
        return self.devices if kind is None else {"name": "mic 0", "default_samplerate": 16000.0}

    def query_hostapis(self) -> list[dict[str, str]]:
        return [{"name": "ALSA"}]

    def check_input_settings(self, **_kw: object) -> None:
        self._maybe_fail("check_input_settings")

    def InputStream(self, **_kw: object) -> object:  # sounddevice's name
        self._maybe_fail("InputStream")
        fail = self._maybe_fail

        class Stream:
            def start(self) -> None:
                fail("start")

            def stop(self) -> None:
                fail("stop")

            def close(self) -> None:
                pass

        return Stream()


@pytest.mark.parametrize(
    ("failing", "devices", "message"),
    [
        ("query_device", 0, "no microphone found; connect a microphone"),
        ("query_device", 2, "the system has no default microphone; set [audio] device to one of: [0] mic 0, [1] mic 1"),
        ("InputStream", 1, "cannot record from mic 0 (Error in InputStream); check that it is connected and free"),
        ("start", 1, "cannot record from mic 0 (Error in start); check that it is connected and free"),
    ],
)
def test_every_portaudio_error_is_one_line_saying_what_to_do(
    monkeypatch: pytest.MonkeyPatch, failing: str, devices: int, message: str
) -> None:
    from dictate import microphone

    fake = FailingPortAudio(failing, devices)
    monkeypatch.setattr(microphone, "sounddevice", lambda: fake)
    with pytest.raises(DeviceError) as info:
        Recorder("", 16000).open()
    assert info.value.message.startswith(message)
    assert "PaErrorCode" not in info.value.message


def test_a_failure_to_list_the_devices_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from dictate import microphone

    monkeypatch.setattr(microphone, "sounddevice", lambda: FailingPortAudio("query_devices"))
    with pytest.raises(DeviceError) as info:
        resolve_device("mic")
    assert info.value.message == (
        "cannot list the audio devices (Error in query_devices); "
        "connect a microphone, and check that PulseAudio or PipeWire runs (`pactl info`)"
    )


def test_a_device_gone_while_recording_does_not_fail_the_close(monkeypatch: pytest.MonkeyPatch) -> None:
    from dictate import microphone

    monkeypatch.setattr(microphone, "sounddevice", lambda: FailingPortAudio("stop"))
    recorder = Recorder("", 16000).open()
    recorder.close()  # PortAudio's error on stop is logged, not raised: what was recorded is taken
