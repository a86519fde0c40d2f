"""`dictate vocabulary`: long vocabulary lists in a file of their own, one entry a line."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import stat
import sys
from pathlib import Path

from dictate.cli.dictating import load_config
from dictate.errors import ConfigError, ExitCode

log = logging.getLogger("dictate")

WHERE = (
    "Imported entries go to the vocabulary file, [text] vocabulary_file (default vocabulary.txt beside the config "
    "file: `dictate config path` shows where that is), one entry a line; its entries are added to [text] "
    "vocabulary. Export prints every entry of both, one a line, or writes them to FILE."
)


def cmd_vocabulary(args: argparse.Namespace) -> int:
    """Import words and names (one a line) into the vocabulary file, or export the whole vocabulary."""
    from dictate import config
    from dictate.config.loading import read_vocabulary, vocabulary_path

    cfg = load_config(args)
    if args.action == "export":
        text = "".join(f"{entry}\n" for entry in cfg.text.vocabulary)
        if args.file and args.file != "-":
            _export(Path(args.file), text)
            log.info("%d entries written to %s", len(cfg.text.vocabulary), args.file)
        else:
            sys.stdout.write(text)
        return ExitCode.OK
    if not args.file:
        raise ConfigError(
            "`dictate vocabulary import` needs a FILE (or - for stdin): the list to add, one entry a line"
        )
    path = vocabulary_path(cfg, config.config_path(args.config)[0].parent)
    if path is None:
        raise ConfigError('[text] vocabulary_file is empty; set it, e.g. vocabulary_file = "vocabulary.txt"')
    given = list(dict.fromkeys(read_vocabulary(args.file)))
    known = set(cfg.text.vocabulary)
    added = [entry for entry in given if entry not in known]
    kept = read_vocabulary(path) if path.exists() else []
    _write(path, "".join(f"{entry}\n" for entry in [*kept, *added]))
    log.info(
        "%d new entries added to %s (%d already in the vocabulary); the vocabulary has %d entries",
        len(added),
        path,
        len(given) - len(added),
        len(known) + len(added),
    )
    return ExitCode.OK


def _write(path: Path, text: str) -> None:
    """Replace the file's content all at once (a crash leaves the old list or the new one, never half);
    a link is followed, and what is not a regular file is refused (dictate.files.replace_file)."""
    from dictate.files import replace_file

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, text.encode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def _export(path: Path, text: str) -> None:
    """Write the list to `path`: a pipe or a device (/dev/stdout, a FIFO someone reads) is written
    into as it is, never replaced; a file is replaced whole (_write)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = 0
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        _write(path, text)
        return
    try:  # non-blocking: a pipe nobody reads would wait for ever
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        reason = "nobody reads from it" if exc.errno == errno.ENXIO else exc.strerror or str(exc)
        raise ConfigError(f"cannot write {path}: {reason}") from None
    try:
        os.set_blocking(fd, True)
        view = memoryview(text.encode("utf-8"))
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
