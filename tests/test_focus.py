"""Reading the focused window's class: Hyprland through hyprctl (a stand-in tool here), sway, X11."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest

from dictate.focus import FocusReader, hyprland_focused_app


def fake_tool(folder: Path, name: str, output: str, status: int = 0) -> dict[str, str]:
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\nexit {status}\n")
    tool.chmod(0o755)
    return {"PATH": f"{folder}:{os.environ['PATH']}"}


def test_hyprland_class_and_initial_class(tmp_path: Path) -> None:
    env = fake_tool(tmp_path / "bin", "hyprctl", json.dumps({"class": "kitty", "initialClass": "kitty", "title": "~"}))
    assert hyprland_focused_app(env) == ("kitty",)
    reader = FocusReader({**env, "HYPRLAND_INSTANCE_SIGNATURE": "abc", "WAYLAND_DISPLAY": "wayland-1"})
    assert reader.window_class() == ("kitty",)


def test_hyprland_without_a_window_or_tool_is_none(tmp_path: Path) -> None:
    assert hyprland_focused_app(fake_tool(tmp_path / "a", "hyprctl", "{}")) is None
    assert hyprland_focused_app(fake_tool(tmp_path / "b", "hyprctl", "not json", status=1)) is None
    assert hyprland_focused_app({"PATH": str(tmp_path / "empty")}) is None


def test_sway_through_swaymsg(tmp_path: Path) -> None:
    tree = {"nodes": [{"nodes": [{"focused": True, "app_id": "foot", "window_properties": None}]}]}
    env = fake_tool(tmp_path / "bin", "swaymsg", json.dumps(tree))
    assert FocusReader({**env, "SWAYSOCK": "/run/sway.sock", "WAYLAND_DISPLAY": "wayland-1"}).window_class() == (
        "foot",
    )


def test_no_session_means_no_class() -> None:
    assert FocusReader({"PATH": os.environ["PATH"]}).window_class() is None


def test_an_x_display_that_is_gone_is_none_not_a_failure() -> None:
    reader = FocusReader({"DISPLAY": ":987654", "PATH": os.environ["PATH"]})
    assert reader.window_class() is None
    reader.close()


def test_an_x_server_that_never_answers_does_not_hold_up_the_press() -> None:
    """A hung X server (here a listener on the X port that accepts and says nothing): each press gets
    None after the wait, and no second read is started while the first one hangs."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(4)
        port = hung.getsockname()[1]
        if not 6000 < port < 6000 + 65535:
            pytest.skip("no free port above the X base port")
        reader = FocusReader({"DISPLAY": f"127.0.0.1:{port - 6000}", "PATH": os.environ["PATH"]})
        answers: list[object] = []
        pressing = threading.Thread(target=lambda: answers.extend([reader.window_class(), reader.window_class()]))
        pressing.start()
        pressing.join(30)  # before the bound, the first read never came back
        assert not pressing.is_alive() and answers == [None, None]
        hung.setblocking(False)
        hung.accept()[0].close()  # the one read that was started
        with pytest.raises(BlockingIOError):
            hung.accept()  # and no other
