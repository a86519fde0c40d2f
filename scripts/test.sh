#!/usr/bin/env bash
# Run the whole test suite on a Debian/Ubuntu machine: installs what the tests need (system packages,
# a virtual environment in .venv), then lint, type check and pytest. The tests start their own
# services: a PulseAudio virtual microphone, Xvfb displays with a window manager, a local
# transcription server. DICTATE_REQUIRE_RIG=1 turns any rig test that cannot run into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_packages \
    libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins flite ffmpeg \
    xvfb openbox xdotool xclip xsel xterm x11-xserver-utils x11-utils libnotify-bin \
    sway foot wtype wl-clipboard tmux zsh fish bash-completion systemd libglib2.0-bin
PY=$(find_python)
ensure_venv_support "$PY"
"$PY" -c 'import tkinter' 2>/dev/null || ensure_packages python3-tk

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

export DICTATE_REQUIRE_RIG=1
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# Three workers, each with its own rig (microphone, displays, servers): the e2e tests mostly wait on
# speech played in real time, so three fit on two cores (16 min in one process, 7 in three here).
# Give `-n 0` to run in one process.
.venv/bin/python -m pytest -n 3 "$@"
