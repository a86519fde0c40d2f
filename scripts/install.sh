#!/usr/bin/env bash
# Set up dictate on a Debian/Ubuntu machine and start dictating: installs the system packages that
# are missing (PortAudio, and on Wayland the typing/clipboard tools), puts dictate in its own
# virtual environment with a `dictate` command in ~/.local/bin, writes a starter config, installs
# tab completion for bash, zsh and fish, and starts the push-to-talk daemon as a service that
# starts again with every desktop session (a systemd user unit; an XDG autostart entry where there
# is no systemd). Safe to run again.
#
# With an API key in the environment (OPENAI_API_KEY or DICTATE_API_KEY) dictate stores it
# (`dictate key set`: a file only you can read) and sends audio to the endpoint. Without one, or
# with --local, it installs Whisper for this machine (the [local] extra) and fetches its model once,
# with progress. Other arguments go to `dictate service install` (e.g. --no-hotkey on Wayland).
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

forced=0
args=()
for arg in "$@"; do
    if [ "$arg" = "--local" ]; then forced=1; else args+=("$arg"); fi
done
local_engine=$forced
[ -n "${DICTATE_API_KEY:-}${OPENAI_API_KEY:-}" ] || local_engine=1

venv="${XDG_DATA_HOME:-$HOME/.local/share}/dictate/venv"
[ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
if [ "$local_engine" = 1 ]; then
    echo "dictate: installing Whisper for this machine (no API key given, or --local)" >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade ".[local]"
else
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade .
fi
mkdir -p "$HOME/.local/bin"
ln -sf "$venv/bin/dictate" "$HOME/.local/bin/dictate"
echo "dictate: installed $HOME/.local/bin/dictate" >&2

config=$("$venv/bin/dictate" config path)
[ -e "$config" ] || "$venv/bin/dictate" config init
if [ "$forced" = 1 ]; then
    # --local: the commented default `# engine = "auto"` becomes a setting, so a key changes nothing.
    grep -qE '^\s*engine\s*=' "$config" || sed -i 's/^# engine = "auto"$/engine = "local"/' "$config"
fi
[ "$local_engine" = 1 ] && "$venv/bin/dictate" model fetch

# The key given now is kept for every shell and session to come (the daemon's service among them).
key="${DICTATE_API_KEY:-${OPENAI_API_KEY:-}}"
if [ -n "$key" ]; then
    printf '%s' "$key" | env -u DICTATE_API_KEY -u OPENAI_API_KEY "$venv/bin/dictate" key set
fi
"$venv/bin/dictate" completion --install || echo "dictate: tab completion was not installed" >&2

# Started now and with every desktop session, instead of holding this terminal.
service=0
"$venv/bin/dictate" service install "${args[@]}" || service=$?

case ":$PATH:" in
    *":$HOME/.local/bin:"*) ;;
    *)
        case "$(basename "${SHELL:-bash}")" in
            zsh) fix="echo 'export PATH=\"\$HOME/.local/bin:\$PATH\"' >> ~/.zshrc && exec zsh" ;;
            fish) fix="fish_add_path ~/.local/bin" ;;
            *) fix="echo 'export PATH=\"\$HOME/.local/bin:\$PATH\"' >> ~/.bashrc && exec bash" ;;
        esac
        echo "dictate: ~/.local/bin is not on your PATH, so \`dictate\` is not found yet; run: $fix" >&2 ;;
esac
if [ "$service" = 0 ]; then
    echo "dictate: hold Ctrl+Alt+Space, speak, release. \`dictate service status\` says where its log is." >&2
fi
exit "$service"
