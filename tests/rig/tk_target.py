"""A Tk Text window for delivery tests: mirrors its text to a file, obeys commands on stdin.

Usage: tk_target.py OUTFILE TITLE [--fast]
Prints "ready WINDOW_ID" once mapped. Commands, one per line, each answered on stdout:
  focus -> focused        clear -> cleared        clip TYPE HEXTEXT -> clipped (adds a clipboard format)
"""

from __future__ import annotations

import os
import sys
import tkinter as tk

out, title = sys.argv[1], sys.argv[2]
fast = "--fast" in sys.argv[3:]

root = tk.Tk()
root.title(title)
text = tk.Text(root, width=100, height=30)
text.pack(fill="both", expand=True)
if fast:
    # Tk's class bindings scroll to the cursor after every key, which costs O(line length); a bare
    # insert measures delivery instead of Tk's layout. Return still inserts a newline; keys without a
    # character (Shift+Insert) and Ctrl combinations (Ctrl+V) go on to the class bindings, which paste.
    root.tk.eval(
        f'bind {text} <KeyPress> {{if {{"%A" ne ""}} {{%W insert insert %A; break}}}}\n'
        f"bind {text} <Control-KeyPress> {{# the Text class bindings handle these}}\n"
        f"bind {text} <Return> {{%W insert insert \\n; break}}"
    )
last = [""]
clipboard_fresh = [True]


def mirror() -> None:
    content = text.get("1.0", "end-1c")
    if content != last[0]:
        last[0] = content
        with open(out + ".tmp", "w", encoding="utf-8") as f:
            f.write(content)
        os.replace(out + ".tmp", out)
    root.after(5, mirror)


def answer(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def command(*_: object) -> None:
    line = sys.stdin.readline()
    if not line:
        root.destroy()
        return
    name, *args = line.split()
    if name == "focus":
        root.focus_force()
        text.focus_set()
        root.update()
        answer("focused" if root.focus_get() is text else "unfocused")
    elif name == "clear":
        text.delete("1.0", "end")
        last[0] = None  # type: ignore[assignment]
        mirror_now()
        answer("cleared")
    elif name == "clip":
        if clipboard_fresh[0]:
            root.clipboard_clear()
            clipboard_fresh[0] = False
        root.clipboard_append(bytes.fromhex(args[1]).decode(), type=args[0])
        root.update()
        answer("clipped")


def mirror_now() -> None:
    content = text.get("1.0", "end-1c")
    last[0] = content
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        f.write(content)
    os.replace(out + ".tmp", out)


root.tk.createfilehandler(sys.stdin, tk.READABLE, command)
root.update()
mirror_now()
mirror()
root.after(50, lambda: answer(f"ready {root.wm_frame()}"))
root.mainloop()
