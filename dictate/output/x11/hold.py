"""Keeping selections served after we exit: a detached helper process (`python -m dictate.output.x11.hold`)
takes the contents as JSON on stdin and serves them until another client takes every selection."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import subprocess
import sys
from collections.abc import Mapping

from dictate.errors import DictateError
from dictate.output.x11.selection import Contents
from dictate.output.x11.selection_server import SelectionServer


def hold_selections(display_name: str | None, selections: Mapping[str, Contents], timeout: float = 5.0) -> None:
    """Hand selection contents to a detached helper process that serves them after we are gone."""
    payload = {
        name: {target: [kind, fmt, base64.b64encode(v).decode() if fmt == 8 else list(v)]
               for target, (kind, fmt, v) in contents.items()}
        for name, contents in selections.items()
    }  # fmt: skip
    env = dict(os.environ)
    if display_name:
        env["DISPLAY"] = display_name
    helper = subprocess.Popen(
        [sys.executable, "-m", "dictate.output.x11.hold"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, env=env, start_new_session=True, close_fds=True,
    )  # fmt: skip
    assert helper.stdin is not None and helper.stdout is not None
    try:
        helper.stdin.write(json.dumps(payload).encode())
        helper.stdin.close()
        ready, _, _ = select.select([helper.stdout], [], [], timeout)
        line = helper.stdout.readline() if ready else b""
    finally:
        helper.stdout.close()
    if line.strip() != b"ready":
        with contextlib.suppress(OSError):
            helper.kill()
        raise DictateError("the clipboard helper did not start; the previous clipboard was not restored")


def main() -> int:
    """Serve the selections given on stdin; say "ready" on stdout once they are ours, "failed" if not."""
    payload = json.loads(sys.stdin.buffer.read())
    selections = {
        name: {target: (kind, fmt, base64.b64decode(v) if fmt == 8 else tuple(v))
               for target, (kind, fmt, v) in contents.items()}
        for name, contents in payload.items()
    }  # fmt: skip
    server = SelectionServer(None, selections)
    taken = []

    def announce(ok: bool) -> None:
        taken.append(ok)
        sys.stdout.write("ready\n" if ok else "failed\n")
        sys.stdout.flush()
        sys.stdout.close()

    server.serve_until_lost(announce)
    return 0 if taken == [True] else 1


if __name__ == "__main__":
    sys.exit(main())
