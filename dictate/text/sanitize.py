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
# What cannot be typed or stored, or is there to be unseen: lone UTF-16 surrogates (an emoji cut in
# half by a server that slices strings), invisible format characters (zero-width space, word joiner
# and the invisible operators, the deprecated format characters, the byte-order mark, the Mongolian
# vowel separator, the soft hyphen, the combining grapheme joiner, interlinear annotations), blank
# letters (the Hangul fillers, the blank Braille pattern) and the noncharacters of every plane. The
# zero-width joiner and non-joiner stay: emoji sequences and several scripts need them.
_NONCHARACTERS = "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(1, 17))
_UNSEEN = re.compile(
    "[\ud800-\udfff\u00ad\u034f\u115f\u1160\u180e\u200b\u2060-\u2064\u206a-\u206f\u2800\u3164\ufeff"
    "\uffa0\ufff9-\ufffb\ufdd0-\ufdef\ufffe\uffff" + _NONCHARACTERS + "]"
)
# Tag characters (U+E0000-E007F) are invisible too ("ASCII smuggling"); they belong only in a flag
# of a region, a black flag followed by tags and a cancel tag.
_TAGS = re.compile("(\U0001f3f4)?([\U000e0000-\U000e007f]+)")


def _flag_or_nothing(match: re.Match[str]) -> str:
    flag, tags = match.group(1) or "", match.group(2)
    if flag and tags[-1] == "\U000e007f" and all("\U000e0020" <= ch <= "\U000e007e" for ch in tags[:-1]):
        return flag + tags
    return flag


def sanitize(text: str, *, allow_newlines: bool = False) -> str:
    """Remove escape sequences, control, bidi and invisible characters and lone surrogates; collapse
    whitespace.

    Newlines survive only when allowed (then runs of blank lines are kept to one empty line);
    otherwise they become spaces. Tabs become spaces. The result is trimmed.
    """
    text = _ESCAPES.sub("", text)
    text = _NEWLINES.sub("\n", text).translate(_BIDI)
    text = _CONTROLS.sub("", text)
    text = _TAGS.sub(_flag_or_nothing, _UNSEEN.sub("", text))
    if not allow_newlines:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in text.split("\n")]
    out = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", out)
