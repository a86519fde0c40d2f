"""The service files' texts: each word of the command quoted by its format's own rules, so a path with
spaces, quotes, % or $ reaches the daemon whole (systemd and `gio launch` read them for real in
tests/e2e/test_service.py)."""

from __future__ import annotations

import re
import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dictate import DictateError
from dictate.servicefiles import autostart_text, desktop_quote, systemd_quote, unit_text

WORDS = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FF, blacklist_characters="\x7f"), min_size=1)


def systemd_words(line: str) -> list[str]:
    """How systemd splits ExecStart (the subset we write: plain words, and double-quoted ones with
    backslash escapes), then undoes %% and $$."""
    words = []
    for quoted, plain in re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', line):
        word = plain or re.sub(r"\\(.)", r"\1", quoted)
        words.append(word.replace("%%", "%").replace("$$", "$"))
    return words


@given(st.lists(WORDS, min_size=1, max_size=4))
def test_systemd_words_come_back_whole(words: list[str]) -> None:
    assert systemd_words(" ".join(systemd_quote(w) for w in words)) == words


def test_unit_runs_the_command_with_run_and_restarts_on_failure() -> None:
    text = unit_text(["/home/a b/.local/bin/dictate", "--config", "/home/a b/100% $HOME.toml"], ("--no-hotkey",))
    (exec_start,) = re.findall(r"^ExecStart=(.*)$", text, re.MULTILINE)
    assert exec_start == '"/home/a b/.local/bin/dictate" --config "/home/a b/100%% $$HOME.toml" run --no-hotkey'
    assert "Restart=on-failure\n" in text and "RestartPreventExitStatus=2\n" in text
    assert "WantedBy=graphical-session.target\n" in text and "PartOf=graphical-session.target\n" in text


def desktop_words(value: str) -> list[str]:
    """The Desktop Entry Specification's reading of Exec: the string escapes first, then the quoting."""
    escapes = {"s": " ", "n": "\n", "t": "\t", "r": "\r"}
    unescaped = re.sub(r"\\(.)", lambda m: escapes.get(m[1], m[1]), value)
    words = []
    for quoted, plain in re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', unescaped):
        word = plain or re.sub(r'\\(["`$\\])', r"\1", quoted)
        words.append(word.replace("%%", "%"))
    return words


@given(st.lists(WORDS.filter(lambda w: w.strip() == w and w), min_size=1, max_size=4))
def test_desktop_words_come_back_whole(words: list[str]) -> None:
    text = autostart_text(words)
    (exec_value,) = re.findall(r"^Exec=(.*)$", text, re.MULTILINE)
    assert desktop_words(exec_value) == [*words, "service", "start"]


def test_plain_words_stay_plain() -> None:
    assert systemd_quote("/usr/bin/dictate") == "/usr/bin/dictate"
    assert desktop_quote("/usr/bin/dictate") == "/usr/bin/dictate"
    assert shlex.split(autostart_text(["/opt/d/bin/dictate"]).split("Exec=")[1].splitlines()[0]) == [
        "/opt/d/bin/dictate",
        "service",
        "start",
    ]


@pytest.mark.parametrize("word", ["", "a\nb", "tab\tinside", "del\x7f"])
def test_what_a_service_file_cannot_hold_is_refused(word: str) -> None:
    with pytest.raises(DictateError, match=r"cannot write .* into a service file"):
        unit_text([word])
    with pytest.raises(DictateError, match=r"cannot write .* into a service file"):
        autostart_text(["/bin/dictate", word])
