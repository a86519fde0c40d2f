"""How many tokens Whisper's tokenizer makes of a text, estimated on the safe side. Pure.

Whisper reads its prompt with a byte-level BPE tokenizer (GPT-2's, extended): the text is first cut
into pieces (a word with the space before it, a run of digits, a run of punctuation, whitespace),
and each piece becomes one or more tokens on its own, so the count of a text is the sum of the
counts of its pieces. We do not ship the tokenizer's 50,000 merges; each piece is counted by a rule
that is never below the real count for the English words of a 117,000-word pronouncing dictionary
but for 6 in 30,000, and that counts about twice the real number on average (tests/text/
test_tokens.py measures it against the real tokenizer; docs/benchmarks.md has the numbers).
"""

from __future__ import annotations

import math
import re

# GPT-2's pre-tokenizer, with Python's classes: letters are [^\W\d_], digits \d; "_" is punctuation.
_PIECES = re.compile(r"'(?:s|t|re|ve|m|ll|d)| ?[^\W\d_]+| ?\d+| ?[^\s\w]+| ?_+|\s+")
# A word's runs of one case: "PostgreSQL" -> "Postgre", "SQL"; "iPhone" -> "i", "Phone".
_CASE_RUNS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[^A-Za-z]")

# Frequent English words that are one token with a space before them, lower-case or capitalised
# (each is checked against the real tokenizer in the tests). Everything else is counted by its length.
_COMMON = """
    a about after again against all already also always an and another any anything are around as ask at back
    bad be because been before begin behind being between big book both bring build business but buy by call can
    car case change child children city code come company could data day days did different do does done door
    down during each early either else email end enough even ever every everyone everything eye face fact file
    files find first fix follow for friend from game get give go going good great had hand has have he
    head hear help her here high him his history hold home hour house how i idea if important in include into is
    issue it its job just keep kind know large last later law lead learn leave left less let life like line
    little live long look lot love made make man many may me mean meet meeting member men message might minute
    money month more morning most mother move much must my name need never new next nice night no not nothing now
    number of off office often ok okay old on once one only open or other others our out over own part party
    people person place play please point power program project public put question read really reason release
    report result review right room run said same say school see send server service set she should show
    side since small so some someone something soon sorry start stay still stop story study such sure system take
    team tell test tests than thank thanks that the their them then there these they thing things think this
    those though through time to today together tomorrow too top try two under until up update us use used user
    users very wait want war was watch water way we week weeks well were what when where whether which while who
    why will win with within without woman women word work world would write year years yes yesterday yet you
    young your
"""
COMMON_WORDS = frozenset(_COMMON.split())


def estimate_tokens(text: str) -> int:
    """Tokens Whisper's tokenizer makes of `text`, estimated on the safe side (see the module docs)."""
    return math.ceil(sum(_piece_tokens(piece) for piece in _PIECES.findall(text)))


def piece_tokens(text: str) -> float:
    """The (unrounded) estimate of `text`: additive, so a prompt can be measured word by word."""
    return sum(_piece_tokens(piece) for piece in _PIECES.findall(text))


def _piece_tokens(piece: str) -> float:
    body = piece.lstrip(" ")
    if not body or body[0].isspace():
        return float(len(piece))  # whitespace: at most one token per character
    first = body[0]
    if first.isalpha():
        return _word_tokens(body)
    if first.isdigit():
        return 1 + len(body) / 2  # numbers go in pieces of up to three digits
    # Punctuation and symbols: one token per ASCII character at most, one per byte otherwise.
    return float(sum(1 if ch.isascii() else len(ch.encode()) for ch in body))


def _word_tokens(word: str) -> float:
    if word.isascii() and word.lower() in COMMON_WORDS and (word.islower() or word[1:].islower()):
        return 1.0
    total = 0.0
    for run in _CASE_RUNS.findall(word):
        if not run[0].isascii():
            # Latin-1 letters (é, ü, ß) have merges of their own; other scripts count their bytes.
            total += 1.0 if ord(run[0]) < 0x100 else len(run.encode())
        elif run.isupper() and len(run) > 1:
            total += len(run)  # capitals are rarely merged: "SQL" may be three tokens
        else:
            total += 1 + len(run) / 2  # a rare word: about one token per syllable, two letters each
    return total
