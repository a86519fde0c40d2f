"""The microphone: device lookup (pure), and recording for real from the rig's virtual microphone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dictate.audio import Recording, has_speech
from dictate.errors import ConfigError
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
