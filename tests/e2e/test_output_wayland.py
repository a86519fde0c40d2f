"""Text delivery in a headless sway session into a foot terminal (wtype and wl-clipboard, for real).
ydotool is not tested: it needs /dev/uinput."""

from __future__ import annotations

import subprocess

import pytest

from dictate.config import OutputConfig
from dictate.output import WaylandPaste, WtypeTyping, choose_output
from dictate.text import process
from tests.rig.corpus import CORPUS
from tests.rig.wayland import FootTarget, HeadlessSway

pytestmark = pytest.mark.rig


def clipboard(sway: HeadlessSway, *flags: str) -> bytes | None:
    done = subprocess.run(["wl-paste", "--no-newline", *flags], env=sway.run_env(), capture_output=True, timeout=10)
    return done.stdout if done.returncode == 0 else None


def copy(sway: HeadlessSway, data: bytes, *flags: str) -> None:
    subprocess.run(["wl-copy", *flags], input=data, env=sway.run_env(), check=True, timeout=10,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def test_auto_types_with_wtype_on_wayland(sway: HeadlessSway) -> None:
    output, reason = choose_output(OutputConfig(method="auto"), sway.run_env())
    assert isinstance(output, WtypeTyping)
    assert reason.startswith("type: Wayland session")


def test_wtype_delivers_mixed_unicode_exactly(sway: HeadlessSway, foot_window: FootTarget) -> None:
    output, _ = choose_output(OutputConfig(method="type"), sway.run_env())
    output.deliver(CORPUS)
    assert foot_window.wait_for(CORPUS.encode()).decode() == CORPUS


def test_wtype_sends_newline_as_return_only_when_allowed(sway: HeadlessSway, foot_window: FootTarget) -> None:
    output, _ = choose_output(OutputConfig(method="type"), sway.run_env())
    output.deliver(process("one\ntwo", allow_newlines=False))
    assert foot_window.wait_for(b"one two") == b"one two"
    foot_window.clear()
    output.deliver(process("one\ntwo", allow_newlines=True))
    assert foot_window.wait_for(b"one\rtwo") == b"one\rtwo"


def test_paste_into_foot_restores_both_selections(sway: HeadlessSway, foot_window: FootTarget) -> None:
    copy(sway, "clipboard before ✓".encode())
    copy(sway, b"primary before", "--primary")
    output, reason = choose_output(OutputConfig(method="paste"), sway.run_env())
    assert isinstance(output, WaylandPaste), reason
    output.deliver(CORPUS)
    assert foot_window.wait_for(CORPUS.encode()).decode() == CORPUS
    assert clipboard(sway) == "clipboard before ✓".encode()
    assert clipboard(sway, "--primary") == b"primary before"
