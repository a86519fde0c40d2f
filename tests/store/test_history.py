"""The History: spooling, every status step, the history off, search, and the commands that read it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dictate import ConfigError, ExitCode, config
from dictate.audio import EncodedAudio
from dictate.config import HistoryConfig
from dictate.store import (
    DELIVERED,
    DISCARDED,
    DONE,
    FAILED,
    QUEUED,
    EntryStateError,
    History,
    UnknownEntry,
    parse_id,
)
from tests.conftest import write_config
from tests.rig import proc
from tests.store.conftest import data_folder, delivered, raw_db, spool_files, wav_bytes

FAKE_KEYS = ("sk-envFAKEkey0000000000001", "sk-openaiFAKEkey000000002", "sk-fileFAKEkey00000000003")


# ---- spooling --------------------------------------------------------------------------------


def test_spool_writes_the_audio_before_returning_a_queued_entry(history: History) -> None:
    audio = EncodedAudio(wav_bytes(1.0), "audio.flac", "audio/flac", 1.0)
    spooled = history.spool(
        audio, source="run", model="whisper-1", base_url="https://api.example.com/v1", press_to_audio_ms=35.6
    )
    entry = history.get(spooled.id)  # type: ignore[arg-type]
    assert (spooled.key, spooled.parts, spooled.unindexed) == (entry.key, 1, None)
    assert entry.status == QUEUED
    assert entry.id == 1
    assert entry.source == "run"
    assert entry.model == "whisper-1"
    assert entry.host == "api.example.com"
    assert entry.duration == 1.0
    assert entry.attempts == 0
    assert entry.press_to_audio_ms == 36
    assert entry.audio_path is not None
    assert entry.audio_path.parent == data_folder() / "spool"
    assert entry.audio_path.name == f"{entry.key}.1.flac"
    assert entry.audio_path.read_bytes() == audio.data
    assert entry.audio_parts == (entry.audio_path,)
    assert history.read_recording(entry.id).seconds == 1.0
    assert spool_files() == [entry.audio_path]  # no temp file left behind
    assert entry.created.tzinfo is not None and entry.created.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


# ---- states ----------------------------------------------------------------------------------


def test_failed_then_done_then_delivered(history: History) -> None:
    entry = history.spool(wav_bytes(), source="once")
    failed = history.mark_failed(entry.id, "HTTP 503: overloaded", bytes_uploaded=16044, release_to_request_ms=12)
    assert (failed.status, failed.error, failed.attempts) == (FAILED, "HTTP 503: overloaded", 1)
    history.mark_failed(entry.id, "timed out after 60 s", attempts=3)
    assert [e.id for e in history.pending()] == [entry.id]

    done = history.mark_done(entry.id, "Hello world.", attempts=1, server_ms=412, bytes_uploaded=16044)
    assert (done.status, done.text, done.attempts) == (DONE, "Hello world.", 5)
    assert done.error == "timed out after 60 s"  # the last error stays for the record
    assert (done.server_ms, done.release_to_request_ms, done.bytes_uploaded) == (412, 12, 16044)
    assert done.audio_path is not None and done.audio_path.exists()  # not delivered yet
    assert history.pending() == []

    audio = done.audio_path
    final = history.mark_delivered(entry.id, release_to_delivery_ms=830.4)
    assert (final.status, final.release_to_delivery_ms, final.audio_path) == (DELIVERED, 830, None)
    assert not audio.exists()
    assert history.get(entry.id) == final


def test_steps_out_of_order_are_refused(history: History) -> None:
    entry = history.spool(wav_bytes(), source="run")
    with pytest.raises(EntryStateError, match="queued"):
        history.mark_delivered(entry.id)
    history.mark_done(entry.id, "text")
    with pytest.raises(EntryStateError, match="done"):
        history.mark_done(entry.id, "again")
    with pytest.raises(EntryStateError):
        history.mark_failed(entry.id, "late error")
    history.mark_delivered(entry.id)
    with pytest.raises(EntryStateError, match="delivered"):
        history.discard(entry.id)
    with pytest.raises(UnknownEntry) as err:
        history.mark_done(99, "nobody")
    assert err.value.exit_code == ExitCode.USAGE


def test_discard_removes_the_audio_and_keeps_the_reason(history: History) -> None:
    entry = history.spool(wav_bytes(), source="run")
    history.mark_failed(entry.id, "HTTP 500")
    gone = history.discard(entry.id, "no words heard")
    assert (gone.status, gone.error, gone.audio_path) == (DISCARDED, "no words heard", None)
    assert spool_files() == []
    assert history.pending() == []


def test_keep_audio_keeps_the_file_after_delivery() -> None:
    with History.open(HistoryConfig(keep_audio=True)) as h:
        spooled = h.spool(wav_bytes(), source="run")
        entry = h.get(spooled.id)  # type: ignore[arg-type]
        h.mark_done(entry.id, "kept")
        final = h.mark_delivered(entry.id)
        assert final.audio_path == entry.audio_path
        assert h.read_recording(entry.id).seconds == 0.5
    with History.open(HistoryConfig(keep_audio=True)) as h:
        assert h.recover() == []  # a kept file has its row: not an orphan


def test_ids_are_short_numbers_and_never_reused(history: History) -> None:
    first = delivered(history, "one")
    assert parse_id(str(first)) == parse_id(f"#{first}") == first
    with pytest.raises(UnknownEntry):
        parse_id("abc")
    history.close()
    with History.open(HistoryConfig(max_entries=0, max_days=0)) as h:
        pass
    raw_db().execute("DELETE FROM dictations")
    with History.open() as h:
        assert h.spool(wav_bytes(), source="run").id == first + 1


def test_a_dictation_is_its_parts_in_order_and_an_old_single_wav_reads_the_same(tmp_path: Path) -> None:
    import numpy as np

    from dictate.audio import Recording, encode

    first, second, third = (np.arange(a, b, dtype=np.int16) for a, b in ((0, 1000), (1000, 1600), (1600, 1700)))
    with History.open(folder=tmp_path) as history:
        spooled = history.spool(encode(Recording(first, 16000), "flac"), source="run")
        spooled = history.add_part(spooled, encode(Recording(second, 16000), "flac"))
        spooled = history.add_part(spooled, encode(Recording(third, 16000), "wav"))  # formats may differ
        assert spooled.parts == 3
        entry = history.get(spooled.id)  # type: ignore[arg-type]
        assert [p.name for p in entry.audio_parts] == [
            f"{entry.key}.{n}.{ext}" for n, ext in ((1, "flac"), (2, "flac"), (3, "wav"))
        ]
        np.testing.assert_array_equal(history.read_recording(entry.id).samples, np.concatenate([first, second, third]))
        assert len(history.entries()) == 1

        # A spool from before parts: one WAV file per dictation, its row naming the file.
        legacy = "20240102T030405678Z-0123abcd.wav"
        (history.spool_dir / legacy).write_bytes(encode(Recording(first, 16000), "wav").data)
        stamp = "2024-01-02T03:04:05.678+00:00"
        history._db.connection.execute(  # type: ignore[union-attr]
            "INSERT INTO dictations (created, updated, source, status, audio_name) VALUES (?, ?, 'run', 'failed', ?)",
            (stamp, stamp, legacy),
        )
        [old] = [e for e in history.pending() if e.id != entry.id]
        assert old.audio_parts == (history.spool_dir / legacy,)
        np.testing.assert_array_equal(history.read_recording(old.id).samples, first)


# ---- history off -----------------------------------------------------------------------------


def test_history_off_spools_audio_but_stores_no_text_and_forgets_delivered_entries() -> None:
    off = HistoryConfig(enabled=False, keep_audio=True)  # keep_audio is ignored when the history is off
    secret_words = "private words never written to disk"
    with History.open(off) as h:
        entry = h.get(h.spool(wav_bytes(), source="run").id)  # type: ignore[arg-type]
        assert entry.audio_path is not None and entry.audio_path.exists()  # the no-loss guarantee holds

        done = h.mark_done(entry.id, secret_words)
        assert done.status == DONE and done.text is None
        assert [e.id for e in h.pending()] == [entry.id]  # text not kept: retry must transcribe again

        final = h.mark_delivered(entry.id)
        assert (final.status, final.audio_path) == (DELIVERED, None)
        with pytest.raises(UnknownEntry):
            h.get(entry.id)
        assert h.entries() == []
        assert spool_files() == []

        failed = h.mark_failed(h.spool(wav_bytes(), source="run").id, "HTTP 503")
        assert [e.id for e in h.pending()] == [failed.id]  # undelivered audio stays until delivered
        h.discard(failed.id, "gave up")
        assert h.entries() == [] and spool_files() == []
    for path in data_folder().rglob("*"):
        if path.is_file():
            assert secret_words.encode() not in path.read_bytes(), path


def test_history_off_leaves_earlier_entries_alone() -> None:
    with History.open() as h:
        first = delivered(h, "from before")
    with History.open(HistoryConfig(enabled=False)) as h:
        assert h.get(first).text == "from before"


# ---- search ----------------------------------------------------------------------------------


def test_entries_are_newest_first_and_search_ignores_case(history: History) -> None:
    ids = [delivered(history, text) for text in ("Über den Fluss", "hello world", "HELLO again", "50% off_sale")]
    assert [e.id for e in history.entries()] == list(reversed(ids))
    assert [e.id for e in history.entries(limit=2)] == [ids[3], ids[2]]
    assert [e.id for e in history.entries(search="hello")] == [ids[2], ids[1]]
    assert [e.id for e in history.entries(search="über")] == [ids[0]]
    assert [e.id for e in history.entries(search="0% off_")] == [ids[3]]  # no LIKE wildcards
    assert history.entries(search="absent") == []


# ---- settings --------------------------------------------------------------------------------


def test_history_section_in_the_config() -> None:
    cfg = config.from_dict({"history": {"enabled": False, "keep_audio": True, "max_days": 7, "max_entries": 50}})
    assert cfg.history == HistoryConfig(enabled=False, keep_audio=True, max_days=7, max_entries=50)
    assert config.Config().history == HistoryConfig(enabled=True, keep_audio=False, max_days=90, max_entries=10000)
    with pytest.raises(ConfigError, match=r"\[history\] max_days"):
        config.from_dict({"history": {"max_days": -1}})
    with pytest.raises(ConfigError, match=r"\[history\] enabled"):
        config.from_dict({"history": {"enabled": "no"}})
    example = config.example()
    for key in ("[history]", "# enabled = true", "# keep_audio = false", "# max_days = 90", "# max_entries = 10000"):
        assert key in example


# ---- the commands ----------------------------------------------------------------------------


def test_history_command_lists_newest_first(user_env: dict[str, str]) -> None:
    with History.open() as h:
        first = delivered(h, "the first dictation", model="whisper-1", base_url="https://api.example.com/v1")
        second = h.mark_failed(h.spool(wav_bytes(), source="once").id, "HTTP 503: overloaded").id
        third = delivered(h, "a third one, " + "long " * 60)

    result = proc.run(["history"], user_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "TIME", "DUR", "STATUS", "TEXT"]
    assert [line.split()[0] for line in lines[1:]] == [str(third), str(second), str(first)]
    assert "delivered" in lines[3] and "the first dictation" in lines[3]
    assert "failed" in lines[2] and "HTTP 503" in lines[2]
    assert lines[1].endswith("…") and len(lines[1]) < 200  # long text is cut

    found = proc.run(["history", "--search", "FIRST"], user_env)
    assert [line.split()[0] for line in found.stdout.splitlines()[1:]] == [str(first)]
    limited = proc.run(["history", "--limit", "1"], user_env)
    assert len(limited.stdout.splitlines()) == 2


def test_history_json_has_every_field(user_env: dict[str, str]) -> None:
    with History.open() as h:
        entry_id = delivered(h, "json me", model="whisper-1", base_url="https://api.example.com/v1")

    result = proc.run(["history", "--json"], user_env)
    assert result.returncode == 0, result.stderr
    [item] = json.loads(result.stdout)
    assert set(item) == {
        "id", "created", "updated", "source", "status", "duration", "model", "host", "text", "error",
        "attempts", "bytes_uploaded", "audio_path", "press_to_audio_ms", "release_to_request_ms",
        "server_ms", "release_to_delivery_ms", "raw_text", "audio_parts", "audio_missing",
    }  # fmt: skip
    assert (item["id"], item["text"], item["status"]) == (entry_id, "json me", "delivered")
    assert (item["host"], item["model"], item["source"]) == ("api.example.com", "whisper-1", "run")
    assert item["created"].endswith("+00:00")

    empty = proc.run(["history", "--json", "--search", "nothing like this"], user_env)
    assert (empty.returncode, json.loads(empty.stdout)) == (0, [])


def test_history_show_prints_every_field_and_the_full_text(user_env: dict[str, str]) -> None:
    text = "line one of a long dictation " * 10 + "\nand a second line"
    with History.open() as h:
        entry_id = delivered(h, text, model="whisper-1")

    result = proc.run(["history", "show", str(entry_id)], user_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["id:", str(entry_id)]
    assert "whisper-1" in result.stdout
    assert "line one of a long dictation " * 10 in result.stdout
    assert "and a second line" in result.stdout
    for field in ("created:", "status:", "attempts:", "release_to_delivery_ms:", "audio_path:"):
        assert field in result.stdout

    as_json = proc.run(["history", "show", str(entry_id), "--json"], user_env)
    assert json.loads(as_json.stdout)["text"] == text


@pytest.mark.parametrize("bad_id", ["999", "abc"])
def test_history_show_unknown_id_is_a_one_line_usage_error(user_env: dict[str, str], bad_id: str) -> None:
    with History.open() as h:
        delivered(h, "something")
    result = proc.run(["history", "show", bad_id], user_env)
    assert result.returncode == ExitCode.USAGE
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no dictation with ID" in result.stderr


def test_history_command_when_empty(user_env: dict[str, str]) -> None:
    result = proc.run(["history"], user_env)
    assert (result.returncode, result.stdout) == (0, "")
    assert "no dictations yet" in result.stderr


# ---- the key is never stored -----------------------------------------------------------------


def test_the_api_key_is_never_written_to_the_data_dir(
    home: Path, user_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env_key, openai_key, file_key = FAKE_KEYS
    monkeypatch.setenv("DICTATE_API_KEY", env_key)
    monkeypatch.setenv("OPENAI_API_KEY", openai_key)
    cfg_path = write_config(home, f'[api]\napi_key = "{file_key}"\n\n[history]\nkeep_audio = true\n')
    cfg_path.chmod(0o600)
    cfg = config.load()
    assert config.api_key(cfg)[0] == env_key

    url_with_key = f"https://user:{file_key}@api.example.com/v1?api_key={openai_key}"
    with History.open(cfg.history) as h:
        entry_id = delivered(h, "dictated words", model=cfg.api.model, base_url=url_with_key)
        failed = h.spool(wav_bytes(), source="run", model=cfg.api.model, base_url=cfg.api.base_url)
        h.mark_failed(failed.id, "HTTP 401: invalid key (redacted by the transcriber)")
        assert h.get(entry_id).host == "api.example.com"

    env = {**user_env, "DICTATE_API_KEY": env_key, "OPENAI_API_KEY": openai_key}
    for args in (["history"], ["history", "--json"], ["history", "show", str(entry_id)]):
        assert proc.run(args, env).returncode == 0

    files = [p for p in data_folder().rglob("*") if p.is_file()]
    assert any(p.name == "history.db" for p in files) and any(p.parent.name == "spool" for p in files)
    for path in files:
        content = path.read_bytes()
        for key in FAKE_KEYS:
            assert key.encode() not in content, f"{key} found in {path}"


def test_history_command_says_when_the_history_is_off(home: Path, user_env: dict[str, str]) -> None:
    write_config(home, "[history]\nenabled = false\n")
    with History.open(HistoryConfig(enabled=False)) as h:
        waiting = h.spool(wav_bytes(), source="run").id
        delivered(h, "forgotten")
    result = proc.run(["history"], user_env)
    assert result.returncode == 0, result.stderr
    assert "history is off" in result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == [str(waiting)]


def test_the_transcript_as_heard_is_kept_beside_the_text_when_it_differs(history: History) -> None:
    changed = history.spool(wav_bytes(), source="run")
    done = history.mark_done(changed.id, "Hello, world.", raw_text="um hello comma world period")
    assert (done.text, done.raw_text) == ("Hello, world.", "um hello comma world period")
    same = history.spool(wav_bytes(), source="run")
    assert history.mark_done(same.id, "as heard", raw_text="as heard").raw_text is None  # nothing to add
    with History.open(HistoryConfig(enabled=False)) as private:
        entry = private.spool(wav_bytes(), source="run")
        assert private.mark_done(entry.id, "text", raw_text="raw").raw_text is None  # no text kept at all
