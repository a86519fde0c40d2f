"""Reading the focused window's class: Hyprland through hyprctl (a stand-in tool here), sway, X11."""

from __future__ import annotations

import json
import os
from pathlib import Path

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
