"""Cutting audio into parts: live at pauses while the speaker goes on, and under the upload size limit."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dictate.audio.recording import EncodedAudio, Recording, encode
from dictate.audio.vad import FRAME_SECONDS, frame_levels, speech_gate
from dictate.errors import DictateError, ExitCode

# (part length, pause) pairs for dictation: a part may end at a pause of 0.5 s once it is 3 s long,
# at a shorter pause as it grows, so what is left to send on release stays a few seconds long.
DICTATION_STEPS = ((3.0, 0.5), (5.0, 0.25), (8.0, 0.15))


def dictation_steps(min_part_seconds: float = 0.0) -> tuple[tuple[float, float], ...]:
    """DICTATION_STEPS with no part shorter than `min_part_seconds`: every length moves up by the
    same amount, so the pauses asked for keep their order as a part grows."""
    shift = max(0.0, min_part_seconds - DICTATION_STEPS[0][0])
    return tuple((length + shift, pause) for length, pause in DICTATION_STEPS)


class PauseSplitter:
    """Cut a live stream into parts at pauses, so finished parts can be transcribed while the
    speaker goes on. `steps` lists (part length, pause) pairs: a part that holds speech and is at
    least that long ends in the middle of a pause at least that long. No cut falls inside a word.
    No steps: never cut.
    """

    def __init__(
        self,
        rate: int,
        steps: Sequence[tuple[float, float]] = DICTATION_STEPS,
        *,
        max_lead_seconds: float | None = None,
    ) -> None:
        self.rate = rate
        # Silence before the first word of a part beyond this is dropped (hands-free listening).
        self._max_lead = int(max_lead_seconds * rate) if max_lead_seconds is not None else None
        self._gate = speech_gate(rate)
        # (samples, pause frames), longest part first
        self._steps = sorted(
            ((int(length * rate), max(1, round(pause / FRAME_SECONDS))) for length, pause in steps), reverse=True
        )
        self._audio: list[np.ndarray] = []
        self._classified = 0  # samples of the current part already classified
        self._speech_frames = 0
        self._quiet_run = 0
        self.position = 0  # where the current part starts, in samples since the stream began

    def _pause_needed(self, length: int) -> int | None:
        """Frames of pause that end a part of `length` samples; None while it is too short."""
        return next((frames for samples, frames in self._steps if length >= samples), None)

    def feed(self, block: np.ndarray) -> list[np.ndarray]:
        """Add a block; return the parts this block completed, oldest first."""
        return [part for _start, part in self.feed_timed(block)]

    def feed_timed(self, block: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Like feed, with where each part starts (in samples since the stream began)."""
        self._audio.append(block.reshape(-1))
        parts = []
        for speech in self._gate.feed(block):
            self._classified += self._gate.frame
            if speech:
                self._speech_frames += 1
                self._quiet_run = 0
                continue
            self._quiet_run += 1
            if self._max_lead is not None and not self._speech_frames and self._classified > self._max_lead:
                self._drop(self._classified - self._max_lead)
                continue
            cut = self._classified - self._quiet_run * self._gate.frame // 2
            needed = self._pause_needed(cut)
            if needed is not None and self._quiet_run >= needed and self._speech_frames:
                parts.append((self.position, self._cut(cut)))
        return parts

    def _cut(self, at: int) -> np.ndarray:
        audio = np.concatenate(self._audio)
        part, rest = audio[:at], audio[at:]
        self._audio = [rest]
        self.position += at
        self._classified -= at
        self._speech_frames = 0
        self._quiet_run = self._classified // self._gate.frame
        return part

    def _drop(self, count: int) -> None:
        audio = np.concatenate(self._audio)
        self._audio = [audio[count:]]
        self._classified -= count
        self.position += count
        self._quiet_run = min(self._quiet_run, self._classified // self._gate.frame)

    def rest(self) -> np.ndarray:
        """Everything after the last cut."""
        return np.concatenate(self._audio) if self._audio else np.empty(0, dtype=np.int16)


def split_at_pauses(recording: Recording, max_seconds: float) -> list[Recording]:
    """Cut a recording into parts of at most `max_seconds`, each cut at the quietest moment of the
    last third of its window (a pause between words whenever there is one)."""
    rate, samples = recording.rate, recording.samples
    limit = int(max_seconds * rate)
    if len(samples) <= limit:
        return [recording]
    frame = max(1, int(rate * FRAME_SECONDS))
    parts, start = [], 0
    while len(samples) - start > limit:
        window_start = start + (limit * 2 // 3) // frame * frame
        levels = frame_levels(samples[window_start : start + limit], rate)
        if len(levels) == 0:
            cut = start + limit
        else:
            # Quietest frame; among equally quiet ones the latest, to keep parts long.
            quietest = len(levels) - 1 - int(np.argmin(levels[::-1]))
            cut = window_start + quietest * frame + frame // 2
        parts.append(Recording(samples[start:cut], rate))
        start = cut
    parts.append(Recording(samples[start:], rate))
    return parts


def split_for_upload(recording: Recording, fmt: str, max_bytes: int) -> list[tuple[Recording, EncodedAudio]]:
    """The recording, or parts of it cut at pauses, each encoded in `fmt` to at most max_bytes."""
    encoded = encode(recording, fmt)
    if len(encoded.data) <= max_bytes:
        return [(recording, encoded)]
    if recording.seconds < 1.0:
        raise DictateError(
            f"cannot fit audio into uploads of {max_bytes} bytes; raise [api] max_upload_mb", ExitCode.USAGE
        )
    seconds = recording.seconds * 0.95 * max_bytes / len(encoded.data)
    parts: list[tuple[Recording, EncodedAudio]] = []
    for part in split_at_pauses(recording, seconds):
        parts.extend(split_for_upload(part, fmt, max_bytes))  # a part still too large is cut again
    return parts
