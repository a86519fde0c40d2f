"""One dictation through the pipeline against the local server: parts, order, prompts, spool, failures."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from dictate.audio import Recording, decode
from dictate.config import from_dict
from dictate.dictation import NothingToSend, Pipeline, TranscriptionFailed
from dictate.engines.http import NO_RETRY, HttpEngine
from dictate.store import History
from tests.conftest import rig_unavailable
from tests.fakes import FakeEngine
from tests.rig import disk
from tests.rig.server import Reply, TranscriptionServer
from tests.rig.sound import RigUnavailable

RATE = 16000


def speech(seconds: float, freq: float = 300) -> Recording:
    t = np.arange(int(seconds * RATE)) / RATE
    return Recording((np.sin(2 * np.pi * freq * t) * 9000).astype(np.int16), RATE)


def pipeline(server: TranscriptionServer, tmp_path: Path, **api: object) -> Pipeline:
    cfg = from_dict({"api": {"base_url": server.base_url, **api}})
    return Pipeline(cfg, HttpEngine(cfg.api, None, retry=NO_RETRY), History.open(folder=tmp_path / "data"))


def test_parts_join_in_order_even_when_answers_arrive_out_of_order(server: TranscriptionServer, tmp_path: Path) -> None:
    p = pipeline(server, tmp_path)
    server.queue(Reply(body={"text": "One, slow."}, delay=1.0), Reply(body={"text": "two, fast."}))
    dictation = p.start(source="run")
    dictation.add(speech(4.0))
    server.wait_for_uploads(1)  # the first upload is in flight when the tail goes up
    result = dictation.finish(speech(1.0, 500))
    assert result.text == "One, slow. two, fast."
    first, tail = server.uploads
    assert first.answered_at is not None and tail.at < first.answered_at  # the tail did not wait for it
    assert p.history is not None and result.entry_id is not None
    entry = p.history.get(result.entry_id)
    assert entry.status == "queued" and entry.text is None  # spooled whole; the text is recorded on delivery
    assert p.history.read_recording(entry.id).seconds == pytest.approx(5.0, abs=0.01)
    typed: list[str] = []
    p.deliver(result, typed.append)
    assert typed == ["One, slow. two, fast."]
    entry = p.history.get(result.entry_id)
    assert entry.status == "delivered" and entry.text == "One, slow. two, fast." and entry.audio_path is None


def test_a_later_part_is_prompted_with_the_text_before_it(server: TranscriptionServer, tmp_path: Path) -> None:
    p = pipeline(server, tmp_path, prompt="Glossary: Zoë.")
    server.queue(Reply(body={"text": "First sentence."}), Reply(body={"text": "Second."}))
    dictation = p.start(source="run")
    upload = dictation.add(speech(4.0))
    assert upload is not None
    upload.result()
    dictation.finish(speech(1.0))
    assert "prompt" not in server.uploads[0].fields or server.uploads[0].fields["prompt"] == "Glossary: Zoë."
    assert server.uploads[1].fields["prompt"] == "Glossary: Zoë. First sentence."


def test_a_failed_part_keeps_the_whole_recording_for_retry(server: TranscriptionServer, tmp_path: Path) -> None:
    p = pipeline(server, tmp_path)
    server.queue(Reply(503, {"error": "overloaded"}))
    dictation = p.start(source="run")
    dictation.add(speech(4.0))
    with pytest.raises(TranscriptionFailed, match=r"HTTP 503.*dictate retry 1"):
        dictation.finish(speech(2.0))
    entry = p.history.get(1)  # type: ignore[union-attr]
    assert entry.status == "failed"
    assert p.history.read_recording(1).seconds == pytest.approx(6.0, abs=0.01)  # type: ignore[union-attr]
    assert p.resend(1).text == "Hello from the test server."


def test_silence_is_not_sent(server: TranscriptionServer, tmp_path: Path) -> None:
    p = pipeline(server, tmp_path)
    dictation = p.start(source="run")
    with pytest.raises(NothingToSend, match="no speech"):
        dictation.finish(Recording(np.zeros(2 * RATE, dtype=np.int16), RATE))
    assert server.uploads == []
    with pytest.raises(NothingToSend, match="too short"):
        p.start(source="run").finish(speech(0.1))


def test_split_under_a_small_upload_limit(server: TranscriptionServer, tmp_path: Path) -> None:
    p = pipeline(server, tmp_path, max_upload_mb=0.1, format="wav")
    pieces = [speech(2.0, 300), Recording(np.zeros(RATE // 2, dtype=np.int16), RATE)] * 3
    recording = Recording(np.concatenate([r.samples for r in pieces]), RATE)
    server.queue(
        Reply(body={"text": "a"}), Reply(body={"text": "b"}), Reply(body={"text": "c"}), Reply(body={"text": "d"})
    )
    result = p.send(recording, source="once")
    assert len(server.uploads) >= 2
    assert all(len(u.file_bytes) <= 100_000 for u in server.uploads)
    assert result.text == " ".join("abcd"[: len(server.uploads)])
    assert sum(u.seconds or 0 for u in server.uploads) == pytest.approx(recording.seconds, abs=0.01)


def test_a_server_that_reads_only_wav_gets_wav_from_then_on(tmp_path: Path) -> None:
    with TranscriptionServer(text="Understood.", formats=("WAV",)) as server:
        p = pipeline(server, tmp_path)
        assert p.config.api.format == "flac"
        assert p.send(speech(1.0), source="once").text == "Understood."
        assert [u.audio_format for u in server.uploads] == ["FLAC", "WAV"]
        assert p.send(speech(1.0), source="once").text == "Understood."
        assert [u.audio_format for u in server.uploads] == ["FLAC", "WAV", "WAV"]


def test_a_real_bad_request_is_not_retried_as_wav(server: TranscriptionServer, tmp_path: Path) -> None:
    p = pipeline(server, tmp_path)
    server.queue(Reply.openai_error(400, "Invalid language 'xx'."), Reply.openai_error(400, "Invalid language 'xx'."))
    with pytest.raises(TranscriptionFailed, match="Invalid language"):
        p.send(speech(1.0), source="once")
    assert p.engine.format == "flac"  # type: ignore[attr-defined]


# ---- the spool: parts in the upload format, and what happens when the disk or the database refuses ----


def test_each_step_is_one_part_in_the_upload_format(server: TranscriptionServer, tmp_path: Path) -> None:
    p = pipeline(server, tmp_path, format="flac")
    dictation = p.start(source="run")
    dictation.add(speech(4.0))
    result = dictation.finish(speech(1.0, 500))
    assert p.history is not None and result.spooled is not None
    entry = p.history.get(result.spooled.id)  # type: ignore[arg-type]
    assert [path.name.split(".", 1)[1] for path in entry.audio_parts] == ["1.flac", "2.flac"]
    assert [u.audio_format for u in server.uploads] == ["FLAC", "FLAC"]
    assert p.history.read_recording(entry.id).seconds == pytest.approx(5.0, abs=0.01)


def test_a_disk_that_fills_mid_dictation_keeps_the_rest_in_memory_and_the_spool_without_a_gap(
    server: TranscriptionServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "data"
    try:
        stack = contextlib.ExitStack()
        stack.enter_context(disk.small_disk(folder, 512))
    except RigUnavailable as exc:
        rig_unavailable(str(exc))
    with stack:
        p = pipeline(server, tmp_path)
        server.queue(Reply(503, {"error": "overloaded"}))
        dictation = p.start(source="run")
        dictation.add(speech(4.0))  # part 1 reaches the disk
        disk.fill(folder)  # then the disk is full
        with pytest.raises(TranscriptionFailed, match=r"HTTP 503.*could not be saved .*No space left on device"):
            dictation.finish(speech(1.0, 500))
        assert [r.message for r in caplog.records if "kept in memory" in r.message] == [
            f"warning: cannot write the recording to {folder / 'spool'}: No space left on device; "
            "it is kept in memory until it is sent, and lost if dictate exits first"
        ]
        assert p.held() == [dictation]
        assert dictation.spooled is not None and dictation.spooled.parts == 1  # a beginning, never a gap

        (folder / "filler").unlink()
        result = dictation.retry()  # the daemon's background retry: first the rest to disk, then all of it
        assert result.text == "Hello from the test server."
        assert p.held() == []
        assert server.uploads[-1].seconds == pytest.approx(5.0, abs=0.01)
        assert p.history is not None and result.entry_id is not None
        assert [path.name.split(".", 1)[1] for path in p.history.get(result.entry_id).audio_parts] == [
            "1.flac",
            "2.flac",
        ]
        p.history.close()


def test_a_broken_database_costs_no_audio_and_a_delivered_dictation_leaves_nothing(
    server: TranscriptionServer, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    History.open(folder=folder).close()
    with contextlib.closing(sqlite3.connect(folder / "history.db", isolation_level=None)) as db:
        db.execute("DROP TABLE dictations")
    p = pipeline(server, tmp_path)
    assert p.history is not None and p.history.problem is not None

    result = p.send(speech(1.0), source="once")
    assert result.spooled is not None and result.entry_id is None  # spooled, not indexed
    p.deliver(result, lambda text: None)
    assert list((folder / "spool").iterdir()) == []  # delivered: never sent again

    server.queue(Reply(503, {"error": "overloaded"}))
    with pytest.raises(TranscriptionFailed, match="kept in the spool: once the history database can be written"):
        p.send(speech(1.5), source="once")
    assert len(p.held()) == 1  # the daemon's background retry finds it there
    p.history.close()

    (folder / "history.db").rename(folder / "history.db.broken")  # as the message says
    with History.open(folder=folder) as history:
        [entry] = history.pending()
        assert entry.source == "recovered" and history.read_recording(entry.id).seconds == pytest.approx(1.5)


def test_every_part_and_the_tail_are_on_disk_before_their_upload_starts(tmp_path: Path) -> None:
    """A crash at any moment of an upload loses nothing: what is being sent is already in the spool."""

    seen: list[float] = []
    history = History.open(folder=tmp_path / "data")

    def spooled_seconds(recording: Recording) -> str:
        (entry,) = history.entries()
        seen.append(sum(decode(part.read_bytes()).seconds for part in entry.audio_parts))
        return "words"

    cfg = from_dict({})
    p = Pipeline(cfg, FakeEngine(spooled_seconds, spooled_seconds), history)
    dictation = p.start(source="run")
    upload = dictation.add(speech(4.0))
    assert upload is not None
    upload.result()
    dictation.finish(speech(1.5, 500))
    assert seen == [pytest.approx(4.0, abs=0.01), pytest.approx(5.5, abs=0.01)]
