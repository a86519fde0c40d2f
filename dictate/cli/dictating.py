"""Commands that listen: `run` (the daemon), `ctl` (talk to it), `notes` and `once`."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from dictate.errors import ConfigError, DeviceError, DictateError, ExitCode, describe

if TYPE_CHECKING:
    from dictate.config import Config

log = logging.getLogger("dictate")


def load_config(args: argparse.Namespace) -> Config:
    from dictate import config

    return config.load(args.config)


def cmd_run(args: argparse.Namespace) -> int:
    """Run the push-to-talk daemon: hold the hotkey, speak, release; the text appears at the cursor."""
    import numpy as np

    from dictate import control, hotkey
    from dictate.audio import Recording, encode
    from dictate.cues import Cues
    from dictate.daemon import Daemon
    from dictate.dictation import Pipeline, open_history
    from dictate.engines import open_engine
    from dictate.focus import FocusReader
    from dictate.hotkey.listener import HotkeyListener
    from dictate.microphone import check_microphone
    from dictate.output import choose_output
    from dictate.output.outputs import Outputs
    from dictate.session import check_devices

    cfg = load_config(args)
    keys = hotkey.parse_hotkey(cfg.hotkey.keys)
    cancel = hotkey.parse_hotkey(cfg.hotkey.cancel) if cfg.hotkey.cancel else None
    if cancel is not None and cancel.keys <= keys.keys:
        raise ConfigError(f"[hotkey] cancel {cancel} is part of [hotkey] keys {keys}; choose another cancel key")
    socket_path = control.socket_path(create=True)  # a private runtime folder, or a refusal before anything
    engine = open_engine(cfg)
    output, why = choose_output(cfg.output)
    engine.prepare()  # the local model is loaded once, now, and kept
    history = open_history(cfg)
    cues = Cues(cfg.feedback.sounds, cfg.feedback.notify, cfg.feedback.volume)
    # Check the devices now, each problem one line, rather than fail at the first press; this pays the
    # first-use costs too: PortAudio scans the devices when loaded (most of a second), the output
    # connects to the display, the encoder loads.
    microphone = check_microphone(cfg.audio.device)
    check_devices(output, hotkey=not args.no_hotkey)
    # A profile may ask for another output: chosen at its first dictation, its display checked the same way.
    outputs = Outputs(check=lambda other: check_devices(other, hotkey=False))
    outputs.add(cfg.output, output, why)  # prepared: it connects now, not at the first release
    encode(Recording(np.zeros(1600, dtype=np.int16), cfg.audio.sample_rate), cfg.api.format)
    focus = FocusReader()  # the focused window at each press chooses the dictation's profile
    focus.prepare()
    pipeline = Pipeline(cfg, engine, history, focus=focus.window_class)
    daemon = Daemon(cfg, pipeline, output, cues)
    daemon.output_for = lambda settings: outputs.get(settings)[0]
    listener = None
    if not args.no_hotkey:
        listener = HotkeyListener(hotkey.HotkeyState(keys, cfg.hotkey.mode, cancel), daemon.post)
        daemon.modifiers_down = listener.modifiers_down
        daemon.listener_alive = lambda: listener.alive
    server = control.ControlServer(socket_path, daemon.command, follow=daemon.feed.follow)
    server.start()
    daemon.upkeep = server.keep
    try:
        if listener is not None:
            listener.start()
            how = ("hold" if cfg.hotkey.mode == "hold" else "press") + f" {keys} to dictate"
            how += f", {cancel} cancels" if cancel else ""
        else:
            how = "no hotkey; use `dictate ctl toggle`"
        log.debug("microphone: %s; engine: %s; output: %s", microphone, engine.name, why)
        daemon.run(ready=lambda: log.info("ready: %s", how))
    finally:
        closers = [listener.stop] if listener is not None else []
        for close in [*closers, server.close, engine.close, pipeline.close, focus.close, outputs.close]:
            try:  # each, whatever the one before did (a display gone makes its closing fail)
                close()
            except Exception as exc:
                log.debug("closing: %s", describe(exc))
    if daemon.stopped_by is not None:
        raise DictateError(daemon.stopped_by)
    return ExitCode.OK


def cmd_ctl(args: argparse.Namespace) -> int:
    """Control the running daemon: start, stop, toggle or cancel a recording, quit, or show its status."""
    import json
    import os
    import sys

    from dictate import control, statusfeed

    notes = args.notes or args.action in control.NOTES_COMMANDS
    if (args.follow or args.json) and args.action != "status":
        raise ConfigError(f"--follow and --json go with `dictate ctl status`, not `dictate ctl {args.action}`")
    path = control.socket_path(notes=notes)
    if args.follow:
        try:
            statusfeed.follow(
                path, lambda line: print(line, flush=True), as_json=args.json, notes=notes, out_fd=sys.stdout.fileno()
            )
        except BrokenPipeError:  # the bar went away: a normal end of a follower
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return ExitCode.OK
    if args.action == "quit":
        control.quit_daemon(path)
        log.info("%s finished what it held and exited", "`dictate notes`" if notes else "the daemon")
        return ExitCode.OK
    reply = control.send(args.action, path)
    if not reply.get("ok"):
        raise DictateError(f"the daemon refused {args.action}: {reply.get('error', 'no reason given')}")
    if args.action == "status":
        if args.json:
            print(json.dumps(statusfeed.bar_line(reply, notes=notes), ensure_ascii=False))
        else:
            print(f"{reply.get('state')}; queued {reply.get('queued', 0)}; delivered {reply.get('delivered', 0)}")
    return ExitCode.OK


def cmd_notes(args: argparse.Namespace) -> int:
    """Take notes hands-free: each spoken utterance is transcribed and appended to FILE with its time."""
    from dictate import control, hotkey, notes
    from dictate.dictation import Pipeline, open_history
    from dictate.engines import open_engine
    from dictate.hotkey.listener import HotkeyListener
    from dictate.microphone import check_microphone
    from dictate.output import Output, choose_output, close_output
    from dictate.output.terminal import print_line
    from dictate.session import check_devices, check_hotkey_display

    cfg = load_config(args)
    if args.output != "file" and args.file:
        raise ConfigError(f"FILE is only used with --output file, not --output {args.output}")
    socket_path = control.socket_path(notes=True, create=True)
    microphone = check_microphone(cfg.audio.device)  # one line saying what to do, before anything starts
    pipeline = Pipeline(cfg, open_engine(cfg), open_history(cfg), keep_claims=True)  # it retries its own
    pipeline.engine.prepare()  # the local model is loaded once, now, and kept
    sink: notes.Sink
    output: Output | None = None
    if args.output == "file":
        path = Path(args.file) if args.file else notes.default_notes_file()
        sink = notes.NotesFile(path)
        where = str(path)
    elif args.output == "stdout":
        sink, where = notes.LineSink(print_line), "stdout"
    else:
        output, why = choose_output(dataclasses.replace(cfg.output, method=args.output))
        check_devices(output, hotkey=False)
        output.prepare()
        deliver = output.deliver
        sink, where = notes.LineSink(lambda text: deliver(text + " ")), f"the cursor ({output.name}: {why})"
    taker = notes.NoteTaker(cfg, pipeline, sink)
    server = control.ControlServer(socket_path, taker.command, follow=taker.feed.follow)
    server.start()
    listener = None
    how = "`dictate ctl pause`"
    if not args.no_hotkey:
        keys = hotkey.parse_hotkey(cfg.hotkey.keys)
        try:
            check_hotkey_display()
            listener = HotkeyListener(hotkey.HotkeyState(keys, "toggle"), taker.post)
            listener.start()
            how = f"{keys} or `dictate ctl pause`"
        except DictateError as exc:
            listener = None
            log.info("no hotkey (%s)", exc.what if isinstance(exc, DeviceError) else exc.message.split(";")[0])
    try:
        taker.run(
            ready=lambda: log.info(
                "listening on %s: utterances go to %s; pause with %s; Ctrl-C finishes and exits", microphone, where, how
            )
        )
    finally:
        if listener is not None:
            listener.stop()
        server.close()
        sink.close()
        pipeline.engine.close()
        pipeline.close()
        if output is not None:
            close_output(output)  # puts back keys borrowed for typing
    log.info("%d note(s) written", taker.written)
    return ExitCode.OK


def cmd_once(args: argparse.Namespace) -> int:
    """Record now and print only the transcript (for $(dictate once) and shell key bindings)."""
    from dictate.cli.terminal import StatusLine, StopKeys
    from dictate.dictation import Pipeline, open_history
    from dictate.engines import open_engine
    from dictate.once import Once
    from dictate.output.terminal import print_line
    from dictate.profiles import printed_into_a_shell

    cfg = printed_into_a_shell(load_config(args))  # no clean-up, no newline: a shell reads it
    pipeline = Pipeline(cfg, open_engine(cfg), open_history(cfg))
    max_seconds = args.max_seconds or cfg.audio.max_seconds
    status = StatusLine()
    # Keys pressed until the transcript is out (an Enter meant to stop a recording that a pause had
    # already ended) are for us, not for the shell that reads the terminal next: they are dropped.
    try:
        with StopKeys() as keys:
            hint = "Enter to stop" if keys.active else f"stops after {max_seconds:g} s"
            if cfg.audio.silence_seconds:
                hint += f" or after {cfg.audio.silence_seconds:g} s of silence"
            once = Once(
                cfg,
                pipeline,
                max_seconds=max_seconds,
                should_stop=keys.pressed,
                on_recording=lambda: status.show(f"recording… {hint}"),
            )
            once.record()
            ended = time.monotonic()
            status.show(f"transcribing {once.seconds:.1f} s…")
            try:
                result = once.finish()
            except KeyboardInterrupt:
                if once.entry_id is not None:  # the upload is left to itself; the recording is on disk
                    status.clear()
                    log.info("interrupted; the recording is saved: `dictate retry %d`", once.entry_id)
                raise
    finally:
        status.clear()  # also on Ctrl-C, so no stale line is left above the prompt
    log.debug("%s", result.timings(ended))
    pipeline.deliver(result, print_line)
    return ExitCode.OK
