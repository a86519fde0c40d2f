"""Text made safe before it reaches a keyboard, a terminal or a file: no escape sequences, control or
bidi characters; whitespace collapsed. Pure."""

from __future__ import annotations

import re

# Terminal escape sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other ESC-introduced
# strings (DCS, SOS, PM, APC ... ST), two-character escapes, and their 8-bit C1 forms.
_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]            # CSI
  | (?:\x1b\]|\x9d).*?(?:\x07|\x1b\\|\x9c)        # OSC, ended by BEL or ST
  | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f]).*?(?:\x1b\\|\x9c)  # DCS, SOS, PM, APC
  | \x1b[ -/]*[0-~]                               # other escapes (ESC c, ESC ( B, ...)
    """,
    re.VERBOSE | re.DOTALL,
)
# Bidirectional overrides and isolates can make text display differently from what it is.
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"))
# Unicode's control characters (category Cc: C0, DEL and C1), less tab and newline.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_NEWLINES = re.compile(r"\r\n|[\r\n\v\f\x85\u2028\u2029]")


def sanitize(text: str, *, allow_newlines: bool = False) -> str:
    """Remove escape sequences, control characters and bidi overrides; collapse whitespace.

    Newlines survive only when allowed (then runs of blank lines are kept to one empty line);
    otherwise they become spaces. Tabs become spaces. The result is trimmed.
    """
    text = _ESCAPES.sub("", text)
    text = _NEWLINES.sub("\n", text).translate(_BIDI)
    text = _CONTROLS.sub("", text)
    if not allow_newlines:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in text.split("\n")]
    out = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", out)
