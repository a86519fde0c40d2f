"""A dictation's audio as its sender holds it: `Spooled`, written part by part, read back whole, deleted.

Nothing here knows about rows: the History pairs each Spooled with its row, or with none when the
database could not index it.
"""

from __future__ import annotations

import logging
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


def read_whole(label: str, files: list[Path]) -> Recording:
    """The parts decoded and joined. EntryStateError when there are none; HistoryError naming the
    dictation (`label`) and the file when one cannot be read or decoded."""
    import numpy as np

    from dictate.audio import Recording, decode
    from dictate.errors import DictateError

    if not files:
        raise EntryStateError(f"{label} has no audio any more")
    pieces: list[Recording] = []
    for path in files:
        try:
            recording = decode(path.read_bytes())
        except OSError as exc:
            raise HistoryError(f"{label}: cannot read {path}: {exc.strerror or exc}") from None
        except DictateError as exc:
            detail = exc.message.removeprefix("audio data: ")
            raise HistoryError(f"{label}: {path} is damaged ({detail}); delete it to give the recording up") from None
        pieces.append(recording.at_rate(pieces[0].rate) if pieces else recording)
    return Recording(np.concatenate([p.samples for p in pieces]), pieces[0].rate)


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
