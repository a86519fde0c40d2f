"""A big spool: how long `dictate history --limit 0` takes, and how long `dictate retry --all` waits
before its first upload and until its 50th, with N failed dictations (10,000 by default) in the spool.

    python -m bench.big_spool [N]

The spool is made once in a temporary home (half-second WAVs through `History.spool`, each marked
failed), then copied for the retry, which the rig's server on 127.0.0.1 answers at once.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.rig import proc
from tests.rig.server import TranscriptionServer

MAKE = r"""
import io, sys, wave
from dictate.store import History
buf = io.BytesIO()
with wave.open(buf, "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000); w.writeframes(b"\x01\x00" * 8000)
with History.open() as h:
    for _ in range(int(sys.argv[1])):
        s = h.spool(buf.getvalue(), source="once"); h.mark_failed(s.id, "connection refused"); h.release(s.id)
"""


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        env = proc.clean_env(home)
        subprocess.run([sys.executable, "-c", MAKE, str(count)], env=env, cwd=proc.ROOT, check=True)
        started = time.monotonic()
        listed = proc.run(["history", "--limit", "0"], env, timeout=600)
        print(f"history --limit 0, {count} rows: {time.monotonic() - started:.1f} s (exit {listed.returncode})")

        copy = Path(folder) / "copy"
        shutil.copytree(home, copy)
        env = proc.clean_env(copy)
        with TranscriptionServer(text="hello world") as server:
            config = copy / "retry.toml"
            config.write_text(
                f'[api]\nengine = "http"\nbase_url = "{server.base_url}"\napi_key = "sk-bench0123456789"\n'
            )
            config.chmod(0o600)
            started = time.monotonic()
            retry = subprocess.Popen(
                proc.dictate_cmd("--config", str(config), "retry", "--all"),
                env=env,
                cwd=proc.ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                server.wait_for_uploads(1, timeout=600)
                print(f"retry --all: first upload after {time.monotonic() - started:.1f} s")
                server.wait_for_uploads(50, timeout=600)
                print(f"retry --all: 50th upload after {time.monotonic() - started:.1f} s")
            finally:
                retry.kill()
                retry.wait()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
