"""The spool's files: durable writes in the right order under a lock, private modes, names, scanning."""

from __future__ import annotations

import errno
import os
import stat
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dictate.store import History, spool
from tests.store.conftest import data_folder, wav_bytes


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="names fds through /proc")
def test_spool_fsyncs_the_file_then_renames_then_fsyncs_the_folder(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        events.append(("rename", str(dst)))
        real_replace(src, dst)

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", fsync)
        patch.setattr(os, "replace", replace)
        entry = history.get(history.spool(wav_bytes(), source="run").id)  # type: ignore[arg-type]

    assert entry.audio_path is not None
    spool = str(data_folder() / "spool")
    audio_events = [e for e in events if e[1].startswith(spool)]
    assert len(audio_events) == 3, events
    (op1, temp), (op2, final), (op3, folder) = audio_events
    assert op1 == "fsync" and Path(temp).name.startswith(".") and temp.endswith(".tmp")
    assert (op2, final) == ("rename", str(entry.audio_path))
    assert (op3, folder) == ("fsync", spool)


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_private_modes_whatever_the_umask() -> None:
    folder = data_folder()
    folder.mkdir(parents=True)
    folder.chmod(0o755)  # an existing, too open folder is tightened
    old = os.umask(0)
    try:
        with History.open() as h:
            entry = h.get(h.spool(wav_bytes(), source="run").id)  # type: ignore[arg-type]
            h.mark_done(h.spool(wav_bytes(), source="run").id, "a write, so the WAL exists")
            files = [folder / "history.db", folder / "history.db-wal", folder / "history.db-shm", entry.audio_path]
            for path in files:
                assert path is not None and path.exists(), path
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            for path in (folder, folder / "spool"):
                assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    finally:
        os.umask(old)


def test_a_failed_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        spool.write_durably(folder / "20240102T030405678Z-0123abcd.wav", b"RIFF")
    assert list(folder.iterdir()) == []


def test_a_write_holds_its_lock_until_the_writer_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "20240102T030405678Z-0123abcd.1.flac"
    fd = spool.write_durably(path, b"fLaC", keep_lock=True)
    assert fd is not None
    try:
        assert path.read_bytes() == b"fLaC"
        assert not spool.is_free(path)  # another open file cannot lock it: a live writer holds it
        assert spool.try_lock(path) is None
    finally:
        os.close(fd)
    assert spool.is_free(path)
    again = spool.try_lock(path)
    assert again is not None
    os.close(again)
    assert spool.write_durably(tmp_path / "20240102T030405678Z-0123abcd.2.flac", b"x") is None
    assert spool.is_free(tmp_path / "20240102T030405678Z-0123abcd.2.flac")
    assert spool.is_free(tmp_path / "absent")


def test_scan_groups_parts_in_order_and_tells_leftovers_from_the_rest(tmp_path: Path) -> None:
    names = [
        ".20240102T030405678Z-0123abcd.3.flac.tmp",
        "20240102T030405678Z-0123abcd.10.flac",
        "20240102T030405678Z-0123abcd.2.flac",
        "20240102T030405678Z-0123abcd.1.flac",
        "20230102T030405678Z-89abcdef.wav",  # one file, from before parts
        "notes.txt",
        "20240102T030405678Z-0123ABCD.1.wav",  # upper-case token: not a name the spool makes
        "20240102T030405678Z-0123abcd.0.wav",  # parts count from 1
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    folder = tmp_path / "20250102T030405678Z-00000000.1.wav"
    folder.mkdir()  # listed all the same: a name that is there is not missing, whatever it has become
    found = spool.scan(tmp_path)
    assert found.leftovers == [tmp_path / names[0]]
    assert found.dictations == {
        "20230102T030405678Z-89abcdef": [tmp_path / names[4]],
        "20240102T030405678Z-0123abcd": [tmp_path / names[3], tmp_path / names[2], tmp_path / names[1]],
        "20250102T030405678Z-00000000": [folder],
    }
    assert list(found.dictations)[:2] == ["20230102T030405678Z-89abcdef", "20240102T030405678Z-0123abcd"]
    assert spool.is_regular(folder) is False and spool.is_regular(tmp_path / names[3]) is True
    assert spool.parts(tmp_path, "20240102T030405678Z-0123abcd") == found.dictations["20240102T030405678Z-0123abcd"]
    assert spool.parts(tmp_path, names[4]) == [tmp_path / names[4]]
    assert spool.parts(tmp_path, "20990102T030405678Z-0123abcd.wav") == []
    assert not found.missing("20250102T030405678Z-00000000")
    assert found.missing("20990102T030405678Z-0123abcd")
    with pytest.raises(OSError):
        spool.read(tmp_path / "missing")
    unknown = spool.scan(tmp_path / "missing")  # nothing is known to be missing from a folder not read
    assert not unknown.listed and not unknown.missing("20990102T030405678Z-0123abcd")


def test_names_carry_the_time_they_were_spooled(tmp_path: Path) -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    key = spool.new_key(moment)
    assert spool.KEY.fullmatch(key) and key.startswith("20240102T030405678Z-")
    assert spool.new_key(moment) != key  # the random token keeps names apart
    name = spool.part_name(key, 2, "FLAC")
    assert name == f"{key}.2.flac" and spool.AUDIO_NAME.fullmatch(name)
    assert spool.key_of(name) == spool.key_of(key) == spool.key_of(f"{key}.wav") == key
    assert spool.key_of("other.wav") is None
    path = tmp_path / name
    path.write_bytes(b"x")
    assert spool.spooled_at(path) == moment.replace(microsecond=678000)
    assert (spool.part_number(path), spool.is_part(path), spool.is_part(tmp_path / f"{key}.wav")) == (2, True, False)
    with pytest.raises(ValueError, match="not a file extension"):
        spool.part_name(key, 1, "w.v")

    other = tmp_path / "from-elsewhere.wav"
    other.write_bytes(b"x")
    os.utime(other, (1_700_000_000, 1_700_000_000))
    assert spool.spooled_at(other) == datetime.fromtimestamp(1_700_000_000, timezone.utc)


def test_audio_seconds_adds_up_the_parts_and_is_none_for_what_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(wav_bytes(0.5))
    (tmp_path / "b.wav").write_bytes(wav_bytes(0.25))
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVE")
    assert spool.audio_seconds([tmp_path / "a.wav", tmp_path / "b.wav"]) == 0.75
    assert spool.audio_seconds([tmp_path / "a.wav", tmp_path / "broken.wav"]) is None
    assert spool.audio_seconds([tmp_path / "absent.wav"]) is None
