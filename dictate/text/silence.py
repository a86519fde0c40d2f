"""What a model says when nobody spoke: Whisper's known phrases over silence and noise. Pure."""

from __future__ import annotations

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
