"""Commands that make dictate part of every day: `key` (the stored API key), `service` (the daemon
started with the desktop session) and `completion` (the shells' tab completion)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dictate.errors import ConfigError, DictateError, ExitCode

log = logging.getLogger("dictate")

SHELLS = ("bash", "zsh", "fish")


def cmd_key(args: argparse.Namespace) -> int:
    """Store the API key (read from stdin, or a hidden prompt), remove it, or print where it is kept."""
    from dictate.config import keyfile

    if args.action == "path":
        print(keyfile.key_path())
        return ExitCode.OK
    if args.action == "clear":
        removed = keyfile.remove_key()
        log.info("removed the stored key %s" if removed else "no key is stored (%s does not exist)", keyfile.key_path())
        return ExitCode.OK
    from dictate.config.secrets import clean_key

    source = "the prompt" if sys.stdin is not None and sys.stdin.isatty() else "standard input"
    key = clean_key(_read_key(), source)
    if not key:
        raise ConfigError(f'no key on {source}; nothing stored (pipe it in: `printf %s "$KEY" | dictate key set`)')
    path = keyfile.write_key(key)
    log.info("key stored in %s (readable only by you)", path)
    winner = _variable_that_wins(args)
    if winner:
        log.warning("note: $%s is set in this shell and is used before the stored key", winner)
    return ExitCode.OK


def _read_key() -> str:
    """The key from a hidden prompt on a terminal, else all of stdin (up to a bound)."""
    from dictate.config.keyfile import MAX_KEY_BYTES

    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        import getpass

        try:
            return getpass.getpass("API key (not shown): ", stream=sys.stderr)
        except EOFError:
            return ""
    data = sys.stdin.buffer.read(MAX_KEY_BYTES + 1)
    if len(data) > MAX_KEY_BYTES:
        raise ConfigError(f"standard input holds over {MAX_KEY_BYTES} bytes: that is not a key; nothing stored")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("standard input is not text: that is not a key; nothing stored") from None


def _variable_that_wins(args: argparse.Namespace) -> str | None:
    """The environment variable whose key is used before the stored one, if one is set."""
    from dictate import config

    try:
        name = config.load(args.config).api.api_key_env
    except DictateError:
        name = "OPENAI_API_KEY"
    for variable in ("DICTATE_API_KEY", name):
        if variable and os.environ.get(variable, "").strip():
            return variable
    return None


def cmd_service(args: argparse.Namespace) -> int:
    """Start the daemon with your desktop session (systemd user unit, else XDG autostart): install, uninstall,
    start, stop, status."""
    from dictate.service import Service, dictate_command

    service = Service(dictate_command(_config_given(args)), run_options=("--no-hotkey",) if args.no_hotkey else ())
    if args.action == "status":
        for line in service.status():
            print(line)
        return ExitCode.OK
    if args.action == "uninstall":
        service.uninstall()
        return ExitCode.OK
    actions: dict[str, Callable[[], bool]] = {
        "install": lambda: service.install("systemd" if args.systemd else "autostart" if args.autostart else "auto"),
        "start": service.start,
        "stop": service.stop,
    }
    return ExitCode.OK if actions[args.action]() else ExitCode.FAILURE


def _config_given(args: argparse.Namespace) -> str | None:
    """The config file to pass on to the service when it is not the default one (--config or $DICTATE_CONFIG)."""
    from dictate.config import config_path

    path, source = config_path(args.config)
    return None if source == "default location" else str(path)


def cmd_completion(args: argparse.Namespace) -> int:
    """Print tab completion for bash, zsh or fish, generated from the command line's grammar, or install it."""
    if args.install:
        from dictate.service import write_file

        if args.shell:
            raise ConfigError("give a shell to print its completion, or --install for all three, not both")
        for shell in SHELLS:
            path = completion_path(shell)
            write_file(path, completion_script(shell))
            log.info("%s completion: %s", shell, path)
        folder = completion_path("zsh").parent
        log.info("zsh finds it with this line before compinit in ~/.zshrc: fpath=(%s $fpath)", folder)
        return ExitCode.OK
    if not args.shell:
        raise ConfigError("which shell? `dictate completion bash|zsh|fish` (or --install for all three)")
    sys.stdout.write(completion_script(args.shell))
    return ExitCode.OK


def completion_path(shell: str, environ: Mapping[str, str] = os.environ) -> Path:
    """Where each shell looks for a user's completions: bash-completion's user folder, a folder for
    zsh's fpath, fish's completions folder."""
    from dictate.config import config_dir, data_dir

    data, config = data_dir(environ).parent, config_dir(environ).parent
    if shell == "bash":
        user_dir = environ.get("BASH_COMPLETION_USER_DIR")
        return (Path(user_dir) if user_dir else data / "bash-completion") / "completions" / "dictate"
    if shell == "zsh":
        return data / "zsh" / "site-functions" / "_dictate"
    return config / "fish" / "completions" / "dictate.fish"


def completion_script(shell: str) -> str:
    """The completion script for `shell`, made by shtab from the parser; file names complete where a
    FILE or PATH is asked for."""
    import shtab

    from dictate.cli.parser import build_parser

    parser = build_parser()
    _mark_paths(parser, shtab.FILE)
    script: str = shtab.complete(parser, shell)
    return script if script.endswith("\n") else script + "\n"


def _mark_paths(parser: argparse.ArgumentParser, files: Any) -> None:
    """Tell shtab which arguments are file names (their metavar says so), in every subcommand."""
    for action in parser._actions:
        if action.metavar in ("FILE", "PATH"):
            action.complete = files  # type: ignore[attr-defined]
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _mark_paths(sub, files)


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add `key`, `service` and `completion` to the parser (`command` is the parser's own helper)."""
    p = command("key", cmd_key)
    p.add_argument(
        "action",
        choices=("set", "clear", "path"),
        help="set: store the key (from stdin, or a hidden prompt); clear: remove it; path: print where it is kept",
    )
    p = command("service", cmd_service)
    p.add_argument(
        "action",
        choices=("install", "uninstall", "start", "stop", "status"),
        help="install: write, enable and start it; uninstall: stop and remove it; start, stop; "
        "status: what is installed and running, and where the log is",
    )
    kind = p.add_mutually_exclusive_group()
    kind.add_argument(
        "--systemd", action="store_true", help="with install: the systemd user unit, even if no manager answers now"
    )
    kind.add_argument("--autostart", action="store_true", help="with install: the XDG autostart entry")
    p.add_argument(
        "--no-hotkey",
        action="store_true",
        help="with install and start: the daemon runs `dictate run --no-hotkey` (bind `dictate ctl toggle` instead)",
    )
    p = command("completion", cmd_completion)
    p.add_argument("shell", nargs="?", choices=SHELLS, help="the shell to complete in")
    p.add_argument("--install", action="store_true", help="write all three where the shells find them, and say where")
