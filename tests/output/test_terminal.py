"""The outputs without a desktop: stdout, and tmux (checked with a stand-in tmux)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dictate import DictateError
from dictate.output.terminal import StdoutOutput, TmuxOutput
from tests.output.tools import calls, make_tool


def test_stdout_prints_each_delivery_as_one_line() -> None:
    stream = io.StringIO()
    output = StdoutOutput(stream)
    output.deliver("héllo")
    output.deliver("wörld")
    assert stream.getvalue() == "héllo\nwörld\n"


def test_tmux_sends_literal_keys_and_never_enter(bin_dir: Path) -> None:
    tmux = make_tool(bin_dir, "tmux")
    output = TmuxOutput(str(tmux))
    output.deliver("-n rm -rf / ; Enter C-m")
    output.deliver("")
    assert calls(bin_dir, "tmux") == [["send-keys", "-l", "--", "-n rm -rf / ; Enter C-m"]]


def test_tmux_failure_is_a_dictate_error(bin_dir: Path) -> None:
    tmux = make_tool(bin_dir, "tmux", "sys.stderr.write('no server running on /tmp/tmux-0/default\\n'); sys.exit(1)")
    with pytest.raises(DictateError, match=r"tmux send-keys: .*tmux failed: no server running"):
        TmuxOutput(str(tmux)).deliver("text")
