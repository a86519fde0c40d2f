"""Opening inputs: every wait bounded (FIFOs, devices), every size capped, every problem one line that
names the file, with exit code 2 for a file that is wrong and 1 for reading that failed."""

from __future__ import annotations

import io
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dictate import DictateError
from dictate.audio import open_input, read_file
from dictate.errors import ExitCode

RATE = 16000


def wav_bytes(seconds: float = 0.5, rate: int = RATE) -> bytes:
    buf = io.BytesIO()
    t = np.arange(int(seconds * rate)) / rate
    sf.write(buf, np.sin(2 * np.pi * 300 * t) * 0.5, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def fails(path: Path | str, needle: str, code: int, **kw: float) -> DictateError:
    with pytest.raises(DictateError) as caught, open_input(path, **kw) as source:  # type: ignore[arg-type]
        list(source.blocks())
    assert needle in caught.value.message, caught.value.message
    assert caught.value.message.startswith(str(path)) or str(path) in caught.value.message
    assert caught.value.exit_code == code
    return caught.value


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where temporary files go during the test, to check none is left."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def fifo(tmp_path: Path, private_tmp: Path) -> Iterator[Path]:
    path = tmp_path / "input.fifo"
    os.mkfifo(path)
    yield path
    assert list(private_tmp.iterdir()) == []  # the copy of what came through is gone


def write_later(path: Path, chunks: list[bytes], pause: float = 0.0, hold: threading.Event | None = None) -> None:
    def run() -> None:
        with path.open("wb") as f:
            for chunk in chunks:
                f.write(chunk)
                f.flush()
                time.sleep(pause)
            if hold is not None:
                hold.wait(10)

    threading.Thread(target=run, daemon=True).start()


def test_files_that_are_not_there_or_not_files(tmp_path: Path) -> None:
    fails(tmp_path / "missing.wav", "no such file", ExitCode.USAGE)
    fails(tmp_path, "is a directory", ExitCode.USAGE)
    empty = tmp_path / "empty.wav"
    empty.touch()
    fails(empty, "empty file", ExitCode.USAGE)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 20)
    fails(text, "not an audio file that can be read", ExitCode.USAGE)


def test_a_socket_is_named(tmp_path: Path) -> None:
    path = tmp_path / "a.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        fails(path, "cannot be opened (No such device or address)", ExitCode.USAGE)


def test_a_fifo_with_no_writer_waits_a_bounded_time(fifo: Path) -> None:
    fails(fifo, "nothing came in 0.2 s", ExitCode.FAILURE, wait=0.2)


def test_a_fifo_is_read_to_its_end(fifo: Path) -> None:
    data = wav_bytes(0.5)
    write_later(fifo, [data[:1000], data[1000:]], pause=0.05)
    with open_input(fifo, wait=5) as source:
        samples = np.concatenate(list(source.blocks()))
    assert len(samples) == RATE // 2


def test_a_fifo_that_stops_sending_ends(fifo: Path) -> None:
    stalled = threading.Event()
    write_later(fifo, [wav_bytes(0.5)[:3000]], hold=stalled)
    try:
        fails(fifo, "nothing more came for 0.3 s after 3000 bytes", ExitCode.FAILURE, wait=0.3)
    finally:
        stalled.set()


def test_a_fifo_closed_without_data_is_empty(fifo: Path) -> None:
    write_later(fifo, [])
    fails(fifo, "empty (the writer closed it", ExitCode.USAGE, wait=5)


def test_a_device_that_never_ends_is_capped(private_tmp: Path) -> None:
    fails("/dev/zero", "more than 1 MB came from this pipe or device", ExitCode.USAGE, max_stream_bytes=2**20)
    assert list(private_tmp.iterdir()) == []


def test_a_file_damaged_part_way_names_where(tmp_path: Path) -> None:
    path = tmp_path / "cut.flac"
    sf.write(path, np.random.default_rng(0).standard_normal(RATE * 4) * 0.1, RATE)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    seen = 0
    with pytest.raises(DictateError) as caught, open_input(path) as source:
        for block in source.blocks():
            seen += len(block)
    assert seen > RATE
    message = caught.value.message
    assert message.startswith(f"{path}: damaged after {seen / RATE:.1f} s of audio (")
    assert caught.value.exit_code == ExitCode.FAILURE


def test_without_a_decoder_the_message_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m4a = tmp_path / "voice memo.m4a"
    m4a.write_bytes(b"\0\0\0\x20ftypM4A \0\0\0\0M4A mp42isom" + b"\0" * 200)
    monkeypatch.setitem(sys.modules, "av", None)
    monkeypatch.setenv("PATH", str(tmp_path))
    error = fails(m4a, "m4a/mp4 audio needs a decoder: pip install 'dictate[formats]'", ExitCode.USAGE)
    assert "apt install ffmpeg" in error.message
    other = tmp_path / "other.bin"
    other.write_bytes(bytes(range(256)) * 4)
    fails(other, "format not recognised; for m4a, aac, webm: pip install 'dictate[formats]'", ExitCode.USAGE)


def test_read_file_gives_mono_at_16k(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(wav_bytes(1.0, rate=44100))
    recording = read_file(path)
    assert recording.rate == RATE and abs(recording.seconds - 1.0) < 0.01
