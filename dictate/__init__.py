"""dictate: hold a key, speak, release, and the words appear at the cursor."""

from __future__ import annotations

from dictate.errors import ConfigError, DictateError, ExitCode

__version__ = "0.1.0"
__all__ = ["ConfigError", "DictateError", "ExitCode", "__version__"]
