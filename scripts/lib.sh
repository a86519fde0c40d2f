# Shared by install.sh and test.sh: install Debian/Ubuntu packages that are missing.

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "dictate: need root to install packages: $*" >&2; return 1
    fi
}

# ensure_packages PKG... : apt-get install only what dpkg does not already have.
ensure_packages() {
    missing=""
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    if ! command -v apt-get >/dev/null; then
        echo "dictate: please install these packages with your package manager:$missing" >&2
        return 1
    fi
    echo "dictate: installing$missing" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# A Python 3.10+ that can make virtual environments.
find_python() {
    for py in python3 python3.13 python3.12 python3.11 python3.10; do
        if command -v "$py" >/dev/null && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
            echo "$py"; return 0
        fi
    done
    echo "dictate: Python 3.10 or newer is needed (apt-get install python3)" >&2
    return 1
}

ensure_venv_support() {
    "$1" -c 'import venv, ensurepip' 2>/dev/null || ensure_packages python3-venv
}
