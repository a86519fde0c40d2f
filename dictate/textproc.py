"""Text from the server made safe and tidy before it reaches a keyboard, a terminal or a file. Pure."""

from __future__ import annotations

import re
import unicodedata

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
_NEWLINES = re.compile(r"\r\n|[\r\n\v\f\x85\u2028\u2029]")

# What Whisper says over silence or noise, learned from subtitle-heavy training data. Compared
# after lower-casing and dropping punctuation, and only dropped when the audio had no speech.
HALLUCINATIONS = frozenset(
    {
        "thank you",
        "thank you very much",
        "thanks",
        "thanks for watching",
        "thank you for watching",
        "thanks for watching and see you next time",
        "thank you for watching and see you next time",
        "please subscribe",
        "like and subscribe",
        "subscribe to my channel",
        "bye",
        "bye bye",
        "you",
        "so",
        "okay",
        "oh",
        "hmm",
        "um",
        "uh",
        "music",
        "applause",
        "silence",
        "subtitles by the amaraorg community",
        "subtitles by the amara org community",
        "transcription by castingwords",
        "transcribed by otterai",
        "www mooji org",
        "ご視聴ありがとうございました",
        "字幕由amaraorg社区提供",
        "untertitel der amaraorg community",
        "untertitel im auftrag des zdf 2017",
        "sous titres réalisés para la communauté damaraorg",
        "продолжение следует",
    }
)
_HALLUCINATIONS_UNSPACED = frozenset(h.replace(" ", "") for h in HALLUCINATIONS)


def sanitize(text: str, *, allow_newlines: bool = False) -> str:
    """Remove escape sequences, control characters and bidi overrides; collapse whitespace.

    Newlines survive only when allowed (then runs of blank lines are kept to one empty line);
    otherwise they become spaces. Tabs become spaces. The result is trimmed.
    """
    text = _ESCAPES.sub("", text)
    text = _NEWLINES.sub("\n", text).translate(_BIDI)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    if not allow_newlines:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in text.split("\n")]
    out = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", out)


def is_hallucination(text: str) -> bool:
    """True when the text is one of Whisper's known phrases for silence (possibly repeated)."""
    words = "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in text.lower()).split()
    phrase = " ".join(words)
    if phrase in HALLUCINATIONS or phrase.replace(" ", "") in _HALLUCINATIONS_UNSPACED:
        return True
    # "Thank you. Thank you. Thank you." and the like.
    for size in range(1, min(len(words), 8) + 1):
        if len(words) % size == 0 and len(words) > size:
            unit = words[:size]
            if unit * (len(words) // size) == words and " ".join(unit) in HALLUCINATIONS:
                return True
    return False


def process(text: str, *, had_speech: bool = True, allow_newlines: bool = False, trailing_space: bool = False) -> str:
    """Clean one transcript for delivery; empty when it is a silence hallucination."""
    clean = sanitize(text, allow_newlines=allow_newlines)
    if not had_speech and is_hallucination(clean):
        return ""
    if clean and trailing_space:
        clean += " "
    return clean


def join(parts: list[str]) -> str:
    """Join transcripts of consecutive parts of one dictation with single spaces."""
    return " ".join(p.strip() for p in parts if p.strip())
