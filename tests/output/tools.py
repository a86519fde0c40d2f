"""Stand-in tools for the outputs that run a command: each records its arguments."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path


def make_tool(folder: Path, name: str, body: str = "") -> Path:
    """A stand-in command that records its arguments (one JSON list per line) in folder/NAME.log."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}.log"
    script = folder / name
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n{body}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def calls(folder: Path, name: str) -> list[list[str]]:
    log = folder / f"{name}.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def env_with(bin_dir: Path, **extra: str) -> dict[str, str]:
    bin_dir.mkdir(parents=True, exist_ok=True)
    return {"PATH": str(bin_dir), **extra}
