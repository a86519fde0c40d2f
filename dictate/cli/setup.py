"""Commands that set up and check: `config`, `devices`, `doctor` and `shell-init`."""

from __future__ import annotations

import argparse
import logging
import sys

from dictate.cli.dictating import load_config
from dictate.errors import ConfigError, ExitCode

log = logging.getLogger("dictate")


def cmd_config(args: argparse.Namespace) -> int:
    """Show where the config lives, print it, write a commented one, or check it."""
    from dictate import config

    path, _source = config.config_path(args.config)
    if args.action == "path":
        print(path)
        return ExitCode.OK
    if args.action == "init":
        if path.exists() and not args.force:
            raise ConfigError(
                f"{path} already exists; use `{config.init_command(args.config, force=True)}` to overwrite it"
            )
        from dictate.files import replace_file

        try:  # whole or not at all, 0600: it may come to hold a key
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(path, config.example().encode("utf-8"), 0o600)
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
        log.info("wrote %s", path)
        return ExitCode.OK
    cfg = config.load(args.config)
    _key, key_source = config.api_key(cfg)
    if args.action == "show":
        origin = str(path) if cfg.path else f"defaults ({path} does not exist)"
        print(f"# from {origin}; API key: {'from ' + key_source if _key else 'not set'}")
        print(config.render(cfg), end="")
        return ExitCode.OK
    config.check_endpoint(cfg)
    if cfg.cleanup.enabled or cfg.profiles:
        from dictate.engines.chat import enabled_cleanups

        for cleanup in enabled_cleanups(cfg):
            config.check_endpoint(cfg, cleanup)
    warning = config.insecure_permissions_warning(cfg)
    if warning:
        log.warning("warning: %s", warning)
    where = str(cfg.path) if cfg.path else f"no file at {path}, using defaults"
    print(f"config ok: {where}; API key: {'from ' + key_source if _key else 'not set'}")
    return ExitCode.OK


def cmd_devices(args: argparse.Namespace) -> int:
    """List audio input devices, marking the default with *."""
    from dictate.microphone import input_devices, no_microphone

    devices = input_devices()
    if not devices:
        raise no_microphone()
    width = max(len(d.name) for d in devices)
    for d in devices:
        mark = "*" if d.is_default else " "
        print(f"{mark} {d.index:>3}  {d.name:<{width}}  {d.hostapi}, {d.channels} ch, {d.default_rate:g} Hz")
    return ExitCode.OK


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check microphone, display and output tools, hotkey, config, endpoint and key; say how to fix each."""
    from dictate import config, doctor

    try:
        cfg, problem = load_config(args), None
    except ConfigError as exc:
        cfg, problem = None, exc.message
    checks = doctor.run_checks(cfg, problem, fresh=config.init_command(args.config, force=True))
    failed = doctor.report(checks, lambda line: print(line, flush=True))
    if failed:
        log.error("%d check(s) failed", failed)
        return ExitCode.FAILURE
    return ExitCode.OK


def cmd_shell_init(args: argparse.Namespace) -> int:
    """Print a key binding that inserts a dictated transcript at the shell prompt without running it."""
    from dictate import shellinit

    text = shellinit.snippet(args.shell, shellinit.dictate_command(sys.argv[0], sys.executable), args.key)
    sys.stdout.write(text)
    return ExitCode.OK


def cmd_model(args: argparse.Namespace) -> int:
    """Fetch the local engine's Whisper model ([local] model) now, or show where it lives."""
    from dictate.engines.local import fetch, locate

    cfg = load_config(args)
    name = args.name or cfg.local.model
    if args.action == "path":
        place = locate(name)
        print(place.folder or place.cache)
        if place.folder is None:
            log.info("%s is not downloaded yet; `dictate model fetch` fetches it", name)
        return ExitCode.OK
    folder = fetch(name)
    log.info("model %s is in %s", name, folder)
    return ExitCode.OK
