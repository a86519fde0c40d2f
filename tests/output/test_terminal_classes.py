"""The built-in terminal window classes: a leaf of plain data."""

from __future__ import annotations

import ast
from pathlib import Path

from dictate.output import terminal_classes
from dictate.output.terminal_classes import TERMINAL_CLASSES


def test_the_module_imports_nothing() -> None:
    # config and common may import it without a cycle.
    tree = ast.parse(Path(terminal_classes.__file__).read_text())
    assert not [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]


def test_names_are_listed_once_in_any_case() -> None:
    lowered = [name.lower() for name in TERMINAL_CLASSES]
    assert len(set(lowered)) == len(lowered)
    assert {"xterm", "foot", "kitty", "org.gnome.console"} <= set(lowered)
