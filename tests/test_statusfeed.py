"""The status feed: what a bar shows for each status, and a Feed that never waits for a follower."""

from __future__ import annotations

import json
import socket

import pytest

from dictate.statusfeed import MAX_FOLLOWERS, Feed, activity, bar_line, render


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (None, "stopped"),
        ({"state": "idle", "queued": 0}, "idle"),
        ({"state": "recording", "queued": 1}, "recording"),
        ({"state": "listening", "queued": 0}, "recording"),  # `dictate notes` listening
        ({"state": "paused", "queued": 2}, "paused"),
        ({"state": "idle", "queued": 2, "error": "HTTP 500"}, "transcribing"),
        ({"state": "idle", "queued": 0, "error": "HTTP 500"}, "error"),
    ],
)
def test_one_state_wins(status: dict[str, object] | None, state: str) -> None:
    assert activity(status) == state


def test_the_line_has_what_waybar_reads() -> None:
    line = bar_line({"state": "idle", "queued": 3, "delivered": 7, "error": "HTTP 500 from host"})
    assert line == {
        "text": "transcribing 3",
        "alt": "transcribing",
        "class": "transcribing",
        "tooltip": "dictate: transcribing; 3 being transcribed; 7 delivered; last error: HTTP 500 from host",
    }
    assert json.loads(render(None, as_json=True)) == {
        "text": "off",
        "alt": "stopped",
        "class": "stopped",
        "tooltip": "dictate is not running",
    }
    assert render({"state": "paused"}, as_json=False, notes=True) == "paused"


def test_a_servers_words_in_the_tooltip_are_not_markup() -> None:
    line = bar_line({"state": "idle", "queued": 0, "error": 'HTTP 500: <span size="9999999">x</span> & more'})
    assert line["tooltip"] == (
        'dictate: error; last error: HTTP 500: &lt;span size="9999999"&gt;x&lt;/span&gt; &amp; more'
    )


def read_lines(sock: socket.socket) -> list[dict[str, object]]:
    sock.settimeout(2)
    data = b""
    while not data.endswith(b"\n"):
        data += sock.recv(65536)
    return [json.loads(line) for line in data.splitlines()]


def test_a_follower_gets_the_current_status_then_each_change_once() -> None:
    feed = Feed()
    feed.publish(lambda: {"state": "idle"})
    ours, theirs = socket.socketpair()
    with ours, theirs:
        feed.follow(ours)
        assert read_lines(theirs) == [{"state": "idle"}]
        feed.publish(lambda: {"state": "idle"})  # no change: nothing sent
        feed.publish(lambda: {"state": "recording"})
        assert read_lines(theirs) == [{"state": "recording"}]
        feed.close()
        assert theirs.recv(1) == b""  # hung up


def test_a_follower_that_stops_reading_is_dropped_without_waiting() -> None:
    feed = Feed()
    ours, theirs = socket.socketpair()
    with theirs:
        feed.follow(ours)
        for n in range(100_000):  # far more than a socket buffer holds; each publish returns at once
            feed.publish(lambda n=n: {"state": "idle", "delivered": n, "padding": "x" * 100})
            if ours.fileno() == -1:
                break
        assert ours.fileno() == -1  # dropped and closed
        feed.publish(lambda: {"state": "recording"})  # the others go on


def test_a_follower_that_hung_up_is_dropped() -> None:
    feed = Feed()
    ours, theirs = socket.socketpair()
    feed.follow(ours)
    theirs.close()
    feed.publish(lambda: {"state": "recording"})
    assert ours.fileno() == -1


def test_followers_that_hung_up_are_let_go_even_while_nothing_changes() -> None:
    """A bar polling `ctl status --follow | head -n1` against an idle daemon: every follower hangs up
    at once, and nothing is published that would find out. They once piled up until no file was left."""
    feed = Feed()
    feed.publish(lambda: {"state": "idle"})
    kept = []
    for _ in range(200):
        ours, theirs = socket.socketpair()
        feed.follow(ours)
        theirs.close()  # the reader read its line and went
        kept.append(ours)
    assert sum(conn.fileno() != -1 for conn in kept) == 1  # only the last, not yet seen to be gone
    listening, still = socket.socketpair()
    with still:
        feed.follow(listening)
        assert read_lines(still) == [{"state": "idle"}]
        assert listening.fileno() != -1


def test_followers_are_capped_the_oldest_goes() -> None:
    feed = Feed()
    pairs = [socket.socketpair() for _ in range(MAX_FOLLOWERS + 5)]
    for ours, _theirs in pairs:
        feed.follow(ours)
    assert [ours.fileno() == -1 for ours, _ in pairs] == [True] * 5 + [False] * MAX_FOLLOWERS
    feed.close()
    for _ours, theirs in pairs:
        theirs.close()
