from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest

from dictate import DictateError
from dictate.control import ControlServer, send


def test_commands_round_trip_and_socket_is_private(tmp_path: Path) -> None:
    seen: list[str] = []
    server = ControlServer(tmp_path / "run" / "d.sock", lambda c: seen.append(c) or {"ok": True, "state": "idle"})
    server.start()
    try:
        assert stat.S_IMODE((tmp_path / "run" / "d.sock").stat().st_mode) == 0o600
        assert send("toggle", server.path) == {"ok": True, "state": "idle"}
        assert send("nonsense", server.path) == {"ok": False, "error": "unknown command 'nonsense'"}
        assert seen == ["toggle"]
    finally:
        server.close()
    assert not server.path.exists()


def test_a_second_daemon_is_refused_and_a_stale_socket_replaced(tmp_path: Path) -> None:
    path = tmp_path / "d.sock"
    first = ControlServer(path, lambda c: {"ok": True})
    first.start()
    try:
        with pytest.raises(DictateError, match="another dictate daemon is running"):
            ControlServer(path, lambda c: {"ok": True}).start()
    finally:
        first.close()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))  # left behind by a daemon that died: nobody accepts on it
    stale.close()
    second = ControlServer(path, lambda c: {"ok": True, "second": True})
    second.start()
    try:
        assert send("status", path)["second"] is True
    finally:
        second.close()


def test_no_daemon_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DictateError, match="no dictate daemon is running"):
        send("status", tmp_path / "dictate.sock")
