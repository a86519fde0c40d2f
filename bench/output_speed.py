"""How fast, and how exactly, each way of delivering text puts 1,000 mixed-Unicode characters into a
window on a virtual X display. Prints a Markdown table.

    python -m bench.output_speed [--repeat 3] [--slow]

Every approach types tests/rig/corpus.py (1,000 characters, 339 distinct: accents, CJK, emoji with
ZWJ sequences and flags, symbols) into a Tk Text window and is timed from the call until the window
holds its final text. "fast Tk" replaces Tk's Text bindings, which scroll to the cursor after every
key (slow on a long line), with a bare insert, so it measures delivery rather than Tk; "Tk" is the
stock widget. Warm means the output object (its X connection) was already open, as in the daemon;
cold starts a new Python process per delivery, as a one-shot command would. --slow adds the
approaches that take many seconds (xdotool with its default 12 ms delay, per-character remapping).
A second table types shorter, usual dictations (English, German and French, Russian, Chinese) next
to the corpus with XTEST: characters on the layout need no keymap change, and only a text with more
characters off the layout than the keys it may borrow can hold needs more than one.
Needs: Xvfb, openbox, xdotool, xclip, xterm (the test rig) and optionally tmux.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dictate.config import OutputConfig
from dictate.output import StdoutOutput, TmuxOutput, choose_output, close_output
from dictate.output.x11 import X11Paste, XTestTyping
from dictate.output.x11.keymap import keysym_for
from tests.rig.corpus import CORPUS
from tests.rig.display import TkTarget, VirtualDisplay, clear_selections

ROOT = Path(__file__).resolve().parents[1]
RUN_GAP = 3.0


@dataclass
class Result:
    approach: str
    target: str
    seconds: float
    exact: bool
    wrong: int  # characters missing, extra or different

    def row(self) -> str:
        exact = "yes" if self.exact else f"no ({self.wrong} of {len(CORPUS)} wrong or lost)"
        return (
            f"| {self.approach} | {self.target} | {exact} | {self.seconds * 1000:,.0f} | "
            f"{len(CORPUS) / self.seconds:,.0f} |"
        )


def damage(got: str, expected: str) -> int:
    matcher = difflib.SequenceMatcher(a=expected, b=got, autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    return max(len(expected), len(got)) - same


def measure(
    target: TkTarget, deliver: Callable[[str], None], text: str = CORPUS, settle: float = 2.0
) -> tuple[float, str]:
    """Seconds from the call until the window held its final text (equal to `text`, or stable for `settle`,
    which is longer than XTEST typing pauses between keymap changes)."""
    target.clear()
    target.activate()
    start = time.perf_counter()
    deliver(text)
    last_change, seen = time.perf_counter(), target.text()
    while seen != text:
        time.sleep(0.002)
        now = time.perf_counter()
        current = target.text()
        if current != seen:
            seen, last_change = current, now
        elif now - last_change > settle:
            break
    return last_change - start if seen != text else time.perf_counter() - start, seen


# ---- the approaches ---------------------------------------------------------------------------------


def xdotool_type(display: VirtualDisplay, delay: int) -> Callable[[str], None]:
    def deliver(text: str) -> None:
        subprocess.run(["xdotool", "type", "--delay", str(delay), "--", text], env=display.run_env(), check=True)

    return deliver


def layout_keysyms(display: VirtualDisplay) -> set[int]:
    from Xlib import display as xdisplay

    d = xdisplay.Display(display.name)
    first = d.display.info.min_keycode
    rows = d.get_keyboard_mapping(first, d.display.info.max_keycode - first + 1)
    d.close()
    return {sym for row in rows for sym in row[:2] if sym}


def xdotool_split(display: VirtualDisplay, slow_delay: int) -> Callable[[str], None]:
    """Runs of characters on the layout typed with --delay 0, the others with --delay slow_delay."""
    on_layout = layout_keysyms(display)

    def deliver(text: str) -> None:
        runs: list[tuple[bool, str]] = []
        for char in text:
            fast = keysym_for(char) in on_layout
            if runs and runs[-1][0] == fast:
                runs[-1] = (fast, runs[-1][1] + char)
            else:
                runs.append((fast, char))
        for fast, run in runs:
            delay = "0" if fast else str(slow_delay)
            subprocess.run(["xdotool", "type", "--delay", delay, "--", run], env=display.run_env(), check=True)

    return deliver


def pynput_type(display: VirtualDisplay) -> Callable[[str], None]:
    os.environ["DISPLAY"] = display.name
    from pynput.keyboard import Controller

    controller = Controller()
    return controller.type


def spare_keycodes_core(display: VirtualDisplay, pause: float) -> Callable[[str], None]:
    """The first idea, kept for comparison: bind characters to the keycodes that have no symbols (19 on
    the default map, two per keycode with Shift) with core ChangeKeyboardMapping, one request per run of
    adjacent keycodes, and pause `pause` seconds before each rebinding."""
    from Xlib import XK, X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    d = xdisplay.Display(display.name)
    first = d.display.info.min_keycode
    rows = [list(r) for r in d.get_keyboard_mapping(first, d.display.info.max_keycode - first + 1)]
    spare = [first + i for i, row in enumerate(rows) if not any(row)]
    layout = {}
    for i, row in enumerate(reversed(rows)):
        for level, sym in enumerate(row[:2]):
            if sym:
                layout[sym] = (first + len(rows) - 1 - i, level)
    shift = d.keysym_to_keycode(XK.XK_Shift_L)

    def bind(assign: dict[int, tuple[int, int]]) -> None:
        table = {code: [0, 0] for code in spare}
        for sym, (code, level) in assign.items():
            table[code][level] = sym
        runs: list[list[int]] = []
        for code in spare:
            if runs and runs[-1][-1] == code - 1:
                runs[-1].append(code)
            else:
                runs.append([code])
        for run in runs:
            d.change_keyboard_mapping(run[0], [(table[c][0], table[c][1] or table[c][0]) for c in run])
        d.sync()

    def deliver(text: str) -> None:
        assign: dict[int, tuple[int, int]] = {}
        strokes: list[tuple[int, int]] = []
        batches: list[tuple[dict[int, tuple[int, int]], list[tuple[int, int]]]] = []
        for char in text:
            sym = keysym_for(char)
            if sym in layout:
                strokes.append(layout[sym])
                continue
            if sym not in assign:
                if len(assign) == 2 * len(spare):
                    batches.append((assign, strokes))
                    assign, strokes = {}, []
                index = len(assign)
                assign[sym] = (spare[index // 2], index % 2)
            strokes.append(assign[sym])
        batches.append((assign, strokes))
        for index, (binding, keys) in enumerate(batches):
            if index:
                time.sleep(pause)
            bind(binding)
            for code, level in keys:
                if level:
                    xtest.fake_input(d, X.KeyPress, shift)
                xtest.fake_input(d, X.KeyPress, code)
                xtest.fake_input(d, X.KeyRelease, code)
                if level:
                    xtest.fake_input(d, X.KeyRelease, shift)
            d.sync()

    return deliver


def cold(display: VirtualDisplay, method: str) -> Callable[[str], None]:
    """A new Python process per delivery: import, connect, deliver. Timed until the text arrives; the
    process lives on a little to put the borrowed keys back once the window has read them."""
    code = (
        "import sys; from dictate.config import OutputConfig; from dictate.output import choose_output, close_output; "
        "out, _ = choose_output(OutputConfig(method=sys.argv[1])); out.deliver(sys.stdin.read()); close_output(out)"
    )
    running: list[subprocess.Popen[bytes]] = []

    def deliver(text: str) -> None:
        for proc in running:
            proc.wait(30)
        running.clear()
        proc = subprocess.Popen([sys.executable, "-c", code, method], stdin=subprocess.PIPE, env=display.run_env(),
                                cwd=ROOT)  # fmt: skip
        assert proc.stdin is not None
        proc.stdin.write(text.encode())
        proc.stdin.close()
        running.append(proc)

    return deliver


# Typical dictations next to the corpus: what is on the layout is typed in place; only the rest is bound,
# to the default map's 19 keys without symbols (38 characters), then to spare vendor keys (XF86 launch
# and media keys) and character keys the text does not use; only beyond that is a text typed in
# batches, each after its own keymap change (method "auto" pastes such a text instead).
TEXTS = {
    "English": "Let's meet at 3 pm on Friday (room 2B) to review the budget: travel, hardware & licences. " * 4,
    "German, French": "Grüße aus Köln! Das Café „Zur Börse“ öffnet um 9 Uhr — très bien, à bientôt, ça va? " * 4,
    "Russian": "Привет! Это обычный текст на русском языке, напечатанный через XTEST без ошибок. " * 4,
    "Chinese": "今天下午三点我们在二楼会议室开会，讨论明年的预算、出差安排和新电脑的采购。请大家提前准备好各自部门的"
    "数据，并在周五之前把报告发给我。如果有任何问题，可以随时打电话或者发邮件联系。谢谢！",
    "corpus": CORPUS,
}


def typing_by_text(
    display: VirtualDisplay, typing: XTestTyping, fast_tk: TkTarget, stock_tk: TkTarget, repeat: int
) -> list[str]:
    rows = []
    for name, text in TEXTS.items():
        off_layout = len({c for c in text if not (" " <= c <= "~")})
        for label, target in (("fast Tk", fast_tk), ("Tk", stock_tk)):
            runs = []
            try:
                for _ in range(repeat):
                    time.sleep(RUN_GAP)
                    clear_selections(display)
                    runs.append(measure(target, typing.deliver, text))
            except Exception as exc:
                rows.append(f"| {name} | {len(text)} | {off_layout} | {label} | failed: {str(exc).splitlines()[0]} | |")
                continue
            seconds = statistics.median(s for s, _ in runs)
            worst = max(damage(got, text) for _, got in runs)
            exact = "yes" if not worst else f"no ({worst} wrong or lost)"
            rows.append(f"| {name} | {len(text)} | {off_layout} | {label} | {exact} | {seconds * 1000:,.0f} |")
            print(f"  {rows[-1]}", file=sys.stderr)
    typing.keyboard().restore()  # the approaches after this read the keymap as they start
    return rows


def bench_stdout() -> Result:
    with open(os.devnull, "w") as sink:
        output = StdoutOutput(sink)
        start = time.perf_counter()
        output.deliver(CORPUS)
        return Result("stdout (to /dev/null)", "-", time.perf_counter() - start, True, 0)


def bench_tmux(workdir: Path) -> Result | None:
    """tmux send-keys -l into a pane whose tty is raw, read back by cat."""
    if shutil.which("tmux") is None:
        return None
    sock, sink = workdir / "tmux.sock", workdir / "tmux.out"
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    subprocess.run(["tmux", "-S", str(sock), "new-session", "-d", "-x", "200", "-y", "50",
                    f"stty raw -echo; cat > {sink}"], env=env, check=True)  # fmt: skip
    try:
        _wait(lambda: sink.exists(), 10)
        time.sleep(0.3)
        output = TmuxOutput("tmux", env={**env, "TMUX": f"{sock},0,0"})
        start = time.perf_counter()
        output.deliver(CORPUS)
        _wait(lambda: sink.read_bytes() == CORPUS.encode(), 10)
        seconds = time.perf_counter() - start
        got = sink.read_bytes().decode(errors="replace")
        return Result("tmux send-keys -l", "tmux pane (raw tty)", seconds, got == CORPUS, damage(got, CORPUS))
    finally:
        subprocess.run(["tmux", "-S", str(sock), "kill-server"], env=env, capture_output=True)


def bench_wayland(repeat: int) -> list[Result]:
    """wtype and wl-clipboard paste into foot under headless sway (when those are installed)."""
    from tests.rig.sound import RigUnavailable
    from tests.rig.wayland import FootTarget, HeadlessSway

    results = []
    session = HeadlessSway()
    try:
        session.start()
        foot = FootTarget(session, session.dir).start()
    except RigUnavailable as exc:
        print(f"  (Wayland skipped: {exc})", file=sys.stderr)
        session.stop()
        return []
    try:
        for method, name in (("type", "type: wtype"), ("paste", "paste: wl-copy + wtype Shift+Insert, restored")):
            output, _ = choose_output(OutputConfig(method=method), session.run_env())
            runs = []
            for _ in range(repeat):
                foot.clear()
                start = time.perf_counter()
                output.deliver(CORPUS)
                _wait(lambda: foot.received() == CORPUS.encode(), 30)
                seconds = time.perf_counter() - start
                got = foot.received().decode(errors="replace")
                runs.append((seconds, damage(got, CORPUS)))
            seconds = statistics.median(s for s, _ in runs)
            worst = max(w for _, w in runs)
            results.append(Result(name, "foot (sway, headless)", seconds, worst == 0, worst))
            print(f"  {results[-1].row()}", file=sys.stderr)
    finally:
        foot.stop()
        session.stop()
    return results


def _wait(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not check() and time.perf_counter() < deadline:
        time.sleep(0.002)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per approach (the median is shown)")
    parser.add_argument("--slow", action="store_true", help="include approaches that take many seconds")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="dictate-bench-"))
    display = VirtualDisplay(workdir / "x").start()
    fast_tk = TkTarget(display, workdir, fast=True, title="fast-tk").start()
    stock_tk = TkTarget(display, workdir, title="stock-tk").start()
    results: list[Result] = []
    failures: list[str] = []
    try:
        typing = XTestTyping(display.name)
        pasting = X11Paste(OutputConfig(), display.name)
        auto = XTestTyping(display.name, paste_cfg=OutputConfig())  # what method = "auto" picks on X11
        # First, while both windows still take the focus (xdotool and pynput below can leave keys or a
        # window in a state where the stock Tk window no longer becomes active).
        texts = typing_by_text(display, typing, fast_tk, stock_tk, args.repeat)
        approaches: list[tuple[str, TkTarget, Callable[[str], None], int]] = [
            ("auto (default): XTEST typing, pasted when one keymap cannot hold the text (warm)", fast_tk,
             auto.deliver, args.repeat),
            ("auto (default): XTEST typing, pasted when one keymap cannot hold the text (warm)", stock_tk,
             auto.deliver, args.repeat),
            ("type: XTEST, layout keys in place, the rest bound on borrowed keys (warm)", fast_tk,
             typing.deliver, args.repeat),
            ("type: XTEST, layout keys in place, the rest bound on borrowed keys (warm)", stock_tk,
             typing.deliver, args.repeat),
            ("type: XTEST (cold: new process)", fast_tk, cold(display, "type"), args.repeat),
            ("paste: X11 selection + XTEST Ctrl+V, clipboard restored (warm)", fast_tk, pasting.deliver, args.repeat),
            ("paste: X11 selection + XTEST Ctrl+V, clipboard restored (warm)", stock_tk, pasting.deliver, 1),
            ("paste (cold: new process)", fast_tk, cold(display, "paste"), args.repeat),
            ("XTEST + spare keycodes, core remap, 20 ms pause per rebinding", fast_tk,
             spare_keycodes_core(display, 0.02), args.repeat),
            ("XTEST + spare keycodes, core remap, 50 ms pause per rebinding", fast_tk,
             spare_keycodes_core(display, 0.05), args.repeat),
            ("xdotool type --delay 0", fast_tk, xdotool_type(display, 0), args.repeat),
            ("xdotool type --delay 0", stock_tk, xdotool_type(display, 0), 1),
            ("xdotool: layout runs --delay 0, others --delay 12", fast_tk, xdotool_split(display, 12), 1),
            ("pynput Controller.type", fast_tk, pynput_type(display), 1),
        ]  # fmt: skip
        if args.slow:
            approaches.append(("xdotool type --delay 12 (its default)", fast_tk, xdotool_type(display, 12), 1))
        for name, target, deliver, repeat in approaches:
            label = "fast Tk" if target is fast_tk else "Tk"
            runs = []
            try:
                for _ in range(repeat):
                    # Let the window finish and the borrowed keys go back before the next run, so a run
                    # does not wait for the previous one (a delivery never rebinds keys a window may not
                    # have read yet). xdotool can leave a modifier down after dropping characters.
                    time.sleep(RUN_GAP)
                    display.xdotool("keyup", "ctrl", "alt", "shift", "super", "Mode_switch", "ISO_Level3_Shift")
                    clear_selections(display)
                    runs.append(measure(target, deliver))
            except Exception as exc:
                print(f"  {name} on {label} failed: {exc}", file=sys.stderr)
                failures.append(f"{name} ({label}): {str(exc).splitlines()[0]}")
                continue
            seconds = statistics.median(s for s, _ in runs)
            worst = max(damage(got, CORPUS) for _, got in runs)
            results.append(Result(name, label, seconds, worst == 0, worst))
            print(f"  {results[-1].row()}", file=sys.stderr)
        close_output(typing)
        close_output(pasting)
        close_output(auto)
        results.append(bench_stdout())
        tmux = bench_tmux(workdir)
        if tmux is not None:
            results.append(tmux)
        results.extend(bench_wayland(args.repeat))
    finally:
        fast_tk.stop()
        stock_tk.stop()
        display.stop()

    print("## Output speed\n")
    print("Characters per second of each way to put text at the cursor. `auto`, the default, types through")
    print("XTEST and pastes a text that one keymap cannot hold, such as the corpus below.\n")
    print(f"1,000 characters, {len(set(CORPUS))} distinct, on Xvfb {display.size}; median of {args.repeat} runs")
    print("(single runs for the slow ones); time until the window held its final text.\n")
    print("| approach | target | exact | ms | chars/s |")
    print("|---|---|---|---:|---:|")
    for result in results:
        print(result.row())
    for failure in failures:
        print(f"\nCould not be measured: {failure}")
    print("\nXTEST typing (warm) by text: the corpus above is the worst case, not the usual one.\n")
    print("| text | characters | off the US layout | target | exact | ms |")
    print("|---|---:|---:|---|---|---:|")
    for row in texts:
        print(row)


if __name__ == "__main__":
    main()
