"""A second user on the same machine tries to catch our control socket, run as that user for real.

With XDG_RUNTIME_DIR unset the socket lives in a folder of the shared temp folder; she creates that
folder first (open to all), or a symlink in its place, or points us at a folder of hers, and serves
her own socket there. `dictate ctl` must send her nothing and `dictate run` must not start there.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import rig_unavailable, write_config
from tests.rig import proc
from tests.rig.sound import RigUnavailable, VirtualMic
from tests.rig.users import User, second_user, shared_tmp

pytestmark = pytest.mark.rig

# Her fake daemon: a socket in the folder she made, open to everyone, answering every command with
# lies and noting what it received in a file of hers.
FAKE_DAEMON = r"""
import os, socket, sys
folder, log = sys.argv[1], sys.argv[2]
os.makedirs(folder, exist_ok=True)
os.chmod(folder, 0o777)
path = os.path.join(folder, "dictate.sock")
server = socket.socket(socket.AF_UNIX)
server.bind(path)
os.chmod(path, 0o777)
server.listen(8)
open(log, "w").close()
os.chmod(log, 0o666)
print("listening", flush=True)
while True:
    conn, _ = server.accept()
    with conn:
        line = conn.recv(1024)
        with open(log, "ab") as fh:
            fh.write(line)
        conn.sendall(b'{"ok": true, "state": "recording", "queued": 666, "delivered": 666}\n')
"""


@pytest.fixture(scope="module")
def mallory() -> Iterator[User]:
    try:
        with second_user() as user:
            yield user
    except RigUnavailable as exc:
        rig_unavailable(str(exc))


@pytest.fixture
def tmp_shared() -> Iterator[Path]:
    with shared_tmp() as folder:
        yield folder


@pytest.fixture
def env(home: Path, tmp_shared: Path) -> dict[str, str]:
    """Our environment: no XDG_RUNTIME_DIR, and the shared folder as the temp folder."""
    write_config(
        home,
        '[api]\nbase_url = "http://127.0.0.1:9/v1"\n'  # a server, so the engine is http without a key
        '[output]\nmethod = "stdout"\n[feedback]\nsounds = false\nnotify = false\n',
    )
    environ = proc.clean_env(home)
    del environ["XDG_RUNTIME_DIR"]
    environ["TMPDIR"] = str(tmp_shared)
    return environ


def our_folder(tmp_shared: Path) -> Path:
    return tmp_shared / f"dictate-{os.getuid()}"


@pytest.fixture
def fake_daemon(mallory: User, tmp_shared: Path) -> Iterator[Path]:
    """Her socket in the folder where ours would be, made by her before we came; yields her log."""
    log = tmp_shared / "heard"
    server = mallory.python(FAKE_DAEMON, str(our_folder(tmp_shared)), str(log), stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None and server.stdout.readline() == "listening\n"
        yield log
    finally:
        server.kill()
        server.wait()


def one_line_refusal(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dictate: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_ctl_sends_nothing_to_her_socket(env: dict[str, str], mallory: User, fake_daemon: Path) -> None:
    for action in ("status", "start"):
        result = proc.run(["ctl", action], env)
        one_line_refusal(result, 1, f"user {mallory.name}", "not to you", "XDG_RUNTIME_DIR")
    assert fake_daemon.read_bytes() == b""  # she heard nothing


def test_the_daemon_does_not_start_in_her_folder(
    env: dict[str, str], mallory: User, fake_daemon: Path, tmp_shared: Path
) -> None:
    result = proc.run(["run", "--no-hotkey"], env, timeout=60)
    one_line_refusal(result, 1, f"user {mallory.name}", "XDG_RUNTIME_DIR")
    assert "ready" not in result.stderr
    assert (our_folder(tmp_shared) / "dictate.sock").stat().st_uid == mallory.uid  # hers, untouched


@pytest.mark.parametrize("target", ["hers", "ours"])
def test_a_symlink_in_place_of_the_folder_is_refused(
    env: dict[str, str], mallory: User, tmp_shared: Path, target: str
) -> None:
    """She plants a symlink where our folder goes, to a folder of hers or to one of ours."""
    pointed = tmp_shared / "elsewhere"
    if target == "hers":
        made = mallory.popen(["mkdir", "-m", "0700", str(pointed)])
        assert made.wait() == 0
    else:
        pointed.mkdir(mode=0o700)
    assert mallory.popen(["ln", "-s", str(pointed), str(our_folder(tmp_shared))]).wait() == 0
    one_line_refusal(proc.run(["ctl", "status"], env), 1, "symbolic link")
    one_line_refusal(proc.run(["run", "--no-hotkey"], env, timeout=60), 1, "symbolic link")
    assert list(pointed.iterdir()) == []  # nothing was created through the link


def test_an_xdg_runtime_dir_of_hers_is_not_trusted(env: dict[str, str], mallory: User, tmp_shared: Path) -> None:
    folder = tmp_shared / "run-of-hers"
    assert mallory.popen(["mkdir", "-m", "0777", str(folder)]).wait() == 0
    env = {**env, "XDG_RUNTIME_DIR": str(folder)}
    one_line_refusal(proc.run(["ctl", "status"], env), 2, f"XDG_RUNTIME_DIR {folder}", f"user {mallory.name}")
    one_line_refusal(proc.run(["run", "--no-hotkey"], env, timeout=60), 2, "XDG_RUNTIME_DIR")
    assert list(folder.iterdir()) == []


def test_the_folder_we_make_is_private_and_used(env: dict[str, str], tmp_shared: Path, vmic: VirtualMic) -> None:
    """Nobody came first: the daemon makes the folder, mode 0700, and `ctl` reaches it there."""
    env = {**env, **vmic.env}
    daemon = proc.Running(["run", "--no-hotkey"], env, stdin=None)
    try:
        daemon.wait_for_stderr("ready", timeout=30)
        folder = our_folder(tmp_shared)
        info = folder.lstat()
        assert (info.st_uid, info.st_mode & 0o7777) == (os.getuid(), 0o700)
        status = proc.run(["ctl", "status"], env)
        assert status.returncode == 0 and status.stdout.startswith("idle"), status.stderr
    finally:
        daemon.proc.terminate()
        daemon.finish(timeout=30)
