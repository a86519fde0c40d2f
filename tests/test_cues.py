"""Cues: the tones are shaped as promised, and notifications go through notify-send when it is there."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from dictate.cues import CUE_RATE, CUES, Cues, tone


def test_a_tone_has_its_length_and_loudness_and_fades_in_and_out() -> None:
    wave = tone([(660, 0.05), (0, 0.02), (880, 0.06)], volume=0.5)
    assert wave.dtype == np.float32 and len(wave) == int(0.05 * CUE_RATE) + int(0.02 * CUE_RATE) + int(0.06 * CUE_RATE)
    assert 0.49 < float(np.max(np.abs(wave))) <= 0.5
    assert abs(wave[0]) < 0.01 and abs(wave[-1]) < 0.01  # no click in or out
    pause = wave[int(0.05 * CUE_RATE) : int(0.07 * CUE_RATE)]
    assert not pause.any()


def test_start_rises_and_stop_falls() -> None:
    assert CUES["start"][0][0] < CUES["start"][-1][0]
    assert CUES["stop"][0][0] > CUES["stop"][-1][0]


def test_silent_cues_play_nothing() -> None:
    cues = Cues(sounds=False, notify=False)
    cues.cue("start")  # would raise KeyError on a missing wave if it tried
    cues.error("nothing to see")


def test_errors_are_notified_through_notify_send(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = tmp_path / "args"
    tool = tmp_path / "bin" / "notify-send"
    tool.parent.mkdir()
    tool.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {seen}\n')
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tool.parent}{os.pathsep}{os.environ['PATH']}")
    cues = Cues(sounds=False, notify=True)
    cues.error("the server refused the key")
    deadline = time.monotonic() + 10
    while not seen.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert seen.read_text().splitlines() == [
        "--app-name=dictate",
        "--urgency=normal",
        "dictate",
        "the server refused the key",
    ]


def test_without_notify_send_nothing_is_notified(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not Cues(sounds=False, notify=True).notify_enabled
