"""The silence gate for files: keep the speech of a long input with a margin around it, shorten the
long pauses, and cut what is kept into parts for upload, holding at most one part in memory."""

from __future__ import annotations

from collections import deque

import numpy as np

from dictate.audio.recording import Recording
from dictate.audio.vad import FRAME_SECONDS, MIN_SPEECH_SECONDS, frame_levels, speech_gate

PAD_SECONDS = 0.4  # of a pause kept on each side of speech; longer pauses shrink to twice this
# WebRTC's VAD calls the first few frames of any stream speech, even digital silence.
WARMUP_SECONDS = 0.2
QUIET_DBFS = -60.0  # a frame quieter than this is never speech
PART_SECONDS = 300.0  # a part ends at the first long pause after this
MAX_PART_SECONDS = 600.0  # or, with no long pause, at the quietest moment of its last third


class SpeechTrimmer:
    """Feed blocks of a long input; get back parts (Recordings) holding its speech, in order.

    A frame is speech when WebRTC's VAD says so and it is not near-silent. Everything within
    `pad_seconds` of speech is kept, so a pause up to twice that stays whole and a longer one keeps
    its two ends. Before the first word and after the last, only the margin is kept. A part ends at
    a pause that was shortened once it is `part_seconds` long, or at its quietest moment when it
    reaches `max_part_seconds`.
    """

    def __init__(
        self,
        rate: int,
        *,
        part_seconds: float = PART_SECONDS,
        max_part_seconds: float = MAX_PART_SECONDS,
        pad_seconds: float = PAD_SECONDS,
    ) -> None:
        self.rate = rate
        self._gate = speech_gate(rate)
        self.frame = self._gate.frame
        pad = max(1, round(pad_seconds / FRAME_SECONDS))
        self._warmup = round(WARMUP_SECONDS / FRAME_SECONDS)
        self._part_min = int(part_seconds * rate)
        self._part_max = max(int(max_part_seconds * rate), 3 * self.frame)
        self._pad = pad
        self._pending = np.empty(0, dtype=np.int16)
        self._part: list[np.ndarray] = []  # frames of the current part
        self._flags: list[bool] = []  # and whether each is speech
        self._lead: deque[np.ndarray] = deque(maxlen=pad)  # the end of the pause so far
        self._shortened = False  # frames of the current pause were dropped
        self._tail = 0  # frames still to keep after the last speech frame
        self.frames = 0  # frames classified
        self.speech_frames = 0
        self.samples_read = 0
        self.samples_kept = 0  # in parts handed out

    @property
    def seconds_read(self) -> float:
        return self.samples_read / self.rate

    @property
    def speech_seconds(self) -> float:
        return self.speech_frames * FRAME_SECONDS

    @property
    def has_speech(self) -> bool:
        return self.speech_seconds >= MIN_SPEECH_SECONDS

    def feed(self, block: np.ndarray) -> list[Recording]:
        """Add a block; return the parts it completed."""
        block = block.reshape(-1)
        self.samples_read += len(block)
        data = np.concatenate([self._pending, block]) if len(self._pending) else block
        whole = len(data) // self.frame * self.frame
        self._pending = data[whole:].copy()
        frames = data[:whole].reshape(-1, self.frame)
        flags = self._gate.feed(data[:whole])
        levels = frame_levels(data[:whole], self.rate)
        parts: list[Recording] = []
        for frame, flag, level in zip(frames, flags, levels, strict=True):
            speech = flag and level > QUIET_DBFS and self.frames >= self._warmup
            self.frames += 1
            if speech:
                if self._shortened and len(self._part) * self.frame >= self._part_min:
                    parts.append(self._take(len(self._part)))
                self._keep_lead()
                self._add(frame, True)
                self.speech_frames += 1
                self._tail = self._pad
            elif self._tail:
                self._add(frame, False)
                self._tail -= 1
            else:
                self._shortened = self._shortened or len(self._lead) == self._lead.maxlen
                self._lead.append(frame)
            if len(self._part) * self.frame >= self._part_max:
                parts.append(self._take(self._quietest_cut()))
        return parts

    def finish(self) -> list[Recording]:
        """The last part, if it holds speech (the margin after the last word included)."""
        if self._tail and len(self._pending):
            self._part.append(self._pending)
            self._flags.append(False)
        self._pending = np.empty(0, dtype=np.int16)
        if not self.has_speech or not any(self._flags):
            self._part, self._flags = [], []
            return []
        return [self._take(len(self._part))]

    def _add(self, frame: np.ndarray, speech: bool) -> None:
        self._part.append(frame)
        self._flags.append(speech)

    def _keep_lead(self) -> None:
        for frame in self._lead:
            self._add(frame, False)
        self._lead.clear()
        self._shortened = False

    def _quietest_cut(self) -> int:
        """Frames before the quietest frame of the part's last third (the latest of equally quiet)."""
        start = len(self._part) * 2 // 3
        levels = frame_levels(np.concatenate(self._part[start:]), self.rate)
        return start + len(levels) - 1 - int(np.argmin(levels[::-1]))

    def _take(self, count: int) -> Recording:
        """Hand out the first `count` frames of the current part as a Recording."""
        taken = self._part[:count]
        self._part, self._flags = self._part[count:], self._flags[count:]
        samples = np.concatenate(taken) if taken else np.empty(0, dtype=np.int16)
        self.samples_kept += len(samples)
        return Recording(samples, self.rate)
