"""pynput typing and the macOS paste, with pynput and pbcopy/pbpaste stood in for."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from dictate import DictateError
from dictate.config import OutputConfig
from dictate.output.macos import MacPaste, PynputTyping
from tests.output.tools import calls, make_tool


class FakeController:
    """Records what pynput's keyboard Controller was asked to do."""

    events: list[Any]

    def __init__(self) -> None:
        self.events = FakeController.events

    def type(self, text: str) -> None:
        if "\x00" in text:
            raise OSError("cannot post the event")
        self.events.append(("type", text))

    def pressed(self, key: str) -> Any:
        events = self.events

        class Held:
            def __enter__(self) -> None:
                events.append(("press", key))

            def __exit__(self, *exc: object) -> None:
                events.append(("release", key))

        return Held()

    def tap(self, key: str) -> None:
        self.events.append(("tap", key))


@pytest.fixture
def pynput(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """pynput.keyboard replaced by a recorder; returns the events it records."""
    keyboard = types.ModuleType("pynput.keyboard")
    keyboard.Controller = FakeController  # type: ignore[attr-defined]
    keyboard.Key = types.SimpleNamespace(cmd="cmd")  # type: ignore[attr-defined]
    package = types.ModuleType("pynput")
    package.keyboard = keyboard  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynput", package)
    monkeypatch.setitem(sys.modules, "pynput.keyboard", keyboard)
    FakeController.events = []
    return FakeController.events


def test_pynput_types_the_text(pynput: list[Any]) -> None:
    output = PynputTyping()
    output.deliver("héllo — 😀")
    output.deliver(" again")
    assert pynput == [("type", "héllo — 😀"), ("type", " again")]
    with pytest.raises(DictateError, match=r"^typing failed: cannot post the event$"):
        output.deliver("\x00")


CLIPBOARD_TOOLS = {
    # pbcopy stores stdin in the clipboard file; pbpaste prints it.
    "pbcopy": "open(sys.argv[0] + '.clip', 'wb').write(sys.stdin.buffer.read())",
    "pbpaste": "import os; p = sys.argv[0].replace('pbpaste', 'pbcopy') + '.clip'; "
    "sys.stdout.buffer.write(open(p, 'rb').read() if os.path.exists(p) else b'')",
}


@pytest.mark.parametrize("restore", [True, False])
def test_mac_paste_presses_cmd_v_and_puts_the_clipboard_back(
    bin_dir: Path, pynput: list[Any], monkeypatch: pytest.MonkeyPatch, restore: bool
) -> None:
    for name, body in CLIPBOARD_TOOLS.items():
        make_tool(bin_dir, name, body)
    (bin_dir / "pbcopy.clip").write_bytes("before ✓".encode())
    monkeypatch.setenv("PATH", str(bin_dir))
    MacPaste(OutputConfig(restore_clipboard=restore)).deliver("pasted words")
    assert pynput == [("press", "cmd"), ("tap", "v"), ("release", "cmd")]
    if restore:
        assert (bin_dir / "pbcopy.clip").read_bytes() == "before ✓".encode()
        assert len(calls(bin_dir, "pbcopy")) == 2  # the text, then what was there before
    else:
        assert (bin_dir / "pbcopy.clip").read_bytes() == b"pasted words"
        assert calls(bin_dir, "pbpaste") == []
