"""The texts `dictate service` writes: a systemd user unit and an XDG autostart entry, each with the
command quoted by its own file format's rules (pure text: nothing here touches the system)."""

from __future__ import annotations

import re

from dictate.errors import DictateError

UNIT_NAME = "dictate.service"
HEADER = "# Written by `dictate service install`; `dictate service uninstall` removes it."

# Words that mean themselves on a unit's command line and in a desktop entry's Exec key.
_PLAIN = re.compile(r"[A-Za-z0-9_@+:,./=-]+")


def _printable(word: str) -> str:
    if not word or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in word):
        raise DictateError(f"cannot write {word!r} into a service file: it is empty or holds a control character")
    return word


def systemd_quote(word: str) -> str:
    """One word of a unit's ExecStart: double-quoted when it is not plain, with \\ and " escaped, and
    the unit's own expansions disarmed (% specifiers as %%, $VARIABLE as $$)."""
    _printable(word)
    word = word.replace("%", "%%").replace("$", "$$")
    if _PLAIN.fullmatch(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def desktop_quote(word: str) -> str:
    """One argument of a desktop entry's Exec key (the Desktop Entry Specification's quoting, before
    the string escapes of the whole value): % as %%; double-quoted when it is not plain, with
    " ` $ and \\ escaped by a backslash."""
    _printable(word)
    word = word.replace("%", "%%")
    if _PLAIN.fullmatch(word):
        return word
    return '"' + re.sub(r'(["`$\\\\])', r"\\\1", word) + '"'


def unit_text(command: list[str], run_options: tuple[str, ...] = ()) -> str:
    """The systemd user unit: `command run` with the graphical session, restarted when it fails (not
    after a configuration error, exit 2, which a restart cannot mend, nor in a tight loop)."""
    exec_start = " ".join(systemd_quote(word) for word in [*command, "run", *run_options])
    return f"""{HEADER}
[Unit]
Description=dictate: push-to-talk dictation
PartOf=graphical-session.target
After=graphical-session.target
StartLimitIntervalSec=300
StartLimitBurst=5

[Service]
Type=simple
ExecStart={exec_start}
Restart=on-failure
RestartSec=5
RestartPreventExitStatus=2

[Install]
WantedBy=graphical-session.target
"""


def autostart_text(command: list[str], run_options: tuple[str, ...] = ()) -> str:
    """The XDG autostart entry: `command service start`, which starts the daemon in the background with
    its log in the state folder."""
    arguments = " ".join(desktop_quote(word) for word in [*command, "service", "start", *run_options])
    exec_value = arguments.replace("\\", "\\\\")  # the string escapes apply to the whole value first
    return f"""{HEADER}
[Desktop Entry]
Type=Application
Name=dictate
Comment=Push-to-talk dictation: hold a key, speak, release
Exec={exec_value}
Terminal=false
NoDisplay=true
X-GNOME-Autostart-enabled=true
"""
