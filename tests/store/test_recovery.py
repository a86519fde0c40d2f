"""The recovery scan on open: crashes at every point of a spool or a removal leave nothing lost or doubled."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dictate.store import DELIVERED, DISCARDED, FAILED, QUEUED, RECOVERED_SOURCE, History
from tests.rig import proc
from tests.store.conftest import data_folder, raw_db, spool_files, wav_bytes

# A child process that dies (os._exit: no cleanup, no rollback code) at a chosen point of a spool.
CRASH = textwrap.dedent(
    """
    import os, sys
    from dictate.store import History, HistoryError, spool

    point = sys.argv[1]
    data = open(sys.argv[2], "rb").read()
    h = History.open()

    def die(*args, **kwargs):
        os._exit(9)

    def after(module, name, then):
        real = getattr(module, name)
        def wrapper(*args, **kwargs):
            result = real(*args, **kwargs)
            then()
            return result
        setattr(module, name, wrapper)

    held = []

    def hold():
        if not held:  # the first write only
            held.append(True)
            print("holding", flush=True)
            sys.stdin.readline()

    if point == "before-rename":
        os.replace = die
    elif point == "after-rename":
        after(spool, "fsync_dir", die)
    elif point == "hold-temp":
        real_replace = os.replace
        os.replace = lambda *args: (hold(), real_replace(*args))
    elif point == "hold-unindexed":
        after(spool, "fsync_dir", hold)
    elif point == "in-part-2":
        spooled = h.spool(data, source="run", model="whisper-1")
        os.replace = die
        h.add_part(spooled, data)
    elif point == "before-unlink":
        spooled = h.spool(data, source="run")
        h.mark_done(spooled.id, "typed already")
        spool.unlink = die
        h.mark_delivered(spooled.id)
    elif point == "dropping":
        h._db = None  # as when the database cannot be used: the dictation is spooled without a row
        h.problem = HistoryError("the database cannot be used")
        spooled = h.spool(data, source="run")
        spooled = h.add_part(spooled, data)
        real = spool.unlink
        spool.unlink = lambda path: (real(path), die())
        h.drop(spooled)
    spooled = h.spool(data, source="run", model="whisper-1")
    h.add_part(spooled, data)
    print("spooled", flush=True)
    """
)


def run_child(point: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    audio = tmp_path / "audio.wav"
    audio.write_bytes(wav_bytes(0.75))
    return subprocess.run(
        [sys.executable, "-c", CRASH, point, str(audio)], capture_output=True, text=True, cwd=proc.ROOT, timeout=60
    )


def test_crash_between_part_1_and_its_row_leaves_an_orphan_that_is_recovered(tmp_path: Path) -> None:
    child = run_child("after-rename", tmp_path)
    assert child.returncode == 9, child.stderr
    [orphan] = spool_files()
    assert orphan.name.endswith(".1.wav")
    assert raw_db().execute("SELECT count(*) FROM dictations").fetchone()[0] == 0  # the insert never committed

    with History.open() as h:
        [entry] = h.pending()
        assert entry.status == QUEUED
        assert entry.source == RECOVERED_SOURCE
        assert entry.audio_parts == (orphan,)
        assert entry.duration == pytest.approx(0.75)
        assert h.read_recording(entry.id).seconds == pytest.approx(0.75)
        # Once adopted it is an ordinary entry: a second scan adds nothing.
        assert h.recover() == []
        h.mark_done(entry.id, "recovered words")
        h.mark_delivered(entry.id)
        assert h.pending() == []
    assert spool_files() == []


def test_crash_before_the_rename_leaves_nothing(tmp_path: Path) -> None:
    child = run_child("before-rename", tmp_path)
    assert child.returncode == 9, child.stderr
    [temp] = spool_files()
    assert temp.name.startswith(".") and temp.name.endswith(".tmp")

    with History.open() as h:
        assert h.pending() == []
        assert h.entries() == []
    assert spool_files() == []


def test_crash_while_writing_part_2_keeps_part_1_for_retry(tmp_path: Path) -> None:
    child = run_child("in-part-2", tmp_path)
    assert child.returncode == 9, child.stderr
    assert len(spool_files()) == 2  # part 1 and the temp file of part 2

    with History.open() as h:
        [entry] = h.pending()
        assert (entry.source, entry.model) == ("run", "whisper-1")
        assert [p.name.split(".")[1] for p in entry.audio_parts] == ["1"]
        assert h.read_recording(entry.id).seconds == pytest.approx(0.75)  # all that reached the disk
    assert spool_files() == list(entry.audio_parts)


def test_crash_after_delivery_commit_does_not_resurrect_the_audio(tmp_path: Path) -> None:
    child = run_child("before-unlink", tmp_path)
    assert child.returncode == 9, child.stderr
    assert len(spool_files()) == 1  # the commit happened, the delete did not

    with History.open() as h:
        assert h.pending() == []
        [entry] = h.entries()
        assert (entry.status, entry.text, entry.audio_path) == (DELIVERED, "typed already", None)
    assert spool_files() == []


def test_crash_while_dropping_a_dictation_with_no_row_does_not_resurrect_its_other_parts(tmp_path: Path) -> None:
    child = run_child("dropping", tmp_path)
    assert child.returncode == 9, child.stderr
    [left] = spool_files()
    assert left.name.endswith(".2.wav")  # part 1 went first

    with History.open() as h:
        assert h.entries() == []
    assert spool_files() == []


@pytest.mark.parametrize("point", ["hold-unindexed", "hold-temp"])
def test_recovery_leaves_a_live_process_spool_alone(tmp_path: Path, point: str) -> None:
    with History.open():
        pass  # create the database first, so the child only spools
    audio = tmp_path / "audio.wav"
    audio.write_bytes(wav_bytes())
    child = subprocess.Popen(
        [sys.executable, "-c", CRASH, point, str(audio)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=proc.ROOT,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "holding"  # a file written, locked, not yet indexed
        before = spool_files()
        with History.open() as h:  # its recovery scan must neither adopt nor delete it
            assert h.entries() == []
        assert spool_files() == before
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "spooled"
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert [(e.source, e.model) for e in History.open().entries()] == [("run", "whisper-1")]  # one row, no copy


def test_audio_file_with_no_row_gets_a_row_on_the_next_open(history: History) -> None:
    history.close()
    stray = data_folder() / "spool" / "20240102T030405678Z-0123abcd.wav"
    stray.write_bytes(wav_bytes(0.25))
    (data_folder() / "spool" / "notes.txt").write_text("not ours")

    with History.open() as h:
        [entry] = h.pending()
        assert entry.audio_path == stray
        assert entry.created.isoformat() == "2024-01-02T03:04:05.678000+00:00"
        assert entry.duration == pytest.approx(0.25)
    assert (data_folder() / "spool" / "notes.txt").exists()  # files that are not ours are left alone


def test_a_row_whose_audio_is_away_stays_pending_and_is_sent_when_it_comes_back(history: History) -> None:
    away = history.spool(wav_bytes(0.75), source="run")
    kept = history.spool(wav_bytes(), source="run")
    assert away.id is not None
    history.mark_failed(away.id, "connection refused")
    history.release(away)
    [path] = history.get(away.id).audio_parts
    elsewhere = path.parent.parent / "elsewhere.wav"
    path.rename(elsewhere)  # moved out by hand, or not yet synced back

    for _ in range(2):  # any number of opens (`dictate history` runs one) gives nothing up
        with History.open() as h:
            assert [e.id for e in h.pending()] == [away.id, kept.id]
            entry = h.get(away.id)
            assert (entry.status, entry.audio_parts, entry.audio_missing) == (FAILED, (), True)
            assert entry.error == "connection refused"
            assert [e.audio_missing for e in h.entries()] == [False, True]
            assert not h.claim(away.id)

    elsewhere.rename(path)
    with History.open() as h:
        entry = h.get(away.id)
        assert (entry.status, entry.audio_parts, entry.audio_missing) == (FAILED, (path,), False)
        assert h.claim(away.id)
        assert h.read_recording(away.id).seconds == pytest.approx(0.75)
        h.mark_done(away.id, "words")
        h.mark_delivered(away.id)
    assert path not in spool_files()


def test_a_discarded_dictation_whose_audio_comes_back_later_has_it_deleted(history: History) -> None:
    spooled = history.spool(wav_bytes(), source="run")
    assert spooled.id is not None
    history.release(spooled)
    [path] = history.get(spooled.id).audio_parts
    elsewhere = path.parent.parent / "elsewhere.wav"
    path.rename(elsewhere)
    history.discard(spooled.id, "given up")  # by the user, the normal path
    elsewhere.rename(path)
    with History.open() as h:
        assert h.get(spooled.id).status == DISCARDED
    assert path not in spool_files()


def test_a_row_an_older_scan_gave_up_for_missing_audio_is_pending_again_when_it_comes_back(
    history: History,
) -> None:
    spooled = history.spool(wav_bytes(0.75), source="run")
    assert spooled.id is not None
    history.release(spooled)
    [path] = history.get(spooled.id).audio_parts
    # As older versions left it: given up while its audio was away, its audio marked removed.
    raw_db().execute(
        "UPDATE dictations SET status = 'discarded', audio_removed = updated, error = ? WHERE id = ?",
        (f"audio {spooled.key} is missing from the spool", spooled.id),
    )
    history.close()
    with History.open() as h:
        [entry] = h.pending()
        assert (entry.id, entry.status, entry.audio_parts) == (spooled.id, FAILED, (path,))
        assert h.read_recording(entry.id).seconds == pytest.approx(0.75)
    assert spool_files() == [path]


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_spool_name_that_is_not_a_regular_file_is_neither_adopted_nor_deleted(history: History, kind: str) -> None:
    history.close()
    odd = data_folder() / "spool" / "20240102T030405678Z-0123abcd.1.wav"
    if kind == "folder":
        odd.mkdir()
    else:
        os.mkfifo(odd)
    part_2 = odd.with_name("20240102T030405678Z-0123abcd.2.wav")
    part_2.write_bytes(wav_bytes())
    with History.open() as h:
        assert h.entries() == []
    assert spool_files() == [odd, part_2]  # part 1 is there, whatever it became: part 2 is not a leftover


def test_a_stat_error_is_not_a_missing_file(history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    spooled = history.spool(wav_bytes(), source="run")
    assert spooled.id is not None
    history.release(spooled)
    history.close()
    real_stat = os.stat

    def failing_stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if str(path).endswith(".wav"):
            raise OSError(errno.EIO, "Input/output error")
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", failing_stat)
    with History.open() as h:
        entry = h.get(spooled.id)
        assert entry.status == QUEUED and not entry.audio_missing and len(entry.audio_parts) == 1
    monkeypatch.setattr(os, "stat", real_stat)
    assert len(spool_files()) == 1
