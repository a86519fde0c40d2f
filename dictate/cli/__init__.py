"""The command line: the grammar (`parser`), the error boundary (`main`), the commands, kept thin
(`dictating`, `recordings`, `setup`), and terminal helpers (`terminal`)."""

from dictate.cli.main import main, run

__all__ = ["main", "run"]
