"""The recovery scan on open: crashes at every point of a spool or a removal leave nothing lost or doubled."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dictate.store import DELIVERED, DISCARDED, QUEUED, RECOVERED_SOURCE, History
from tests.rig import proc
from tests.store.conftest import data_folder, raw_db, spool_files, wav_bytes

# A child process that dies (os._exit: no cleanup, no rollback code) at a chosen point of a spool.
CRASH = textwrap.dedent(
    """
    import os, sys, time
    from dictate.store import History, spool

    point = sys.argv[1]
    data = open(sys.argv[2], "rb").read()
    h = History.open()

    def die(*args, **kwargs):
        os._exit(9)

    if point == "before-rename":
        os.replace = die
    elif point == "after-rename":
        real = spool.fsync_dir
        def fsync_then_die(path):
            real(path)
            die()
        spool.fsync_dir = fsync_then_die
    elif point == "hold-lock":
        real = spool.fsync_dir
        def fsync_then_wait(path):
            real(path)
            print("renamed", flush=True)
            time.sleep(1.5)
        spool.fsync_dir = fsync_then_wait
    elif point == "before-unlink":
        entry = h.spool(data, source="run")
        h.mark_done(entry.id, "typed already")
        spool.unlink = die
        h.mark_delivered(entry.id)
    h.spool(data, source="run", model="whisper-1")
    print("spooled", flush=True)
    """
)


def run_child(point: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    audio = tmp_path / "audio.wav"
    audio.write_bytes(wav_bytes(0.75))
    return subprocess.run(
        [sys.executable, "-c", CRASH, point, str(audio)], capture_output=True, text=True, cwd=proc.ROOT, timeout=60
    )


def test_crash_between_audio_write_and_row_insert_leaves_an_orphan_that_is_recovered(tmp_path: Path) -> None:
    child = run_child("after-rename", tmp_path)
    assert child.returncode == 9, child.stderr
    [orphan] = spool_files()
    assert raw_db().execute("SELECT count(*) FROM dictations").fetchone()[0] == 0  # the insert never committed

    with History.open() as h:
        [entry] = h.pending()
        assert entry.status == QUEUED
        assert entry.source == RECOVERED_SOURCE
        assert entry.audio_path == orphan
        assert entry.duration == pytest.approx(0.75)
        assert h.read_audio(entry.id) == wav_bytes(0.75)
        # Once adopted it is an ordinary entry: a second scan adds nothing.
        assert h.recover() == []
        h.mark_done(entry.id, "recovered words")
        h.mark_delivered(entry.id)
        assert h.pending() == []


def test_crash_before_the_rename_leaves_nothing(tmp_path: Path) -> None:
    child = run_child("before-rename", tmp_path)
    assert child.returncode == 9, child.stderr
    [temp] = spool_files()
    assert temp.name.startswith(".") and temp.name.endswith(".tmp")

    with History.open() as h:
        assert h.pending() == []
        assert h.entries() == []
    assert spool_files() == []


def test_crash_after_delivery_commit_does_not_resurrect_the_audio(tmp_path: Path) -> None:
    child = run_child("before-unlink", tmp_path)
    assert child.returncode == 9, child.stderr
    assert len(spool_files()) == 1  # the commit happened, the delete did not

    with History.open() as h:
        assert h.pending() == []
        [entry] = h.entries()
        assert (entry.status, entry.text, entry.audio_path) == (DELIVERED, "typed already", None)
    assert spool_files() == []


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


def test_recovery_in_another_process_waits_for_a_spool_in_progress(tmp_path: Path) -> None:
    with History.open():
        pass  # create the database first, so the child only spools
    audio = tmp_path / "audio.wav"
    audio.write_bytes(wav_bytes())
    child = subprocess.Popen(
        [sys.executable, "-c", CRASH, "hold-lock", str(audio)], stdout=subprocess.PIPE, text=True, cwd=proc.ROOT
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "renamed"  # file in place, row not yet committed
        with History.open() as h:  # its recovery scan must wait for the child's transaction
            entries = h.entries()
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert [(e.source, e.model) for e in entries] == [("run", "whisper-1")]  # one row, not an orphan copy


def test_row_whose_audio_vanished_is_dropped_from_pending(history: History) -> None:
    lost = history.spool(wav_bytes(), source="run")
    kept = history.spool(wav_bytes(), source="run")
    assert lost.audio_path is not None
    lost.audio_path.unlink()
    assert [e.id for e in history.recover()] == []
    assert [e.id for e in history.pending()] == [kept.id]
    gone = history.get(lost.id)
    assert gone.status == DISCARDED
    assert gone.audio_path is None
    assert "missing" in (gone.error or "")
