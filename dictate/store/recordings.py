"""A dictation's audio as its sender holds it: `Spooled`, written part by part, read back whole, deleted.

Nothing here knows about rows: the History pairs each Spooled with its row, or with none when the
database could not index it.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dictate.store import spool
from dictate.store.entries import EntryStateError, HistoryError

if TYPE_CHECKING:
    from dictate.audio import EncodedAudio, Recording

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Spooled:
    """A dictation's audio in the spool, as the process that wrote it holds it (claimed)."""

    key: str  # its name in the spool
    id: int | None  # its row; None when the database could not index it (`unindexed` says why)
    parts: int = 1
    unindexed: str | None = None


Target = int | str | Spooled  # a dictation: its ID, or the Spooled of spool()


def entry_id(target: Target) -> int | str | None:
    """The row a target names; None for a Spooled the database never indexed."""
    return target.id if isinstance(target, Spooled) else target


def encoded(audio: EncodedAudio | bytes, ext: str | None, duration: float | None) -> tuple[bytes, str, float | None]:
    """The bytes, file extension and length of audio to spool ("wav" for raw bytes, by default)."""
    if isinstance(audio, bytes | bytearray | memoryview):
        return bytes(audio), ext or "wav", duration
    ext = ext or Path(audio.filename).suffix.lstrip(".") or "wav"
    return audio.data, ext, audio.seconds if duration is None else duration


def write_part(spool_dir: Path, name: str, data: bytes, *, keep_lock: bool = False) -> int | None:
    """Write one part durably (spool.write_durably); HistoryError, in one line, when the disk refuses."""
    if not data:
        raise HistoryError("nothing to spool: the audio is empty")
    try:
        try:
            return spool.write_durably(spool_dir / name, data, keep_lock=keep_lock)
        except FileNotFoundError:
            spool.private_dir(spool_dir)  # a folder that could not be made when the history opened, or was removed
            return spool.write_durably(spool_dir / name, data, keep_lock=keep_lock)
    except OSError as exc:
        raise HistoryError(f"cannot write the recording to {spool_dir}: {exc.strerror or exc}") from None


def read_whole(label: str, files: list[Path], *, recorded: float | None = None, give_up: str) -> Recording:
    """The parts decoded and joined. EntryStateError when there are none; HistoryError naming the
    dictation (`label`) and the file when one cannot be read, is damaged or cut short, when a part is
    missing, or when they hold less than the `recorded` seconds: nothing is sent then, nothing
    deleted, and the message ends with `give_up`, how to give the dictation up."""
    import numpy as np

    from dictate.audio import Recording, decode
    from dictate.errors import DictateError

    if not files:
        raise EntryStateError(f"{label} has no audio any more")
    kept = f"nothing sent, its audio kept ({give_up})"
    absent = missing_parts([spool.part_number(path) for path in files])
    if absent:
        numbers = ", ".join(str(n) for n in absent)
        raise HistoryError(f"{label}: part {numbers} of its audio is missing from {files[0].parent}; {kept}")
    pieces: list[Recording] = []
    for path in files:
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):  # a pipe would never end, a device never stop
                raise HistoryError(f"{label}: {path} is not a regular file (a folder, pipe or device); {kept}")
            data = path.read_bytes()
        except OSError as exc:
            raise HistoryError(f"{label}: cannot read {path}: {exc.strerror or exc}; {kept}") from None
        try:
            recording = decode(data)
        except DictateError as exc:
            detail = exc.message.removeprefix("audio data: ")
            raise HistoryError(f"{label}: {path} is damaged ({detail}); {kept}") from None
        announced = announced_seconds(data)
        if announced is not None and cut_short(recording.seconds, announced):
            raise HistoryError(
                f"{label}: {path} is cut short ({recording.seconds:.2f} s of the {announced:.2f} s its header "
                f"announces); {kept}; `dictate transcribe {path}` gives the text of what is left"
            )
        pieces.append(recording.at_rate(pieces[0].rate) if pieces else recording)
    whole = Recording(np.concatenate([p.samples for p in pieces]), pieces[0].rate)
    if recorded is not None and cut_short(whole.seconds, recorded):
        raise HistoryError(
            f"{label}: the spool holds {whole.seconds:.2f} s of the {recorded:.2f} s recorded "
            f"(a file cut short or missing in {files[0].parent}); {kept}"
        )
    return whole


def missing_parts(numbers: list[int]) -> list[int]:
    """The part numbers missing before the last one: a dictation's parts are 1, 2, ... without a gap."""
    have = set(numbers)
    return [n for n in range(1, max(numbers, default=0) + 1) if n not in have]


def cut_short(seconds: float, expected: float) -> bool:
    """Audio of `seconds` falls short of `expected` by more than encoding can explain (a few frames)."""
    return seconds < expected - max(0.05, expected * 0.02)


def announced_seconds(data: bytes) -> float | None:
    """The length the file's header announces, when it announces one: a WAV's data chunk, or the
    frame count of a format that states it up front (FLAC's STREAMINFO); None when it says nothing."""
    import io

    import soundfile

    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return wav_announced_seconds(data)
    try:
        info = soundfile.info(io.BytesIO(data))
    except (RuntimeError, TypeError, ValueError, soundfile.LibsndfileError):
        return None
    return info.frames / info.samplerate if info.frames > 0 and info.samplerate > 0 else None


def wav_announced_seconds(data: bytes) -> float | None:
    """The seconds a WAV's fmt and data chunks announce (libsndfile believes the file's size instead)."""
    rate = block = None
    at = 12
    while at + 8 <= len(data):
        chunk, size = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "little")
        if chunk == b"fmt " and at + 24 <= len(data):
            rate = int.from_bytes(data[at + 12 : at + 16], "little")
            block = int.from_bytes(data[at + 20 : at + 22], "little")
        elif chunk == b"data":
            if not rate or not block or size in (0, 0xFFFFFFFF):  # unknown: a stream's header
                return None
            return size // block / rate
        at += 8 + size + (size & 1)
    return None


def remove(files: list[Path], *, strict: bool = False) -> None:
    """Delete a dictation's files, part 1 first: parts left without it are known for a removal that died.

    A file that cannot be deleted is a warning (its row says it was removed, so the next open
    deletes it), or with `strict` (no row says so) a HistoryError.
    """
    for path in files:
        try:
            spool.unlink(path)
        except OSError as exc:
            message = f"cannot delete {path}: {exc.strerror or exc}"
            if strict:
                raise HistoryError(message) from None
            log.warning("warning: %s; it is deleted on the next start", message)


def unindexed(spool_dir: Path, named: set[str]) -> list[str]:
    """Keys of the dictations in the spool that are not among `named` (the keys rows name)."""
    try:
        found = spool.scan(spool_dir)
    except OSError:
        return []
    return [key for key in found.dictations if key not in named]
