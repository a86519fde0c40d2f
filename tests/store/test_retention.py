"""Retention: finished dictations past max_days / max_entries go, pending ones never do."""

from __future__ import annotations

import pytest

from dictate.config import HistoryConfig
from dictate.store import History
from dictate.store import history as history_module
from tests.store.conftest import age, delivered, spool_files, wav_bytes


def test_max_days_prunes_old_finished_entries_but_never_pending_ones() -> None:
    with History.open(HistoryConfig(keep_audio=True)) as h:
        old_delivered = delivered(h, "old")
        old_discarded = h.discard(h.spool(wav_bytes(), source="run").id).id
        old_failed = h.mark_failed(h.spool(wav_bytes(), source="run").id, "HTTP 502").id
        old_queued = h.spool(wav_bytes(), source="run").id
        old_done = h.mark_done(h.spool(wav_bytes(), source="run").id, "never typed").id
        recent = delivered(h, "recent")
    for entry_id in (old_delivered, old_discarded, old_failed, old_queued, old_done):
        age(entry_id, 200)
    age(recent, 10)

    with History.open(HistoryConfig(max_days=90, keep_audio=True)) as h:
        assert {e.id for e in h.entries()} == {old_failed, old_queued, old_done, recent}
        assert [e.id for e in h.pending()] == [old_failed, old_queued]
        kept_audio = {p.name for p in spool_files()}
        assert kept_audio == {h.get(i).audio_path.name for i in (old_failed, old_queued, old_done, recent)}  # type: ignore[union-attr]


def test_max_entries_keeps_the_newest_finished_entries() -> None:
    with History.open(HistoryConfig(keep_audio=True, max_entries=0)) as h:
        ids = [delivered(h, f"number {n}") for n in range(5)]
        waiting = h.spool(wav_bytes(), source="run").id
    with History.open(HistoryConfig(keep_audio=True, max_entries=2)) as h:
        assert [e.id for e in h.entries()] == [waiting, ids[4], ids[3]]
    assert len(spool_files()) == 3


def test_zero_means_no_limit() -> None:
    with History.open(HistoryConfig(max_entries=0, max_days=0)) as h:
        first = delivered(h, "ancient")
    age(first, 10_000)
    with History.open(HistoryConfig(max_entries=0, max_days=0)) as h:
        assert h.prune() == 0
        assert h.get(first).text == "ancient"


def test_a_running_history_prunes_after_a_delivery_only_once_prune_every_has_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with History.open(HistoryConfig(max_entries=1)) as h:
        ids = [delivered(h, f"number {n}") for n in range(3)]
        assert [e.id for e in h.entries()] == list(reversed(ids))  # pruned on open only, not since
        monkeypatch.setattr(history_module, "PRUNE_EVERY", 0.0)
        failed = h.mark_failed(h.spool(wav_bytes(), source="run").id, "HTTP 503").id
        assert len(h.entries()) == 4  # a failure is no delivery: no pass
        latest = delivered(h, "the newest")
        assert [e.id for e in h.entries()] == [latest, failed]
