"""Run inside a terminal: put the tty in raw mode and append every byte it receives to a file.

Usage: tty_sink.py OUTFILE READYFILE. Raw mode means no echo and no line editing, so typed or pasted
text arrives as it was sent and Enter arrives as "\\r".
"""

from __future__ import annotations

import os
import sys
import termios
import tty

out, ready = sys.argv[1], sys.argv[2]
fd = sys.stdin.fileno()
tty.setraw(fd)
attrs = termios.tcgetattr(fd)
with open(ready, "w") as f:
    f.write("ready\n")
with open(out, "ab", buffering=0) as sink:
    while True:
        data = os.read(fd, 4096)
        if not data:
            break
        sink.write(data)
