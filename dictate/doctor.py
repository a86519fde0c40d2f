"""`dictate doctor`: check every piece a dictation needs and say how to fix what is broken."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dictate.config import Config
from dictate.errors import DeviceError, DictateError

TOOLS = (
    "wtype",  # dictate.output.wayland
    "ydotool",  # dictate.output.wayland
    "wl-copy",  # dictate.output.wayland
    "wl-paste",  # dictate.output.wayland
    "swaymsg",  # dictate.output.wayland
    "tmux",  # dictate.output.terminal
    "notify-send",  # dictate.feedback
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""


def run_checks(
    config: Config | None, config_error: str | None, *, fresh: str = "dictate config init --force"
) -> Iterator[Check]:
    """Every check, in the order a dictation meets them; later checks still run after a failure. The
    endpoint is sent nothing that `run` would refuse to send, and nothing at all when the config
    could not be read (the defaults would send a key meant for another provider to OpenAI)."""
    checks: tuple[Callable[[Config], Check], ...] = (_microphone, _display, _output, _hotkey, _engine, _cleanup)
    unread = config is None
    if config is None:
        yield Check(
            "config",
            False,
            config_error or "cannot be read",
            f"fix the line named above, or run `{fresh}` for a fresh file",
        )
        from dictate.config import Config as Defaults

        config, checks = Defaults(), checks[:-2]  # neither endpoint is sent anything
    else:
        yield _config(config)
    for check in checks:
        try:
            yield check(config)
        except DeviceError as exc:  # the same words `run`, `once` and `notes` show, what and fix apart
            yield Check(check.__name__.strip("_"), False, exc.what, exc.fix)
        except DictateError as exc:
            yield Check(check.__name__.strip("_"), False, exc.message)
    if unread:
        yield Check("engine", False, "not checked, nothing sent: the config could not be read", "fix it first")


def _config(config: Config) -> Check:
    from dictate import config as cfg

    where = str(config.path) if config.path else "no file, defaults in use"
    warning = cfg.insecure_permissions_warning(config)
    if warning:
        return Check("config", False, warning, warning.rsplit("run: ", 1)[-1])
    try:
        cfg.check_endpoint(config)
    except DictateError as exc:
        return Check("config", False, exc.message, "use https, or set [api] allow_insecure = true")
    try:
        cfg.api_key(config)
    except DictateError as exc:
        return Check("config", False, exc.message, "set the key again, without spaces or line breaks")
    return Check("config", True, where)


def _microphone(config: Config) -> Check:
    import numpy as np

    from dictate.audio import Recording, frame_levels, peak_dbfs
    from dictate.microphone import Recorder, check_microphone

    name = check_microphone(config.audio.device)
    blocks = []
    with Recorder(config.audio.device, config.audio.sample_rate) as recorder:
        deadline = time.monotonic() + 3  # a suspended source can take a moment to wake up
        while (block := recorder.read(timeout=0.05)) is None and time.monotonic() < deadline:
            pass
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            if block is not None:
                blocks.append(block)
            block = recorder.read(timeout=0.05)
        rate = recorder.capture_rate
    samples = np.concatenate(blocks) if blocks else np.empty(0, dtype=np.int16)
    recording = Recording(samples, rate).at_rate(config.audio.sample_rate)
    if recording.seconds < 0.5:
        return Check(
            "microphone",
            False,
            f"{name}: only {recording.seconds:.2f} s of audio arrived in 4 s",
            "the device delivers no audio; try another [audio] device (see `dictate devices`)",
        )
    levels = frame_levels(recording.samples, recording.rate)
    rms = float(levels.mean()) if len(levels) else float("-inf")
    peak = peak_dbfs(recording.samples)
    detail = f"{name}: 1 s recorded, level {rms:.0f} dBFS average, {peak:.0f} dBFS peak"
    if peak < -70:
        return Check(
            "microphone",
            False,
            detail + " (silence)",
            "the microphone is muted or not the one you speak into: unmute it (pavucontrol) or set [audio] device",
        )
    return Check("microphone", True, detail)


def session_type() -> str:
    from dictate.output import detect_session

    return detect_session()[0]


def _display(config: Config) -> Check:
    from dictate.session import check_display

    why = check_display()
    found = [t for t in TOOLS if shutil.which(t)]
    return Check("display", True, f"{why} answers; tools found: {', '.join(found) or 'none'}")


def _output(config: Config) -> Check:
    from dictate.output import choose_output

    output, why = choose_output(config.output)
    if output.name == "stdout" and config.output.method == "auto":
        return Check(
            "output",
            False,
            f"nothing can be typed or pasted here ({why.removeprefix('stdout: ')}): dictations would only be printed",
            'run dictate inside your desktop session, or set [output] method = "stdout" if printing is what you want',
        )
    return Check("output", True, why)


def _hotkey(config: Config) -> Check:
    from dictate.hotkey import HotkeyState, parse_hotkey
    from dictate.hotkey.listener import HotkeyListener
    from dictate.session import check_hotkey_display

    check_hotkey_display()
    listener = HotkeyListener(HotkeyState(parse_hotkey(config.hotkey.keys)), lambda _event: None)
    try:
        listener.start()
    except DictateError as exc:
        return Check(
            "hotkey",
            False,
            exc.message.split(";")[0],
            "on Wayland run `dictate run --no-hotkey` and bind a key to `dictate ctl toggle`",
        )
    listener.stop()
    where = "X11 (XRecord)" if session_type() == "x11" else "the platform's"
    detail = f"{config.hotkey.keys} ({config.hotkey.mode}) through pynput's {where} listener"
    if session_type() == "wayland":
        return Check(
            "hotkey",
            False,
            detail + "; on Wayland it only sees keys typed into X11 windows",
            "run `dictate run --no-hotkey` and bind a compositor key to `dictate ctl toggle`",
        )
    return Check("hotkey", True, detail)


def _engine(config: Config) -> Check:
    """Which engine a dictation would use, and whether it can: the endpoint, or the local model."""
    from dictate.engines import choose_engine

    kind, why = choose_engine(config)
    return _local_model(config, why) if kind == "local" else _endpoint(config)


def _local_model(config: Config, why: str) -> Check:
    from dictate.engines.local import LocalEngine, locate

    place = locate(config.local.model)
    if place.folder is None:
        return Check(
            "engine",
            False,
            f"local Whisper ({why}): the model {config.local.model!r} is not downloaded yet; it goes to {place.cache}",
            "run `dictate model fetch` (needs the network once)",
        )
    engine = LocalEngine(config.api, config.local)
    engine.load()
    return Check(
        "engine",
        True,
        f"local Whisper ({why}): model {config.local.model} in {engine.folder}, on {engine.device} "
        f"({engine.compute_type}), loaded in {engine.load_seconds:.1f} s",
    )


def _endpoint(config: Config) -> Check:
    from dictate import config as cfg
    from dictate.engines import TranscriptionError
    from dictate.engines.http import NO_RETRY, HttpEngine
    from dictate.engines.replies import parse_error

    shown = cfg.display_url(config.api.base_url)
    problem = cfg.endpoint_problem(config.api.base_url, config.api.allow_insecure)
    if problem:  # the policy `run` applies: the key and the voice do not go there
        return Check("endpoint", False, f"not checked, nothing sent: {problem}", "fix [api] base_url first")
    key, source = cfg.api_key(config)  # a key `run` would refuse is not sent either (a ConfigError)
    engine = HttpEngine(config.api, key, retry=NO_RETRY)
    try:
        answer = engine.probe()
    except TranscriptionError as exc:
        return Check("endpoint", False, exc.message, "start the server, or correct [api] base_url")
    finally:
        engine.close()
    keyinfo = f"key from {source}" if key else "no key"
    if answer.status in (401, 403):
        message, _ = parse_error(answer.content_type, answer.body)
        hint = (
            "store a valid key with `dictate key set` (or set DICTATE_API_KEY or "
            + (config.api.api_key_env or "OPENAI_API_KEY")
            + ")"
        )
        return Check(
            "endpoint",
            False,
            f"{shown} refused the key ({keyinfo}): HTTP {answer.status} {message}".rstrip(),
            hint,
        )
    if answer.status == 200:
        models = _model_ids(answer.body)
        if models and config.api.model not in models:
            sample = ", ".join(sorted(m for m in models if "whisper" in m or "transcri" in m)[:8]) or ", ".join(
                sorted(models)[:8]
            )
            return Check(
                "endpoint",
                False,
                f"{shown} answers ({keyinfo}) but does not offer model {config.api.model!r}",
                f"set [api] model to one it offers: {sample}",
            )
        return Check("endpoint", True, f"{shown} answers and accepts the request ({keyinfo})")
    return Check(
        "endpoint",
        True,
        f"{shown} answers (HTTP {answer.status} for /models, so the key could not be verified; {keyinfo})",
    )


SAMPLE = "um so this is a short test of the clean up"  # what doctor asks each clean-up model to clean


def _cleanup(config: Config) -> Check:
    """Whether each clean-up in use ([cleanup] and the profiles') cleans a short transcript as a
    dictation would have it cleaned: the same client, the same request, the same check of the answer."""
    from dictate.config import display_url
    from dictate.config.secrets import cleanup_key
    from dictate.engines.chat import ChatClient, CleanupError, enabled_cleanups
    from dictate.errors import ConfigError
    from dictate.text import cleanup

    fix = "until it is fixed, dictations are typed as heard; or set [cleanup] enabled = false"
    cleaned: dict[tuple[str, str, str], str] = {}
    for settings in enabled_cleanups(config):
        ident = (settings.base_url, settings.model, settings.api_key_env)
        if ident in cleaned:
            continue
        where = f"{display_url(settings.base_url)} (model {settings.model})"
        try:
            client = ChatClient(settings, cleanup_key(config, settings))
        except ConfigError as exc:  # the policy `run` applies: the transcript does not go there
            return Check("clean-up", False, f"{where}: not checked, nothing sent: {exc.message}", fix)
        started = time.monotonic()
        try:
            answer = client.complete(cleanup.messages(SAMPLE, extra=settings.prompt), timeout=settings.timeout)
            cleanup.check(SAMPLE, answer)
        except CleanupError as exc:
            return Check("clean-up", False, f"{where}: {exc.message}", fix)
        except cleanup.Rejected as exc:
            return Check("clean-up", False, f"{where} answered, but not with a clean-up: {exc}", fix)
        finally:
            client.close()
        cleaned[ident] = f"{where} in {(time.monotonic() - started) * 1000:.0f} ms"
    if not cleaned:
        return Check("clean-up", True, "off")
    return Check("clean-up", True, "cleaned a test sentence: " + "; ".join(cleaned.values()))


def _model_ids(body: bytes) -> set[str]:
    import json

    from dictate.engines.replies import excerpt

    try:
        data = json.loads(body.decode("utf-8"))
    except ValueError:
        return set()
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return set()
    return {excerpt(str(m.get("id")), 80) for m in items if isinstance(m, dict) and m.get("id")}


def report(checks: Iterator[Check], write: Callable[[str], None]) -> int:
    """Write one line per check (and a fix hint under each failure); return how many failed."""
    failed = 0
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        write(f"{mark} {check.name:<10} {check.detail}")
        if not check.ok:
            failed += 1
            if check.hint:
                write(f"     {'':<10} fix: {check.hint}")
    return failed
