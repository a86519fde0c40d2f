"""Storage faults through the real CLI: damaged spool files, broken history databases, full disks,
read-only data folders. For each: the exit code, one line that says what to do, nothing lost, nothing
sent twice."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dictate import config
from dictate.store import History
from tests.conftest import rig_unavailable, write_config
from tests.rig import disk, proc
from tests.rig.server import Reply, TranscriptionServer
from tests.rig.sound import RigUnavailable, VirtualMic
from tests.store.conftest import wav_bytes

TEXT = "Hello from the test server."
PHRASE = "hello world this is a test"
LONG_PHRASE = "please send the quarterly report to the whole team by friday afternoon and thank you"
Say = Callable[..., tuple[int, str, str]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def configure(home: Path, base_url: str, api: str = "") -> None:
    write_config(home, f'[api]\nbase_url = "{base_url}"\nmax_retries = 0\n{api}\n[audio]\nsilence_seconds = 0.8\n')


def data() -> Path:
    return config.data_dir()


def spool_files() -> list[Path]:
    folder = data() / "spool"
    return sorted(p for p in folder.iterdir() if p.name != "filler") if folder.exists() else []


def diagnostics(stderr: str) -> list[str]:
    """stderr without once's status lines."""
    return [line for line in stderr.splitlines() if "recording…" not in line and "transcribing" not in line]


@pytest.fixture
def mounted() -> Iterator[Callable[..., object]]:
    """Run a rig context manager, turning "cannot here" into the rig's skip-or-fail."""
    stack: list[object] = []

    def enter(manager: object) -> object:
        try:
            value = manager.__enter__()  # type: ignore[attr-defined]
        except RigUnavailable as exc:
            rig_unavailable(str(exc))
        stack.append(manager)
        return value

    yield enter
    for manager in reversed(stack):
        manager.__exit__(None, None, None)  # type: ignore[attr-defined]


def failed_dictations(count: int) -> list[int]:
    ids = []
    with History.open() as h:
        for n in range(count):
            spooled = h.spool(wav_bytes(1.0 + n / 10), source="once")
            assert spooled.id is not None
            h.mark_failed(spooled.id, "connection refused")
            h.release(spooled.id)
            ids.append(spooled.id)
    return ids


# ---- a damaged spool file ----------------------------------------------------------------------


def test_a_damaged_spool_file_is_named_and_the_others_are_still_retried(
    home: Path, user_env: dict[str, str], server: TranscriptionServer
) -> None:
    configure(home, server.base_url)
    first, damaged, last = failed_dictations(3)
    with History.open() as h:
        bad = h.get(damaged).audio_path
    assert bad is not None
    bad.write_bytes(b"\x00garbage, not audio" * 100)

    result = proc.run(["retry", "--all"], user_env)
    assert result.returncode == 1
    assert result.stdout == f"{TEXT}\n{TEXT}\n"  # the two good ones
    errors = [line for line in result.stderr.splitlines() if "recovered" not in line]
    assert len(errors) == 1, result.stderr
    assert f"dictation {damaged}" in errors[0] and str(bad) in errors[0] and "damaged" in errors[0]
    assert "Traceback" not in result.stderr
    assert [round(u.seconds or 0, 1) for u in server.uploads] == [1.0, 1.2]
    with History.open() as h:
        assert [e.id for e in h.pending()] == [damaged]
        assert "damaged" in (h.get(damaged).error or "")
        assert {h.get(i).status for i in (first, last)} == {"delivered"}

    again = proc.run(["retry", "--all"], user_env)  # still named, nothing sent twice
    assert again.returncode == 1 and again.stdout == ""
    assert len(server.uploads) == 2


def test_a_recording_moved_away_is_kept_pending_and_sent_once_it_is_back(
    home: Path, user_env: dict[str, str], server: TranscriptionServer
) -> None:
    configure(home, server.base_url)
    [moved, other] = failed_dictations(2)
    with History.open() as h:
        [path] = h.get(moved).audio_parts
    elsewhere = home / "listening-to-it.wav"
    path.rename(elsewhere)

    for _ in range(2):  # viewing the history gives nothing up, however often
        shown = proc.run(["history"], user_env)
        assert shown.returncode == 0, shown.stderr
        [line] = [line for line in shown.stdout.splitlines() if line.split()[0] == str(moved)]
        assert "failed" in line and "audio is missing" in line
        assert shown.stderr == ""

    away = proc.run(["retry", "--all"], user_env)
    assert (away.returncode, away.stdout) == (1, f"{TEXT}\n"), away.stderr
    [error] = [line for line in away.stderr.splitlines() if "recovered" not in line]
    assert f"dictation {moved}: its audio" in error and f"dictate retry {moved}" in error
    assert f"dictate history discard {moved}" in error
    assert len(server.uploads) == 1  # the other one

    elsewhere.rename(path)
    assert proc.run(["history"], user_env).returncode == 0
    back = proc.run(["retry", "--all"], user_env)
    assert (back.returncode, back.stdout) == (0, f"{TEXT}\n"), back.stderr
    assert f"dictation {moved} recovered" in back.stderr
    assert len(server.uploads) == 2
    assert spool_files() == []
    with History.open() as h:
        assert {h.get(i).status for i in (moved, other)} == {"delivered"}


def test_a_recording_gone_for_good_is_given_up_by_the_user(
    home: Path, user_env: dict[str, str], server: TranscriptionServer
) -> None:
    configure(home, server.base_url)
    [gone] = failed_dictations(1)
    for path in spool_files():
        path.unlink()
    assert proc.run(["retry", str(gone)], user_env).returncode == 1
    given_up = proc.run(["history", "discard", str(gone)], user_env)
    assert given_up.returncode == 0, given_up.stderr
    again = proc.run(["retry", "--all"], user_env)
    assert (again.returncode, again.stdout) == (0, ""), again.stderr
    assert "nothing to retry" in again.stderr
    assert proc.run(["history", "discard", str(gone)], user_env).returncode == 2  # discarded already
    assert server.uploads == []


@pytest.mark.parametrize("keep", ["half", "header"])
def test_a_spool_file_cut_short_is_named_kept_and_not_sent(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, keep: str
) -> None:
    configure(home, server.base_url)
    first, cut, last = failed_dictations(3)
    with History.open() as h:
        [path] = h.get(cut).audio_parts
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if keep == "half" else data[:100])

    result = proc.run(["retry", "--all"], user_env)
    assert (result.returncode, result.stdout) == (1, f"{TEXT}\n{TEXT}\n"), result.stderr
    [error] = [line for line in result.stderr.splitlines() if "recovered" not in line]
    assert f"dictation {cut}: {path} is cut short" in error and "s its header announces" in error
    assert f"dictate history discard {cut}" in error
    assert [round(u.seconds or 0, 1) for u in server.uploads] == [1.0, 1.2]  # not a byte of the cut one
    assert path.exists() and path.read_bytes() == (data[: len(data) // 2] if keep == "half" else data[:100])
    with History.open() as h:
        assert [e.id for e in h.pending()] == [cut]
        assert {h.get(i).status for i in (first, last)} == {"delivered"}

    path.write_bytes(data)  # put back whole (from a backup): sent as it was recorded
    whole = proc.run(["retry", str(cut)], user_env)
    assert (whole.returncode, whole.stdout) == (0, f"{TEXT}\n"), whole.stderr
    assert round(server.uploads[-1].seconds or 0, 1) == 1.1


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_a_spool_file_that_became_a_folder_pipe_or_device_is_named_not_read_and_not_given_up(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, kind: str
) -> None:
    configure(home, server.base_url)
    [odd] = failed_dictations(1)
    [path] = spool_files()
    path.unlink()
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    shown = proc.run(["history"], user_env, timeout=20)
    assert shown.returncode == 0 and "failed" in shown.stdout, shown.stderr
    result = proc.run(["retry", "--all"], user_env, timeout=20)  # a pipe or /dev/zero read would never end
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert f"dictation {odd}: {path} is not a regular file" in result.stderr
    assert server.uploads == []
    assert os.path.lexists(path)
    with History.open() as h:
        assert [e.id for e in h.pending()] == [odd]


def test_a_recording_under_the_minimum_is_not_sent_on_retry(
    home: Path, user_env: dict[str, str], server: TranscriptionServer
) -> None:
    configure(home, server.base_url)
    with History.open() as h:
        spooled = h.spool(wav_bytes(0.1), source="once")  # as a kill before the length check leaves it
        assert spooled.id is not None
        h.release(spooled)
    result = proc.run(["retry", "--all"], user_env)
    assert (result.returncode, result.stdout) == (0, ""), result.stderr
    assert "too short" in result.stderr and "nothing sent" in result.stderr
    assert server.uploads == []
    with History.open() as h:
        assert h.get(spooled.id).status == "discarded"


def test_a_spool_from_before_parts_is_still_retried(
    home: Path, user_env: dict[str, str], server: TranscriptionServer
) -> None:
    configure(home, server.base_url)
    with History.open():
        pass
    # As the previous version left it: one WAV per dictation, grown in place, its row naming the file;
    # and one it wrote but never indexed (killed before its row).
    for name, seconds, indexed in (
        ("20240102T030405678Z-0123abcd.wav", 1.5, True),
        ("20240103T030405678Z-4567cdef.wav", 0.5, False),
    ):
        (data() / "spool" / name).write_bytes(wav_bytes(seconds))
        if indexed:
            with contextlib.closing(sqlite3.connect(data() / "history.db", isolation_level=None)) as db:
                db.execute(
                    "INSERT INTO dictations (created, updated, source, status, audio_name, attempts)"
                    " VALUES ('2024-01-02T03:04:05.678+00:00', '2024-01-02T03:04:05.678+00:00', 'run', 'failed', ?, 1)",
                    (name,),
                )

    result = proc.run(["retry", "--all"], user_env)
    assert (result.returncode, result.stdout) == (0, f"{TEXT}\n{TEXT}\n"), result.stderr
    assert sorted(round(u.seconds or 0, 2) for u in server.uploads) == [0.5, 1.5]
    assert spool_files() == []


# ---- a read-only data folder -------------------------------------------------------------------


def test_a_read_only_data_folder_still_shows_the_history(
    user_env: dict[str, str], mounted: Callable[..., object]
) -> None:
    with History.open() as h:
        spooled = h.spool(wav_bytes(), source="once")
        assert spooled.id is not None
        h.mark_done(spooled.id, "words from yesterday")
        h.mark_delivered(spooled.id)
        waiting = h.spool(wav_bytes(), source="run").id
    mounted(disk.read_only(data()))

    listing = proc.run(["history"], user_env)
    assert (listing.returncode, listing.stderr) == (0, ""), listing.stderr
    assert "words from yesterday" in listing.stdout and str(waiting) in listing.stdout
    shown = proc.run(["history", "show", str(spooled.id)], user_env)
    assert shown.returncode == 0 and "words from yesterday" in shown.stdout, shown.stderr
    as_json = proc.run(["history", "--json"], user_env)
    assert as_json.returncode == 0, as_json.stderr
    assert [e["text"] for e in json.loads(as_json.stdout)] == [None, "words from yesterday"]


# ---- a history database that cannot be used ------------------------------------------------------


def drop_table(db: Path) -> None:
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as c:
        c.execute("DROP TABLE dictations")


def garbage(db: Path) -> None:
    db.write_bytes(bytes(range(256)) * 64)


def truncate(db: Path) -> None:
    with db.open("r+b") as fh:
        fh.truncate(db.stat().st_size // 2)


def newer_schema(db: Path) -> None:
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as c:
        c.execute("INSERT INTO _migrations (name, applied) VALUES ('m900_from_the_future', 'later')")
        c.execute("ALTER TABLE dictations ADD COLUMN mood TEXT")


class WriteLock:
    """Another program holding a database's write lock until `release()`."""

    def __init__(self) -> None:
        self.holder: subprocess.Popen[str] | None = None

    def __call__(self, db: Path) -> None:
        script = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
            " c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.readline()"
        )
        self.holder = subprocess.Popen(
            ["python3", "-c", script, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.holder.stdout is not None and self.holder.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.holder is not None:
            self.holder.kill()
            self.holder.wait()


@pytest.fixture
def write_lock() -> Iterator[WriteLock]:
    lock = WriteLock()
    yield lock
    lock.release()


BROKEN = {
    "dropped table": (drop_table, "move it aside"),
    "garbage bytes": (garbage, "move it aside"),
    "truncated file": (truncate, "move it aside"),
    "newer schema": (newer_schema, "update dictate"),
    "locked": (None, "locked by another program"),
}


@pytest.mark.rig
@pytest.mark.parametrize("damage", list(BROKEN))
def test_a_broken_history_database_never_costs_the_recording(
    home: Path,
    mic_env: dict[str, str],
    say_once: Say,
    write_lock: WriteLock,
    damage: str,
) -> None:
    port = free_port()
    configure(home, f"http://127.0.0.1:{port}/v1")
    with History.open() as h:  # a history worth keeping: many rows, over several pages
        for n in range(200):
            spooled = h.spool(wav_bytes(0.1), source="run")
            h.mark_done(spooled.id, f"an earlier dictation, number {n}, " + "words " * 20)  # type: ignore[arg-type]
            h.mark_delivered(spooled.id)  # type: ignore[arg-type]
    db = data() / "history.db"
    breaker, hint = BROKEN[damage]
    (breaker or write_lock)(db)

    code, out, err = say_once(PHRASE)  # the server is down as well
    assert (code, out) == (1, ""), err
    lines = diagnostics(err)
    print("\n".join(lines))  # DEBUG
    assert any(hint in line for line in lines), err
    assert lines[-1].endswith("can be written again, `dictate retry --all` sends it")
    assert len(lines) <= 2 and "unexpected" not in err and "Traceback" not in err, err
    assert len({p.name.split(".")[0] for p in spool_files()}) == 1  # one dictation, in the spool
    assert all(p.suffix == ".flac" for p in spool_files())

    listing = proc.run(["history", "--limit", "3"], mic_env)  # reads what it can
    print(listing.stderr)  # DEBUG
    if damage in ("newer schema", "locked"):
        assert listing.returncode == 0 and "an earlier dictation, number 199" in listing.stdout, listing.stderr
    else:
        assert listing.returncode == 1 and listing.stdout == ""
        [warning] = listing.stderr.splitlines()
        assert str(db) in warning and "1 recording(s) in the spool" in warning

    if damage == "newer schema":
        return  # the newer dictate indexes it; this one keeps the recording in the spool meanwhile
    with TranscriptionServer(text="recovered words", port=port) as server:
        if damage == "locked":
            refused = proc.run(["retry", "--all"], mic_env)  # deliveries could not be recorded: nothing sent
            assert refused.returncode == 1 and "locked" in refused.stderr and server.uploads == [], refused.stderr
            write_lock.release()
        else:
            db.rename(db.with_name("history.db.broken"))  # as the message says
        retry = proc.run(["retry", "--all"], mic_env)
        assert retry.returncode == 0, retry.stderr
        assert retry.stdout == "recovered words\n"
        assert len(server.uploads) == 1 and (server.uploads[0].seconds or 0) > 1
    assert spool_files() == []
    again = proc.run(["retry", "--all"], mic_env)
    assert again.returncode == 0 and again.stdout == "" and "nothing to retry" in again.stderr


# ---- a disk that is (nearly) full, or read-only ----------------------------------------------------


@pytest.mark.rig
def test_a_nearly_full_disk_keeps_the_recording_in_the_upload_format(
    home: Path, mic_env: dict[str, str], say_once: Say, mounted: Callable[..., object]
) -> None:
    port = free_port()
    configure(home, f"http://127.0.0.1:{port}/v1")
    folder = data()
    mounted(disk.small_disk(folder, 1024))
    assert proc.run(["history"], mic_env).returncode == 0  # the database exists
    disk.fill(folder, leave=170 * 1024)  # this 6 s dictation: 192 KB as WAV, about 100 KB as FLAC

    code, out, err = say_once(LONG_PHRASE)  # and the server is down
    assert (code, out) == (1, ""), err
    assert diagnostics(err)[-1].endswith("the recording is saved: run `dictate retry 1`"), err
    recorded = float(err.split("transcribing ")[1].split(" s")[0])
    files = spool_files()
    assert files and all(p.suffix == ".flac" for p in files)

    (folder / "filler").unlink()
    with TranscriptionServer(text="recovered words", port=port) as server:
        retry = proc.run(["retry", "--all"], mic_env)
        assert (retry.returncode, retry.stdout) == (0, "recovered words\n"), retry.stderr
        [upload] = server.uploads
        assert upload.seconds == pytest.approx(recorded, abs=0.05)  # the whole dictation, every part
    assert spool_files() == []


@pytest.mark.rig
@pytest.mark.parametrize("refusal", ["full disk", "read-only folder"])
def test_when_the_disk_refuses_once_says_the_recording_is_only_in_memory(
    home: Path, mic_env: dict[str, str], say_once: Say, mounted: Callable[..., object], refusal: str
) -> None:
    configure(home, f"http://127.0.0.1:{free_port()}/v1")
    folder = data()
    if refusal == "full disk":
        mounted(disk.small_disk(folder, 256))
        assert proc.run(["history"], mic_env).returncode == 0
        disk.fill(folder)
        why = "No space left on device"
    else:
        History.open().close()  # the folder as the last run left it
        mounted(disk.read_only(folder))
        why = "Read-only file system" if os.geteuid() == 0 else "Permission denied"

    code, out, err = say_once(PHRASE)  # and the server is down
    assert (code, out) == (1, ""), err
    saying, failure = diagnostics(err)
    refused = f"cannot write the recording to {folder / 'spool'}: {why}"
    assert (
        saying == f"dictate: warning: {refused}; it is kept in memory until it is sent, and lost if dictate exits first"
    )
    assert "connection refused" in failure and failure.endswith(f"; the recording could not be saved ({refused})")
    assert spool_files() == []


@pytest.mark.rig
def test_the_daemon_sends_a_dictation_the_disk_refused_once_the_server_answers(
    home: Path, vmic: VirtualMic, clip: Callable[[str], Path], mounted: Callable[..., object]
) -> None:
    port = free_port()
    write_config(
        home,
        f'[api]\nbase_url = "http://127.0.0.1:{port}/v1"\nmax_retries = 0\n[output]\nmethod = "stdout"\n'
        "[feedback]\nsounds = false\nnotify = false\n",
    )
    env = proc.clean_env(home, vmic.env)
    folder = data()
    mounted(disk.small_disk(folder, 256))
    assert proc.run(["history"], env).returncode == 0
    disk.fill(folder)

    def dictate(run: proc.Running) -> None:
        assert proc.run(["ctl", "start"], env).returncode == 0
        vmic.play(clip(PHRASE))
        assert proc.run(["ctl", "stop"], env).returncode == 0

    run = proc.Running(["run", "--no-hotkey"], env, stdin=None)
    try:
        run.wait_for_stderr("ready", timeout=30)
        dictate(run)
        run.wait_for_stderr("kept in memory until it is sent")
        run.wait_for_stderr("connection refused")
        with TranscriptionServer(text=TEXT, port=port) as server:
            server.queue(Reply(body={"text": "The second dictation."}))
            dictate(run)  # delivered: the endpoint answers, so the background retry wakes
            run.wait_for_stderr("was recovered", timeout=60)
            assert len(server.uploads) == 2
        run.proc.send_signal(signal.SIGTERM)
        code, out, err = run.finish(timeout=30)
    finally:
        run.kill()
    assert code == 0, err
    assert out.count("The second dictation.") == 1 and out.count(TEXT) == 1  # each once: typed, then printed
    assert spool_files() == []
