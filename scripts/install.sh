#!/usr/bin/env bash
# Set up dictate on a Debian/Ubuntu machine and start dictating: installs the system packages that
# are missing (PortAudio, and on Wayland the typing/clipboard tools), puts dictate in its own
# virtual environment with a `dictate` command in ~/.local/bin, writes a starter config, then runs
# the push-to-talk daemon. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

# X11 typing and pasting go through python-xlib (installed with dictate); Wayland needs its tools.
packages="libportaudio2 libnotify-bin"
case "${XDG_SESSION_TYPE:-}${WAYLAND_DISPLAY:+wayland}" in
    *wayland*) packages="$packages wtype wl-clipboard" ;;
esac
# shellcheck disable=SC2086
ensure_packages $packages
PY=$(find_python)
ensure_venv_support "$PY"

venv="${XDG_DATA_HOME:-$HOME/.local/share}/dictate/venv"
[ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade .
mkdir -p "$HOME/.local/bin"
ln -sf "$venv/bin/dictate" "$HOME/.local/bin/dictate"
echo "dictate: installed $HOME/.local/bin/dictate" >&2

config=$("$venv/bin/dictate" config path)
[ -e "$config" ] || "$venv/bin/dictate" config init
if [ -z "${DICTATE_API_KEY:-}${OPENAI_API_KEY:-}" ] && ! grep -qE '^\s*api_key\s*=\s*"[^"]' "$config"; then
    echo "dictate: no API key found: export OPENAI_API_KEY=... (or DICTATE_API_KEY), or point [api] base_url in" >&2
    echo "         $config at a local server that needs none." >&2
fi
exec "$venv/bin/dictate" run "$@"
