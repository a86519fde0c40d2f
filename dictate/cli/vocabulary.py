"""`dictate vocabulary`: long vocabulary lists in a file of their own, one entry a line."""

from __future__ import annotations

import argparse
import logging
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
        if args.file:
            _write(Path(args.file), text)
            log.info("%d entries written to %s", len(cfg.text.vocabulary), args.file)
        else:
            sys.stdout.write(text)
        return ExitCode.OK
    if not args.file:
        raise ConfigError("`dictate vocabulary import` needs a FILE: the list to add, one entry a line")
    path = vocabulary_path(cfg, config.config_path(args.config)[0].parent)
    if path is None:
        raise ConfigError('[text] vocabulary_file is empty; set it, e.g. vocabulary_file = "vocabulary.txt"')
    given = read_vocabulary(Path(args.file))
    known = set(cfg.text.vocabulary)
    added = [entry for entry in dict.fromkeys(given) if entry not in known]
    kept = read_vocabulary(path) if path.exists() else []
    _write(path, "".join(f"{entry}\n" for entry in [*kept, *added]))
    log.info(
        "%d new entries added to %s (%d were there already); the vocabulary has %d entries",
        len(added),
        path,
        len(given) - len(added),
        len(known) + len(added),
    )
    return ExitCode.OK


def _write(path: Path, text: str) -> None:
    """Replace the file's content all at once (a crash leaves the old list or the new one, never half)."""
    from dictate.files import replace_file

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, text.encode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
