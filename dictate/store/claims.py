"""Claims: which process is sending a dictation, so the daemon and `dictate retry` never both send it.

A claim is an flock on the dictation's first audio file, held for as long as its sender sends it.
The process that spools a dictation holds it from its first write (the lock taken on the temp file
stays with the file through the rename); another process takes a free one with `take`. The kernel
drops the lock when its process dies, however it dies, and only then: a claim never expires while
its sender is alive, and a reused pid cannot make a dead sender look alive. Claims need no
database, so they hold while the history database cannot be used.

(The claimed_pid and claimed_at columns of the first design stay in the schema, unused.)
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from dictate.store import spool


class Claims:
    """The claims one History holds, by dictation key; safe across threads."""

    def __init__(self) -> None:
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def holds(self, key: str) -> bool:
        with self._lock:
            return key in self._held

    def keep(self, key: str, fd: int) -> None:
        """Hold the lock already taken on the descriptor `fd` as the claim on `key`."""
        with self._lock:
            old = self._held.pop(key, None)
            self._held[key] = fd
        if old is not None:
            _close(old)

    def take(self, key: str, first: Path) -> bool:
        """Claim the dictation whose first file is `first`: True when this History holds it now
        (or held it already), False when a live process holds it or the file is gone."""
        with self._lock:
            if key in self._held:
                return True
            fd = spool.try_lock(first)
            if fd is None:
                return False
            self._held[key] = fd
            return True

    def release(self, key: str) -> None:
        with self._lock:
            fd = self._held.pop(key, None)
        if fd is not None:
            _close(fd)

    def release_all(self) -> None:
        with self._lock:
            held, self._held = self._held, {}
        for fd in held.values():
            _close(fd)


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
