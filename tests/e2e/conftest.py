"""Fixtures for end-to-end tests on a virtual X display: the display, a Tk window, an xterm.

When the display cannot start, tests.conftest.rig_unavailable skips them locally and fails them in CI
(DICTATE_REQUIRE_RIG=1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import started
from tests.rig.display import TkTarget, VirtualDisplay, XtermTarget, clear_selections
from tests.rig.usermanager import UserManager
from tests.rig.wayland import FootTarget, HeadlessSway


@pytest.fixture(scope="session")
def xdisplay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualDisplay]:
    yield from started(VirtualDisplay(tmp_path_factory.mktemp("xdisplay")))


@pytest.fixture(scope="session")
def _tk_window(xdisplay: VirtualDisplay, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TkTarget]:
    yield from started(TkTarget(xdisplay, tmp_path_factory.mktemp("tk")))


@pytest.fixture
def tk_window(_tk_window: TkTarget, xdisplay: VirtualDisplay) -> TkTarget:
    """The Tk Text window, empty and focused, with no clipboard owner."""
    clear_selections(xdisplay)
    _tk_window.clear()
    _tk_window.activate()
    return _tk_window


@pytest.fixture(scope="session")
def _xterm_window(xdisplay: VirtualDisplay, tmp_path_factory: pytest.TempPathFactory) -> Iterator[XtermTarget]:
    yield from started(XtermTarget(xdisplay, tmp_path_factory.mktemp("xterm")))


@pytest.fixture
def xterm_window(_xterm_window: XtermTarget, xdisplay: VirtualDisplay) -> XtermTarget:
    """The xterm, focused, its received bytes cleared, with no clipboard owner."""
    clear_selections(xdisplay)
    _xterm_window.activate()
    _xterm_window.clear()
    return _xterm_window


@pytest.fixture
def x_env(xdisplay: VirtualDisplay, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a process on the virtual display (also applied to this one)."""
    env = xdisplay.run_env()
    monkeypatch.setenv("DISPLAY", xdisplay.name)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    return env


@pytest.fixture(scope="session")
def sway() -> Iterator[HeadlessSway]:
    yield from started(HeadlessSway())


@pytest.fixture(scope="session")
def _foot_window(sway: HeadlessSway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FootTarget]:
    yield from started(FootTarget(sway, tmp_path_factory.mktemp("foot")))


@pytest.fixture
def foot_window(_foot_window: FootTarget) -> FootTarget:
    """The foot terminal under headless sway, focused, its received bytes cleared."""
    _foot_window.clear()
    return _foot_window


@pytest.fixture
def manager(env: dict[str, str], tmp_path: Path) -> Iterator[UserManager]:
    """A real `systemd --user` for the test's `env` (each module that uses it says what `env` is)."""
    yield from started(UserManager(env, tmp_path / "systemd.log"))
