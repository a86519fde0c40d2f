"""Fixtures of the output tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A folder for stand-in tools (tests.output.tools.make_tool); env_with puts only it on PATH."""
    return tmp_path / "bin"
