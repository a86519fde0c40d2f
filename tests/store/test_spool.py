"""The spool's files: durable writes in the right order, private modes, growing a WAV, scanning."""

from __future__ import annotations

import errno
import os
import stat
import struct
import sys
import wave
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
        entry = history.spool(wav_bytes(), source="run")

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
            entry = h.spool(wav_bytes(), source="run")
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


def wav_with_an_odd_chunk_before_the_data(samples: bytes) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    odd = b"INFO!"  # 5 bytes: the chunk is padded to an even length
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"LIST"
        + struct.pack("<I", len(odd))
        + odd
        + b"\x00"
        + b"data"
        + struct.pack("<I", len(samples))
        + samples
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_append_pcm_finds_the_data_past_other_chunks_and_fixes_both_sizes(tmp_path: Path) -> None:
    path = tmp_path / "take.wav"
    first, more = struct.pack("<4h", 1, 2, 3, 4), struct.pack("<3h", 5, 6, 7)
    path.write_bytes(wav_with_an_odd_chunk_before_the_data(first))
    with path.open("rb") as fh:
        assert spool.wav_data_offset(fh) == len(wav_with_an_odd_chunk_before_the_data(b""))

    spool.append_pcm(path, more)
    content = path.read_bytes()
    assert struct.unpack("<I", content[4:8])[0] == len(content) - 8
    with wave.open(str(path), "rb") as wav:
        assert wav.getnframes() == 7
        assert wav.readframes(7) == first + more
    assert spool.wav_seconds(path) == 7 / 16000


def test_append_pcm_refuses_what_is_not_a_wav_and_leaves_it_alone(tmp_path: Path) -> None:
    path = tmp_path / "take.wav"
    path.write_bytes(b"fLaC and then some")
    with pytest.raises(ValueError, match="not a WAV"):
        spool.append_pcm(path, b"\x00\x01")
    assert path.read_bytes() == b"fLaC and then some"
    truncated = tmp_path / "short.wav"
    truncated.write_bytes(wav_with_an_odd_chunk_before_the_data(b"")[:40])
    with pytest.raises(ValueError, match="without a data chunk"):
        spool.append_pcm(truncated, b"\x00\x01")


def test_scan_sorts_leftovers_from_audio_oldest_first_and_ignores_the_rest(tmp_path: Path) -> None:
    names = [
        ".20240102T030405678Z-0123abcd.wav.tmp",
        "20240102T030405678Z-0123abcd.wav",
        "20230102T030405678Z-89abcdef.flac",
        "notes.txt",
        "20240102T030405678Z-0123ABCD.wav",  # upper-case token: not a name the spool makes
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "20250102T030405678Z-00000000.wav").mkdir()  # a folder, not a recording
    found = spool.scan(tmp_path)
    assert found.leftovers == [tmp_path / names[0]]
    assert found.audio == [tmp_path / names[2], tmp_path / names[1]]
    with pytest.raises(OSError):
        spool.scan(tmp_path / "missing")


def test_audio_names_carry_the_time_they_were_spooled(tmp_path: Path) -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    name = spool.audio_name(moment, "WAV")
    assert spool.AUDIO_NAME.fullmatch(name)
    assert name.startswith("20240102T030405678Z-") and name.endswith(".wav")
    assert spool.audio_name(moment, "wav") != name  # the random token keeps names apart
    path = tmp_path / name
    path.write_bytes(b"x")
    assert spool.spooled_at(path) == moment.replace(microsecond=678000)
    with pytest.raises(ValueError, match="not a file extension"):
        spool.audio_name(moment, "w.v")

    other = tmp_path / "from-elsewhere.wav"
    other.write_bytes(b"x")
    os.utime(other, (1_700_000_000, 1_700_000_000))
    assert spool.spooled_at(other) == datetime.fromtimestamp(1_700_000_000, timezone.utc)


def test_wav_seconds_only_for_readable_wav_files(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(wav_bytes(0.5))
    (tmp_path / "a.flac").write_bytes(wav_bytes(0.5))
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVE")
    assert spool.wav_seconds(tmp_path / "a.wav") == 0.5
    assert spool.wav_seconds(tmp_path / "a.flac") is None
    assert spool.wav_seconds(tmp_path / "broken.wav") is None
    assert spool.wav_seconds(tmp_path / "absent.wav") is None
