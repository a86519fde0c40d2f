"""Real Whisper behind the http engine: the rig's server answering with Whisper tiny.en (as a
faster-whisper server such as speaches does: temperature 0, no fall-back), and what dictate makes of
what real Whisper says over silence, over noise, and across parts."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dictate.audio import Recording, encode
from dictate.config import load
from dictate.store import History
from tests.conftest import write_config
from tests.e2e.test_daemon import Daemon
from tests.rig import proc
from tests.rig.display import TkTarget, VirtualDisplay
from tests.rig.server import TranscriptionServer
from tests.rig.sound import VirtualMic, concat_clips
from tests.rig.speech import misheard

pytestmark = pytest.mark.rig

RATE = 16000


@pytest.fixture(scope="module")
def whisper() -> TranscriptionServer:
    with TranscriptionServer(whisper=True) as server:
        yield server  # type: ignore[misc]


def spool(home: Path, samples: np.ndarray) -> int:
    """A recording left in the spool (as a crash or a failed upload leaves it), for `dictate retry`."""
    config = load(str(home / ".config" / "dictate" / "config.toml"))
    with History.open(config.history, folder=home / ".local" / "share" / "dictate") as history:
        entry = history.spool(encode(Recording(samples, RATE), "flac"), source="run", base_url=config.api.base_url)
        assert entry.id is not None
        history.release(entry)
        return entry.id


def configure(home: Path, server: TranscriptionServer, extra: str = "") -> None:
    write_config(
        home,
        f'[api]\nbase_url = "{server.base_url}"\nlanguage = "en"\nmax_retries = 0\n'
        f'[hotkey]\nkeys = "f9"\n[output]\nmethod = "type"\n[feedback]\nsounds = false\nnotify = false\n{extra}',
    )


def test_over_digital_silence_whisper_says_you_and_nothing_is_delivered(
    home: Path, user_env: dict[str, str], whisper: TranscriptionServer
) -> None:
    configure(home, whisper)
    entry = spool(home, np.zeros(3 * RATE, dtype=np.int16))
    before = len(whisper.uploads)
    result = proc.run(["retry", str(entry)], user_env, timeout=120)
    assert whisper.uploads[before].recognized == " You"  # what real Whisper answers over silence
    assert result.returncode == 0 and result.stdout == ""
    assert "the server heard no words" in result.stderr
    (shown,) = [e for e in proc_history(user_env) if e["id"] == entry]
    assert shown["status"] == "discarded"


def test_over_low_noise_whisper_says_dots_and_nothing_is_delivered(
    home: Path, user_env: dict[str, str], whisper: TranscriptionServer
) -> None:
    configure(home, whisper)
    noise = (np.random.default_rng(3).normal(0, 0.01, 4 * RATE) * 32767).astype(np.int16)
    entry = spool(home, noise)
    before = len(whisper.uploads)
    result = proc.run(["retry", str(entry)], user_env, timeout=120)
    heard = whisper.uploads[before].recognized or ""
    assert heard.strip() and not re.search(r"\w", heard)  # " . . . . . ." and the like
    assert result.returncode == 0 and result.stdout == ""
    assert "the server heard no words" in result.stderr


def proc_history(env: dict[str, str]) -> list[dict[str, object]]:
    import json

    return json.loads(proc.run(["history", "--json"], env).stdout)


SENTENCES = [
    "the meeting starts at nine and we should bring the quarterly figures",
    "please remind me to call the dentist tomorrow afternoon",
    "send the draft to the team and ask for comments by friday",
]


def test_parts_cut_while_speaking_read_as_one_text(
    home: Path,
    whisper: TranscriptionServer,
    vmic: VirtualMic,
    xdisplay: VirtualDisplay,
    tk_window: TkTarget,
    clip: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    configure(home, whisper)
    speech = concat_clips([clip(s) for s in SENTENCES], tmp_path / "three.wav", pause=0.9)
    daemon = Daemon(proc.clean_env(home, {**vmic.env, "DISPLAY": xdisplay.name}), "--no-hotkey")
    try:
        before = len(whisper.uploads)
        daemon.ctl("start")
        vmic.play(speech)
        daemon.ctl("stop")
        deadline = time.monotonic() + 90
        while not tk_window.text().endswith(" ") and time.monotonic() < deadline:
            time.sleep(0.05)
        typed = tk_window.text()
    finally:
        daemon.run.proc.send_signal(signal.SIGTERM)
        daemon.run.finish(timeout=60)
    parts = [u.recognized or "" for u in whisper.uploads[before:]]
    assert len(parts) >= 2  # cut while speaking, and Whisper writes each part as a sentence of its own
    assert all(p.strip()[:1].isupper() and p.strip()[-1:] in ".?!" for p in parts), parts
    # One text: the parts in the order spoken, one space between them, nothing doubled at the seams.
    assert typed == " ".join(p.strip() for p in parts) + " "
    assert "  " not in typed and ".." not in typed
    # Whisper tiny through the live microphone: "9" for "nine", "court early" for "quarterly" (30 words)
    assert misheard(typed, " ".join(SENTENCES)) <= 5, typed
