"""Shell key bindings that insert a dictated transcript at the prompt without running it.

`dictate shell-init SHELL` prints one of these snippets for the user's shell startup file. Each
binds a key to a function that runs `dictate once` (its status line goes to the terminal, only the
transcript comes back on stdout) and edits the line buffer directly: the text is inserted at the
cursor as data, never typed as keystrokes, so nothing in it can press Enter. When `dictate once`
fails, the buffer is left untouched and the prompt is redrawn under the error message.

`snippet` is a pure function of the shell, the command and the key; `dictate_command` looks at how
this process was started and at PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Sequence

from dictate.errors import DictateError, ExitCode

SHELLS = ("bash", "zsh", "fish")

# Ctrl-X Ctrl-V in each shell's own notation.
DEFAULT_KEYS = {"bash": r"\C-x\C-v", "zsh": "^X^V", "fish": r"\cx\cv"}

# What a key sequence may contain, per shell: the notation's escapes, and plain characters that mean
# nothing to the shell where the key lands in the snippet. Quotes, `$`, backquotes, spaces and a lone
# backslash never pass, so a key can neither end its quoting nor smuggle in code.
_CTRL = r"[A-Za-z@\[\]^_?]"
_META = rf"M-(?:\\C-{_CTRL}|[A-Za-z0-9.,/;=+~_-])"
_NUMERIC = r"[0-7]{1,3}|x[0-9A-Fa-f]{1,2}"
_PLAIN = r"[A-Za-z0-9\[\]~;,./=+_@-]"
# fish gets the key as an unquoted word: brackets and the like only escaped, `~` never first
_FISH_TOKEN = rf"\\(?:c[A-Za-z]|e|{_NUMERIC}|[\[\]~;^?*#(){{}}<>&|$%])|[A-Za-z0-9,._@=+/-]"
_KEY_PATTERNS = {
    "bash": rf"(?:\\(?:C-{_CTRL}|{_META}|e|{_NUMERIC})|{_PLAIN})+",  # readline, in '"KEY": ...'
    "zsh": rf"(?:\^{_CTRL}|\\(?:C-{_CTRL}|{_META}|[eE]|{_NUMERIC})|{_PLAIN})+",  # bindkey, in 'KEY'
    "fish": rf"(?:{_FISH_TOKEN})(?:{_FISH_TOKEN}|~)*",
}
_EXAMPLES = {
    "bash": r"readline notation such as \C-x\C-v, \ev or \C-g",
    "zsh": r"bindkey notation such as ^X^V, \ev or ^G",
    "fish": r"bind notation such as \cx\cv, \ev or \cg",
}
MAX_KEY_LENGTH = 64


class BadKey(DictateError):
    """A --key that is not a key sequence in the shell's notation, or not safe to embed."""

    exit_code = ExitCode.USAGE


def check_key(shell: str, key: str) -> str:
    """Return `key` if it is a key sequence in `shell`'s notation that is safe to embed; raise BadKey."""
    if not key or len(key) > MAX_KEY_LENGTH or not re.fullmatch(_KEY_PATTERNS[shell], key):
        shown = key if key.isprintable() else repr(key)[1:-1]
        raise BadKey(f'invalid --key for {shell}: "{shown}"; use {_EXAMPLES[shell]}')
    return key


def dictate_command(argv0: str, executable: str, *, safe_path: bool = sys.version_info >= (3, 11)) -> list[str]:
    """How the snippet runs dictate: the program that printed it, else `dictate` on PATH."""
    name = os.path.basename(argv0)
    if name == "__main__.py" and os.path.basename(os.path.dirname(argv0)) == "dictate":
        # Started as `python -m dictate`. -P keeps a dictate/ folder in the current directory,
        # wherever the key is pressed, from shadowing the installed package.
        return [executable, "-P", "-m", "dictate"] if safe_path else [executable, "-m", "dictate"]
    if name.startswith("dictate"):
        found = shutil.which(argv0)
        if found:
            # Not symlink-resolved: ~/.local/bin/dictate keeps working when the venv behind it moves.
            return [os.path.abspath(found)]
    found = shutil.which("dictate")
    return [found] if found else ["dictate"]


_UNQUOTED = re.compile(r"[A-Za-z0-9_@+:,./-]+")  # means itself in every shell here, in any position


def sh_quote(word: str) -> str:
    """Quote a word for bash or zsh (not shlex.quote: it leaves `=word` bare, which zsh expands)."""
    if _UNQUOTED.fullmatch(word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def fish_quote(word: str) -> str:
    """Quote a word for fish, whose single quotes still treat \\\\ and \\' as escapes."""
    if _UNQUOTED.fullmatch(word):
        return word
    return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"


def snippet(shell: str, command: Sequence[str], key: str | None = None) -> str:
    """The text to evaluate in `shell`'s startup file."""
    if shell not in SHELLS:
        raise ValueError(f"unsupported shell {shell!r}")
    key = check_key(shell, key if key is not None else DEFAULT_KEYS[shell])
    if shell == "fish":
        return _fish(" ".join(fish_quote(w) for w in command), key)
    line = " ".join(sh_quote(w) for w in command)
    return _bash(line, key) if shell == "bash" else _zsh(line, key)


def _bash(command: str, key: str) -> str:
    # bind -x runs the function with the terminal as stdin and stderr, after readline cleared the
    # prompt's last line, and redraws that line afterwards wherever the cursor is. Bash 5.0 and
    # later count READLINE_POINT in characters, bash 4 in bytes: there the slicing is done in the
    # C locale, where both agree. The INT trap lets Ctrl-C stop dictate without discarding the line.
    return f"""\
# dictate: press {key} to speak; the transcript is inserted at the cursor, never run.
# In ~/.bashrc:  eval "$(dictate shell-init bash)"
__dictate_insert() {{
    local text code saved
    saved=$(trap -p INT)
    trap : INT
    text=$(command {command} once)
    code=$?
    trap - INT
    eval "$saved"
    ((code == 0)) || return 0
    text=${{text//[[:cntrl:]]/ }}
    [[ -n $text ]] || return 0
    if ((BASH_VERSINFO[0] < 5)); then
        local LC_ALL=C
    fi
    READLINE_LINE=${{READLINE_LINE:0:READLINE_POINT}}$text${{READLINE_LINE:READLINE_POINT}}
    READLINE_POINT=$((READLINE_POINT + ${{#text}}))
}}
if [[ $- == *i* ]]; then
    bind -m emacs -x '"{key}": __dictate_insert'
    bind -m vi-insert -x '"{key}": __dictate_insert'
fi
"""


def _zsh(command: str, key: str) -> str:
    # ZLE runs widgets with stdin from /dev/null: dictate gets the terminal so Enter stops it. Its
    # status line overwrites the prompt's last line; reset-prompt redraws the whole prompt upwards
    # from the cursor, so after a failure, whose message moved the cursor down, the prompt's other
    # lines get room first. emulate -L makes the INT trap local: Ctrl-C stops dictate, not the line.
    return f"""\
# dictate: press {key} to speak; the transcript is inserted at the cursor, never run.
# In ~/.zshrc:  eval "$(dictate shell-init zsh)"
__dictate_insert() {{
    emulate -L zsh
    local text breaks
    trap : INT
    if text=$(command {command} once </dev/tty); then
        text=${{text//[[:cntrl:]]/ }}
        LBUFFER+=$text
    else
        breaks=${{(%)PS1}}
        breaks=${{breaks//[^$'\\n']/}}
        print -rn -- $breaks >/dev/tty
    fi
    zle reset-prompt
}}
if [[ -o interactive ]]; then
    zle -N __dictate_insert
    bindkey -M emacs -- '{key}' __dictate_insert
    bindkey -M viins -- '{key}' __dictate_insert
fi
"""


def _fish(command: str, key: str) -> str:
    # The repaint is queued first so it also happens when Ctrl-C cancels the function. A command
    # substitution splits lines into a list: they are joined, so a stray newline becomes a space
    # (dictate once prints one line already). After a failure the prompt's other lines get room,
    # as for zsh. `commandline -i` inserts at the cursor.
    return f"""\
# dictate: press {key} to speak; the transcript is inserted at the cursor, never run.
# In ~/.config/fish/config.fish:  dictate shell-init fish | source
function __dictate_insert --description 'Insert a dictated transcript at the cursor'
    commandline -f repaint
    set -l text
    if set text (command {command} once)
        set text (string join ' ' -- $text | string replace -ra '[\\x00-\\x1f\\x7f-\\x9f]' ' ')
        commandline -i -- "$text"
    else
        set -l prompt (fish_prompt)
        string repeat -N -n (math (count $prompt) - 1) \\n >/dev/tty
    end
end
if status is-interactive
    bind -- {key} __dictate_insert
    bind -M insert -- {key} __dictate_insert
end
"""
