"""dictate: hold a key, speak, release, and the words appear at the cursor."""

from __future__ import annotations

__version__ = "0.1.0"

# Exit codes (ARCHITECTURE.md): 0 ok, 1 runtime failure, 2 usage or configuration, 130 interrupted.
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class DictateError(Exception):
    """A failure the user can act on: one line of message and an exit code.

    cli.py is the only place that turns these into stderr lines and exit statuses.
    """

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(DictateError):
    """The configuration (file, flags or environment) is wrong."""

    exit_code = EXIT_USAGE
