from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from dictate import DictateError
from dictate.control import ControlServer, send
from dictate.listening import Event, Loop
from tests.conftest import rig_unavailable
from tests.rig.sound import RigUnavailable
from tests.rig.users import second_user, shared_tmp


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


def test_closing_the_server_lets_the_answer_being_written_go_out(tmp_path: Path) -> None:
    """`ctl quit`: the main loop has put its reply and the process leaves right after closing the
    server, so close() must not return before the reply is on its way (it once came back empty)."""
    answering = threading.Event()

    def handler(command: str) -> dict[str, object]:
        answering.set()
        time.sleep(0.3)  # the answering thread is slow to be scheduled
        return {"ok": True, "wait": 1.5}

    server = ControlServer(tmp_path / "d.sock", handler)
    server.start()
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(str(server.path))
        client.sendall(b"quit\n")
        assert answering.wait(5)
        server.close()
        ready, _, _ = select.select([client], [], [], 0)  # no waiting: the line is already here
        assert ready == [client]
        assert client.recv(100) == b'{"ok": true, "wait": 1.5}\n'


def test_a_daemon_that_hangs_up_without_answering_is_said_so(tmp_path: Path) -> None:
    path = tmp_path / "d.sock"
    with socket.socket(socket.AF_UNIX) as mute:
        mute.bind(str(path))
        mute.listen(1)
        hang_up = threading.Thread(target=lambda: mute.accept()[0].close())
        hang_up.start()
        with pytest.raises(DictateError) as info:
            send("quit", path)
        hang_up.join()
    assert info.value.message == "the daemon hung up without answering 'quit'; see its log"


def test_no_daemon_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DictateError, match="no dictate daemon is running"):
        send("status", tmp_path / "dictate.sock")


def private(folder: Path) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def test_a_socket_that_is_not_ours_gets_nothing(tmp_path: Path) -> None:
    """Her socket where ours should be (given to another user here with chown, which needs root)."""
    if os.geteuid() != 0:
        pytest.skip("giving a socket to another user needs root")
    path = private(tmp_path / "run") / "dictate.sock"
    heard: list[bytes] = []
    with socket.socket(socket.AF_UNIX) as hers:
        hers.bind(str(path))
        hers.listen(1)
        os.chown(path, 65534, 65534)
        with pytest.raises(DictateError) as info:
            send("start", path)
        hers.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            heard.append(hers.accept()[0].recv(100))
    assert info.value.message == (
        f"refusing the control socket {path}: it belongs to user nobody (uid 65534), not to you; "
        "nothing was sent: remove it and start the daemon again"
    )
    assert heard == []  # she was not even connected to


def test_a_symlink_in_place_of_the_socket_is_refused_by_both_sides(tmp_path: Path) -> None:
    real = ControlServer(private(tmp_path / "elsewhere") / "d.sock", lambda c: {"ok": True, "real": True})
    real.start()
    try:
        link = private(tmp_path / "run") / "d.sock"
        link.symlink_to(real.path)
        with pytest.raises(DictateError, match="it is a symbolic link; nothing was sent"):
            send("status", link)
        with pytest.raises(DictateError, match="it is a symbolic link; remove it"):
            ControlServer(link, lambda c: {"ok": True}).start()
        assert link.is_symlink()  # left for the user to look at
    finally:
        real.close()


def test_a_folder_open_to_others_is_refused_by_both_sides(tmp_path: Path) -> None:
    folder = private(tmp_path / "run")
    server = ControlServer(folder / "d.sock", lambda c: {"ok": True})
    server.start()
    try:
        folder.chmod(0o777)
        with pytest.raises(DictateError, match=r"its folder is open to others \(mode 0777, must be 0700\)"):
            send("status", server.path)
    finally:
        server.close()
    with pytest.raises(DictateError, match="its folder is open to others"):
        ControlServer(folder / "d.sock", lambda c: {"ok": True}).start()


# Another user's client: connects, sends "start", prints what came back ("" when nothing did).
CLIENT = r"""
import socket, sys
with socket.socket(socket.AF_UNIX) as s:
    s.settimeout(10)
    s.connect(sys.argv[1])
    try:  # the server may close the connection before the command is even written
        s.sendall(b"start\n")
        print(repr(s.recv(1024)))
    except (BrokenPipeError, ConnectionResetError):  # closed with the command unread
        print(repr(b""))
"""


@pytest.mark.rig
def test_the_server_answers_no_other_user(tmp_path: Path) -> None:
    """Even when the folder and socket are opened up by mistake, a peer of another uid is refused
    (SO_PEERCRED) and the command is never applied."""
    try:
        with second_user() as mallory, shared_tmp() as shared:
            folder = shared / "run"
            folder.mkdir(mode=0o700)
            seen: list[str] = []
            server = ControlServer(folder / "d.sock", lambda c: seen.append(c) or {"ok": True})
            server.start()
            try:
                folder.chmod(0o755)
                server.path.chmod(0o777)
                client = mallory.python(CLIENT, str(server.path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                out, err = client.communicate(timeout=30)
                assert client.returncode == 0, err
                assert out.strip() == "b''"  # the connection was closed without an answer
                folder.chmod(0o700)
                assert send("status", server.path) == {"ok": True}  # the server is alive, and answers us
            finally:
                server.close()
    except RigUnavailable as exc:
        rig_unavailable(str(exc))
    assert seen == ["status"]  # her "start" was never applied


def test_clients_that_send_nothing_or_trickle_hold_no_one_up(tmp_path: Path) -> None:
    """Three silent clients once made `ctl` fail, and one sending a byte every 1.5 s held it 25 minutes."""
    server = ControlServer(tmp_path / "d.sock", lambda c: {"ok": True, "state": "idle"})
    server.start()
    silent = [socket.socket(socket.AF_UNIX) for _ in range(5)]
    try:
        for client in silent:
            client.connect(str(server.path))
        trickler = socket.socket(socket.AF_UNIX)
        trickler.connect(str(server.path))
        trickler.sendall(b"sta")
        assert send("status", server.path, timeout=5) == {"ok": True, "state": "idle"}
        trickler.settimeout(10)
        assert trickler.recv(100) == b""  # its line did not come whole within the read wait: let go
    finally:
        for client in silent:
            client.close()
        trickler.close()
        server.close()


def test_a_command_the_client_gave_up_on_is_never_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    """The main loop busy past the wait: the client is told "busy", and the command is dropped, not
    applied later behind the user's back."""
    applied: list[str] = []

    class Busy(Loop):
        def apply(self, event: Event) -> dict[str, object]:
            applied.append(event.name)
            return {"ok": True}

    loop = Busy()
    monkeypatch.setattr("dictate.listening.REPLY_TIMEOUT", 0.05)
    answer = loop.command("toggle")
    assert answer == {"ok": False, "error": "busy: not done, try again"}
    loop.step()  # the loop comes round to it now
    assert applied == []
    loop.post("start")  # key presses are applied as ever
    loop.step()
    assert applied == ["start"]


def test_a_socket_whose_file_was_removed_is_made_again(tmp_path: Path) -> None:
    """The runtime folder cleaned while the daemon ran: `ctl` found no daemon, a second one started,
    and every text was typed twice."""
    folder = private(tmp_path / "run")
    server = ControlServer(folder / "dictate.sock", lambda c: {"ok": True, "state": "idle"})
    server.start()
    try:
        shutil.rmtree(folder)
        with pytest.raises(DictateError, match="no dictate daemon is running"):
            send("status", server.path)
        server.keep()
        assert send("status", server.path) == {"ok": True, "state": "idle"}
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(server.path.stat().st_mode) == 0o600
        server.keep()  # there: nothing to do
        assert send("status", server.path) == {"ok": True, "state": "idle"}
    finally:
        server.close()
