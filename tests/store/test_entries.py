"""Entries: the status machine (Python and SQL agree), IDs, hosts, the row and time formats."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dictate.errors import ExitCode
from dictate.store import spool
from dictate.store.entries import (
    DELIVERED,
    DISCARDED,
    DONE,
    FAILED,
    FINISHED_SQL,
    PENDING_SQL,
    QUEUED,
    SELECT,
    STATUSES,
    Entry,
    UnknownEntry,
    endpoint_host,
    from_row,
    is_finished,
    is_pending,
    iso,
    load,
    parse_id,
    parse_time,
    sql_condition,
)
from dictate.store.migrations import migrate

TEXTS = (None, "", "words")  # no text, an empty text (present all the same), a text


def entry(status: str, text: str | None = None, **fields: object) -> Entry:
    moment = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    values: dict[str, object] = {
        "id": 1, "created": moment, "updated": moment, "source": "run", "status": status, "duration": 0.5,
        "model": None, "host": None, "text": text, "error": None, "attempts": 0, "bytes_uploaded": None,
        "audio_path": None, "press_to_audio_ms": None, "release_to_request_ms": None, "server_ms": None,
        "release_to_delivery_ms": None,
    }  # fmt: skip
    values.update(fields)
    return Entry(**values)  # type: ignore[arg-type]


@pytest.fixture
def every_case(tmp_path: Path) -> tuple[sqlite3.Connection, dict[int, tuple[str, str | None]]]:
    """A database with one row per status and text (absent, empty, present); the rows' ID -> (status, text)."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.row_factory = sqlite3.Row
    migrate(db)
    stamp = iso(datetime.now(timezone.utc))
    cases = {}
    for status, text in itertools.product(STATUSES, TEXTS):
        cursor = db.execute(
            "INSERT INTO dictations (created, updated, source, status, text) VALUES (?, ?, 'run', ?, ?)",
            (stamp, stamp, status, text),
        )
        assert cursor.lastrowid is not None
        cases[cursor.lastrowid] = (status, text)
    assert len(cases) == len(STATUSES) * len(TEXTS) == 15
    return db, cases


def matching(db: sqlite3.Connection, condition: str) -> set[int]:
    return {row["id"] for row in db.execute(SELECT + " WHERE " + condition)}


def test_sql_and_python_agree_on_every_status_with_and_without_text(
    tmp_path: Path, every_case: tuple[sqlite3.Connection, dict[int, tuple[str, str | None]]]
) -> None:
    db, cases = every_case
    pending_sql, finished_sql = matching(db, PENDING_SQL), matching(db, FINISHED_SQL)
    for entry_id, (status, text) in cases.items():
        loaded = load(db, tmp_path, entry_id)
        assert (entry_id in pending_sql) == is_pending(status, text is not None) == loaded.pending, (status, text)
        assert (entry_id in finished_sql) == is_finished(status) == loaded.finished, (status, text)

    # The rule itself: pending = queued or failed, or done without stored text; finished = delivered or discarded.
    assert {cases[i] for i in pending_sql} == {
        (QUEUED, None), (QUEUED, ""), (QUEUED, "words"), (FAILED, None), (FAILED, ""), (FAILED, "words"), (DONE, None),
    }  # fmt: skip
    assert {cases[i][0] for i in finished_sql} == {DELIVERED, DISCARDED}
    assert len(finished_sql) == 2 * len(TEXTS)


@pytest.mark.parametrize(
    "predicate",
    [
        lambda status, has_text: False,
        lambda status, has_text: True,
        lambda status, has_text: has_text,
        lambda status, has_text: status == DONE and has_text,
        lambda status, has_text: status in (QUEUED, DELIVERED) or (status == FAILED) != has_text,
    ],
    ids=["never", "always", "text", "done with text", "mixed"],
)
def test_the_sql_of_any_status_and_text_rule_matches_the_rule(
    predicate: Callable[[str, bool], bool],
    every_case: tuple[sqlite3.Connection, dict[int, tuple[str, str | None]]],
) -> None:
    db, cases = every_case
    expected = {i for i, (status, text) in cases.items() if predicate(status, text is not None)}
    assert matching(db, sql_condition(predicate)) == expected


# Which next status each status allows, with the text absent / present.
STEPS = {
    (QUEUED, False): {FAILED, DONE, DISCARDED},
    (QUEUED, True): {FAILED, DONE, DISCARDED},
    (FAILED, False): {FAILED, DONE, DISCARDED},
    (FAILED, True): {FAILED, DONE, DISCARDED},
    (DONE, False): {FAILED, DONE, DELIVERED, DISCARDED},  # history off: the text must be obtained again
    (DONE, True): {DELIVERED, DISCARDED},
    (DELIVERED, False): set(),
    (DELIVERED, True): set(),
    (DISCARDED, False): set(),
    (DISCARDED, True): set(),
}


@pytest.mark.parametrize(("status", "has_text"), sorted(STEPS))
def test_the_status_machine_allows_exactly_its_steps(status: str, has_text: bool) -> None:
    subject = entry(status, "words" if has_text else None)
    assert {to for to in STATUSES if subject.can_become(to)} == STEPS[status, has_text]


@pytest.mark.parametrize(("value", "number"), [("12", 12), ("#12", 12), (" #7 ", 7), (5, 5)])
def test_parse_id_takes_a_number_with_or_without_hash(value: str | int, number: int) -> None:
    assert parse_id(value) == number


@pytest.mark.parametrize("value", ["abc", "#", "", "-1", "1.5", "#1#", "²", "١٢"])  # superscript, Arabic digits
def test_parse_id_refuses_what_is_not_an_id_as_a_usage_error(value: str) -> None:
    with pytest.raises(UnknownEntry, match="IDs are numbers") as err:
        parse_id(value)
    assert err.value.exit_code == ExitCode.USAGE


def test_an_id_beyond_any_dictation_is_a_usage_error_not_an_overflow() -> None:
    with pytest.raises(UnknownEntry, match=r"^no dictation with ID 99999999999999999999…: IDs are far smaller") as err:
        parse_id("9" * 40)
    assert err.value.exit_code == ExitCode.USAGE


def test_load_of_a_missing_id_is_unknown(tmp_path: Path) -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.row_factory = sqlite3.Row
    migrate(db)
    with pytest.raises(UnknownEntry, match="no dictation with ID 3") as err:
        load(db, tmp_path, "#3")
    assert err.value.exit_code == ExitCode.USAGE


def test_a_row_names_its_audio_in_the_spool_until_it_is_removed(tmp_path: Path) -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.row_factory = sqlite3.Row
    migrate(db)
    stamp = iso(datetime.now(timezone.utc))
    insert = (
        "INSERT INTO dictations (created, updated, source, status, audio_name, audio_removed)"
        " VALUES (?, ?, 'run', ?, ?, ?)"
    )
    here, away, gone = "20240102T030405678Z-0123abcd", "20240102T030405678Z-4567cdef", "20240102T030405678Z-89abcdef"
    (tmp_path / f"{here}.1.flac").write_bytes(b"x")
    (tmp_path / f"{gone}.1.flac").write_bytes(b"x")  # removed by its row, not yet deleted
    db.execute(insert, (stamp, stamp, QUEUED, here, None))
    db.execute(insert, (stamp, stamp, QUEUED, away, None))
    db.execute(insert, (stamp, stamp, DELIVERED, gone, stamp))
    db.execute(insert, (stamp, stamp, QUEUED, None, None))
    rows = db.execute(SELECT + " ORDER BY id").fetchall()
    entries = [from_row(row, tmp_path) for row in rows]
    assert [e.audio_path for e in entries] == [tmp_path / f"{here}.1.flac", None, None, None]
    assert [e.audio_missing for e in entries] == [False, True, False, False]
    # Listed once for many rows: the same answers.
    found = spool.scan(tmp_path)
    assert [from_row(row, tmp_path, found) for row in rows] == entries
    # A folder that cannot be listed says nothing is missing: it is not known.
    unknown = spool.scan(tmp_path / "not-there")
    assert [from_row(row, tmp_path, unknown).audio_missing for row in rows] == [False] * 4


def test_times_are_stored_in_utc_to_the_millisecond() -> None:
    moment = datetime(2024, 1, 2, 5, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    assert iso(moment) == "2024-01-02T03:04:05.678+00:00"
    assert parse_time(iso(moment)) == moment.replace(microsecond=678000)
    later = moment + timedelta(milliseconds=1)
    assert iso(later) > iso(moment)  # text order is time order


def test_to_dict_is_ready_for_json(tmp_path: Path) -> None:
    data = entry(DONE, "words", audio_path=tmp_path / "a.wav", server_ms=412).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["created"] == data["updated"] == "2024-01-02T03:04:05.678+00:00"
    assert data["audio_path"] == str(tmp_path / "a.wav")
    assert (data["status"], data["text"], data["server_ms"]) == (DONE, "words", 412)
    assert entry(QUEUED).to_dict()["audio_path"] is None


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://api.openai.com/v1", "api.openai.com"),
        ("http://localhost:8000/v1", "localhost:8000"),
        ("https://user:sk-secret@example.com/v1?key=sk-other", "example.com"),
        ("http://[::1]:9000/v1", "[::1]:9000"),
        ("", None),
    ],
)
def test_endpoint_host_keeps_only_host_and_port(url: str, host: str | None) -> None:
    assert endpoint_host(url) == host
