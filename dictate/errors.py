"""Errors a user can act on, the exit codes, and the one formatter that turns any exception into a line.

Every place that reports a failure (the command line, the daemon's and the note taker's workers)
calls `describe`, so every message is one line and goes through the same redaction: the exact value
of every secret registered with `add_secret` (the API keys in use) and any long piece of one, plus
anything shaped like a provider's key, is masked before the text is cut or shown.
"""

from __future__ import annotations

import enum
import re
import threading


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # runtime: network, device, server
    USAGE = 2  # usage or configuration
    INTERRUPTED = 130


class DictateError(Exception):
    """A failure the user can act on: one line of message and an exit code."""

    exit_code: int = ExitCode.FAILURE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(DictateError):
    """The configuration (file, flags or environment) is wrong."""

    exit_code = ExitCode.USAGE


class DeviceError(DictateError):
    """A device (the microphone, the display) is missing or does not answer: what is wrong, and what
    to do. The message is both in one line; `dictate doctor` shows them apart."""

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(f"{what}; {fix}")
        self.what = what
        self.fix = fix


# ---- secrets ---------------------------------------------------------------------------------------

MASK = "***"
# The shortest piece of a secret that is masked where it appears on its own (an echo cut short).
MIN_PIECE = 8
# Keys of the common providers, even when not the one in use: sk-... (OpenAI), gsk_... (Groq), and the like.
_KEY_SHAPES = re.compile(r"(?<![A-Za-z0-9])(sk|gsk|pk|rk|xai)([-_])[A-Za-z0-9_\-]{12,}")
# What a key's characters may be; a masked piece is widened to the run of these around it.
_TOKEN_CHAR = re.compile(r"[A-Za-z0-9_\-]")

_secrets: set[str] = set()
_lock = threading.Lock()


def add_secret(value: str | None) -> None:
    """Mask `value` (and any long piece of it) in every message from now on."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str, *, shapes: bool = True) -> str:
    """`text` with every registered secret and every piece of one of MIN_PIECE characters or more
    replaced by ***; with `shapes`, also anything shaped like a provider's key."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = _mask_pieces(text, secret)
    return _KEY_SHAPES.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text) if shapes else text


def _mask_pieces(text: str, secret: str) -> str:
    size = min(MIN_PIECE, len(secret))
    hit = [False] * len(text)
    for start in range(len(secret) - size + 1):
        piece = secret[start : start + size]
        at = text.find(piece)
        while at != -1:
            hit[at : at + size] = [True] * size
            at = text.find(piece, at + 1)
    if not any(hit):
        return text
    # A piece found stands for the whole token around it (the rest of a key cut short, say).
    for index in range(1, len(text)):
        if hit[index - 1] and not hit[index] and _TOKEN_CHAR.match(text[index]):
            hit[index] = True
    for index in range(len(text) - 2, -1, -1):
        if hit[index + 1] and not hit[index] and _TOKEN_CHAR.match(text[index]):
            hit[index] = True
    out: list[str] = []
    for index, char in enumerate(text):
        if not hit[index]:
            out.append(char)
        elif index == 0 or not hit[index - 1]:
            out.append(MASK)
    return "".join(out)


# ---- the formatter ---------------------------------------------------------------------------------


def describe(exc: BaseException) -> str:
    """One redacted line for any exception: the message of a DictateError, else its type and text."""
    if isinstance(exc, DictateError):
        message = exc.message
    else:
        detail = str(exc).strip()
        message = f"unexpected {type(exc).__name__}" + (f": {detail}" if detail else "")
        message += " (run with --debug for a traceback)"
    return " ".join(redact(message).split())


def exit_code(exc: BaseException) -> int:
    if isinstance(exc, DictateError):
        return int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.FAILURE
