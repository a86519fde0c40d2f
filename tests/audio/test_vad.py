from __future__ import annotations

import numpy as np
import pytest

from dictate.audio import (
    Recording,
    SpeechTracker,
    has_speech,
    speech_seconds,
)

RATE = 16000


def tone(seconds: float, freq: float = 440.0, level: float = 0.3, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * level * 32767).astype(np.int16)


def silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.int16)


def speech_with_pauses() -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Tone bursts (stand-ins for words) separated by pauses; returns the audio and the pause spans."""
    pieces, pauses, pos = [], [], 0
    for burst, pause in [(2.0, 0.8), (3.0, 0.8), (1.0, 0.3), (1.5, 0.8), (2.0, 0.0)]:
        pieces.append(tone(burst, freq=300 + 50 * len(pieces)))
        pos += int(burst * RATE)
        if pause:
            pieces.append(silence(pause))
            pauses.append((pos, pos + int(pause * RATE)))
            pos += int(pause * RATE)
    return np.concatenate(pieces), pauses


def test_speech_detection() -> None:
    assert not has_speech(Recording(silence(2.0), RATE))
    noise = (np.random.default_rng(1).normal(0, 30, 2 * RATE)).astype(np.int16)  # about -60 dBFS hiss
    assert not has_speech(Recording(noise, RATE))
    speechlike = np.concatenate([noise[:RATE], tone(0.5) + noise[: RATE // 2], noise[:RATE]])
    assert has_speech(Recording(speechlike, RATE))
    assert 0.4 <= speech_seconds(Recording(speechlike, RATE)) <= 0.6


def test_tracker_counts_silence_after_speech_across_odd_blocks() -> None:
    tracker = SpeechTracker(RATE)
    audio = np.concatenate([silence(0.5), tone(0.6), silence(1.2)])
    for start in range(0, len(audio), 333):
        tracker.feed(audio[start : start + 333])
    assert tracker.speech_started
    assert 0.8 <= tracker.silence_after_speech <= 1.25  # the VAD holds on to speech a few frames longer
    assert 0.5 <= tracker.speech_seconds <= 0.9


def test_tracker_ignores_silence_before_speech() -> None:
    tracker = SpeechTracker(RATE)
    tracker.feed(silence(3.0))
    assert not tracker.speech_started
    assert tracker.silence_after_speech == 0


def test_speech_without_any_quiet_moment_still_counts() -> None:
    assert has_speech(Recording(tone(0.5), RATE))  # a tightly trimmed clip: no quiet frame to learn a floor from
    hiss = (np.random.default_rng(2).normal(0, 150, 2 * RATE)).astype(np.int16)  # about -47 dBFS, no speech
    assert not has_speech(Recording(hiss, RATE))


def test_gates_agree_on_clear_cases_and_fall_back_without_webrtcvad(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from dictate.audio import FrameGate, VadGate, speech_gate

    assert isinstance(speech_gate(16000), VadGate)
    assert isinstance(speech_gate(44100), FrameGate)  # WebRTC's VAD takes 8, 16, 32 or 48 kHz only
    real_import = builtins.__import__

    def no_webrtcvad(name: str, *args: object, **kwargs: object) -> object:
        if name == "webrtcvad":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_webrtcvad)
    assert isinstance(speech_gate(16000), FrameGate)
    monkeypatch.undo()
    for gate in (FrameGate(RATE), VadGate(RATE)):
        flags = gate.feed(np.concatenate([silence(1.0), tone(1.0)]))
        assert not any(flags[:30]) and sum(flags[35:]) >= 25, type(gate).__name__
