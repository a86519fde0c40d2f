"""Reading a dictation back for `dictate retry`: a file cut short, a part missing or less audio than was
recorded is named, nothing is sent and nothing deleted."""

from __future__ import annotations

import pytest

from dictate.store import History, HistoryError
from dictate.store.recordings import cut_short, missing_parts, wav_announced_seconds
from tests.store.conftest import spool_files, wav_bytes


def test_missing_parts_are_the_gaps_before_the_last() -> None:
    assert missing_parts([1, 2, 3]) == []
    assert missing_parts([1, 3]) == [2]
    assert missing_parts([2]) == [1]
    assert missing_parts([]) == []


def test_cut_short_allows_for_a_few_frames_of_encoding() -> None:
    assert not cut_short(2.49, 2.5)
    assert cut_short(1.25, 2.5)
    assert cut_short(0.0, 0.5)
    assert not cut_short(3.0, 2.5)  # more than recorded (parts added after the row) is fine


def test_a_wavs_header_announces_its_length_whatever_the_file_holds() -> None:
    data = wav_bytes(1.0)
    assert wav_announced_seconds(data) == pytest.approx(1.0)
    assert wav_announced_seconds(data[: len(data) // 2]) == pytest.approx(1.0)
    assert wav_announced_seconds(data[:30]) is None  # no data chunk: nothing announced


def spooled_failed(history: History, *parts: bytes, recorded: float | None = None) -> int:
    spooled = history.spool(parts[0], source="run")
    for part in parts[1:]:
        spooled = history.add_part(spooled, part)
    assert spooled.id is not None
    history.mark_failed(spooled.id, "connection refused", duration=recorded)
    history.release(spooled)
    return spooled.id


@pytest.mark.parametrize("keep", [100, 0.5])
def test_a_wav_cut_short_is_named_and_kept(history: History, keep: float) -> None:
    entry_id = spooled_failed(history, wav_bytes(2.5))
    [path] = history.get(entry_id).audio_parts
    data = path.read_bytes()
    path.write_bytes(data[: int(keep if keep > 1 else len(data) * keep)])
    with pytest.raises(HistoryError) as caught:
        history.read_recording(entry_id)
    message = caught.value.message
    assert f"dictation {entry_id}: {path} is cut short" in message and "of the 2.50 s its header announces" in message
    assert f"dictate history discard {entry_id}" in message and "\n" not in message
    assert spool_files() == [path]


def test_a_flac_cut_short_is_named_as_damaged_and_kept(history: History) -> None:
    import numpy as np

    from dictate.audio import Recording, encode

    flac = encode(Recording((np.sin(np.arange(40000) / 5) * 8000).astype(np.int16), 16000), "flac")
    entry_id = spooled_failed(history, flac)
    [path] = history.get(entry_id).audio_parts
    path.write_bytes(flac.data[: len(flac.data) // 2])
    with pytest.raises(HistoryError, match="damaged"):
        history.read_recording(entry_id)
    assert spool_files() == [path]


def test_a_missing_part_is_named_and_the_others_kept(history: History) -> None:
    entry_id = spooled_failed(history, wav_bytes(), wav_bytes(), wav_bytes())
    first, middle, last = history.get(entry_id).audio_parts
    middle.unlink()
    with pytest.raises(HistoryError, match=f"dictation {entry_id}: part 2 of its audio is missing"):
        history.read_recording(entry_id)
    assert spool_files() == [first, last]


def test_less_audio_than_was_recorded_is_named(history: History) -> None:
    # The last part gone: nothing in the names shows it, the recorded duration does.
    entry_id = spooled_failed(history, wav_bytes(1.0), wav_bytes(1.0), recorded=2.0)
    first, last = history.get(entry_id).audio_parts
    assert history.read_recording(entry_id).seconds == pytest.approx(2.0)
    last.unlink()
    with pytest.raises(HistoryError, match=r"the spool holds 1\.00 s of the 2\.00 s recorded"):
        history.read_recording(entry_id)
    assert spool_files() == [first]
