"""The text layer of a dictation: from the transcripts of its parts to the text that is delivered.
A dictation (dictation.py) and `dictate transcribe` (cli/recordings.py) both go through it.

A part's transcript counts as speech unless it repeats its prompt, or is one of Whisper's phrases
over silence said over a part that holds hardly any speech (`speech_of`). Then the pure
rules of dictate.text, in order: sanitize and the silence filter (the transcript as heard), then
vocabulary spellings, replacements and spoken commands (text.pipeline), then the output's newline
rule. Then, when [cleanup] is on for this dictation, the clean-up by a chat model, which can only
fail into the text as it was before it: the failure is one line, nothing is lost.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dictate.config import Config
from dictate.errors import describe
from dictate.text import is_hallucination, join, process, sanitize
from dictate.text.echo import is_echo
from dictate.text.pipeline import Rules, apply
from dictate.text.prompt import vocabulary_room

if TYPE_CHECKING:
    from dictate.audio import Recording
    from dictate.engines import Transcript
    from dictate.engines.chat import Cleaner

log = logging.getLogger("dictate")

_NEWLINES_AT_START = re.compile(r"^[ \n]*\n[ \n]*")
_NEWLINES_AT_END = re.compile(r"[ \n]*\n[ \n]*$")


@dataclass(frozen=True)
class Written:
    text: str  # what is delivered
    heard: str  # the transcript as the model heard it (sanitized, joined)
    cleanup_seconds: float | None = None  # how long the clean-up took, when it ran


# A part with less speech than this (by the energy gate) that comes back as one of Whisper's phrases
# over silence ("Thank you.") was a breath or a click: the silent end of a dictation held a moment
# after the last word is the usual case. A spoken "thank you" holds about twice as much.
PHRASE_OVER_SILENCE_SECONDS = 0.3


def speech_of(transcript: Transcript, part: Recording) -> str:
    """A part's transcript as speech: empty when the model repeated its prompt instead (an echo), or
    answered one of its phrases over silence for a part that holds hardly any speech, which the
    segments, when the engine gives them, also say is no speech."""
    text = transcript.speech_text
    if is_echo(text, transcript.prompt):
        log.info("the transcript of a part repeated the prompt, not speech: it is dropped")
        return ""
    if is_hallucination(text) and _hardly_speech(transcript, part):
        log.info("a part of %.1f s with hardly any speech came back as %r: taken as silence", part.seconds, text)
        return ""
    return text


def _hardly_speech(transcript: Transcript, part: Recording) -> bool:
    from dictate.audio import speech_seconds

    if transcript.segments and not all(s.no_speech_prob > 0.5 for s in transcript.segments):
        return False
    return speech_seconds(part) < PHRASE_OVER_SILENCE_SECONDS


def rules_for(settings: Config) -> Rules:
    text = settings.text
    return Rules.of(
        vocabulary=text.vocabulary,
        replacements=text.replacements,
        commands=text.commands,
        newline_commands=text.newline_commands,
        language=settings.api.language,
    )


class TextLayer:
    """The rules and the clean-up (a Cleaner, when any dictation may use one)."""

    def __init__(self, config: Config, cleaner: Cleaner | None = None) -> None:
        if cleaner is None:
            from dictate.engines.chat import Cleaner, enabled_cleanups

            cleaner = Cleaner(config) if enabled_cleanups(config) else None
        self.cleaner = cleaner
        vocabulary = config.text.vocabulary
        fits = vocabulary_room(config.api.prompt, vocabulary)
        if fits < len(vocabulary):
            log.warning(
                "warning: Whisper's prompt holds only the first %d of the %d [text] vocabulary entries "
                "(it keeps 224 tokens); all of them still restore spellings",
                fits,
                len(vocabulary),
            )

    def finish(self, parts: Sequence[str], settings: Config, *, had_speech: bool = True) -> Written:
        """The text of a whole dictation; empty when nothing of it is to be delivered."""
        allow = settings.output.allow_newlines
        clean = [sanitize(part, allow_newlines=allow) for part in parts]
        heard = process(join(clean), had_speech=had_speech, allow_newlines=allow)
        if not heard:
            return Written("", "")
        text = self._ruled(clean, settings)
        if not settings.cleanup.enabled or not text:
            return Written(text, heard)
        if self.cleaner is None:
            log.warning("warning: no clean-up: [cleanup] is not set up in this process; the text is delivered as is")
            return Written(text, heard)
        started = time.monotonic()
        try:
            text = self.cleaner.clean(text, settings)
        except Exception as exc:  # whatever went wrong, the transcript is delivered as heard
            log.warning("warning: no clean-up: %s; the text is delivered without it", describe(exc))
        return Written(text, heard, time.monotonic() - started)

    def partial(self, parts: Sequence[str], settings: Config) -> str:
        """The text of some parts after the rules, without the clean-up (for parts typed while speaking)."""
        allow = settings.output.allow_newlines
        return self._ruled([sanitize(part, allow_newlines=allow) for part in parts], settings)

    def _ruled(self, clean: list[str], settings: Config) -> str:
        rules = rules_for(settings)
        if not rules.active:
            return join(clean)
        allow = settings.output.allow_newlines
        ruled = apply(clean, rules)
        if "\n" in ruled and not allow:
            log.info(
                'a spoken "new line" became a space: a newline is sent as Enter only with [output] '
                "allow_newlines = true, and never to a terminal"
            )
        text = sanitize(ruled, allow_newlines=allow)
        if allow and text:
            # A spoken "new line" at either end is meant: sanitize would trim it with the spaces.
            lead, trail = _NEWLINES_AT_START.match(ruled), _NEWLINES_AT_END.search(ruled)
            text = (lead.group().replace(" ", "")[:2] if lead else "") + text
            text += trail.group().replace(" ", "")[:2] if trail else ""
        return text

    def close(self) -> None:
        if self.cleaner is not None:
            self.cleaner.close()
