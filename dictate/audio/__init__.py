"""Audio as data, pure numpy/soundfile: recordings and their encodings (`recording`), speech detection
(`vad`), and cutting into parts (`split`)."""

from dictate.audio.recording import WHISPER_RATE, EncodedAudio, Recording, decode, encode, read_file, resample
from dictate.audio.split import DICTATION_STEPS, PauseSplitter, dictation_steps, split_at_pauses, split_for_upload
from dictate.audio.vad import (
    FRAME_SECONDS,
    FrameGate,
    SpeechTracker,
    VadGate,
    frame_levels,
    has_speech,
    peak_dbfs,
    speech_gate,
    speech_seconds,
)

__all__ = [
    "DICTATION_STEPS",
    "FRAME_SECONDS",
    "WHISPER_RATE",
    "EncodedAudio",
    "FrameGate",
    "PauseSplitter",
    "Recording",
    "SpeechTracker",
    "VadGate",
    "decode",
    "dictation_steps",
    "encode",
    "frame_levels",
    "has_speech",
    "peak_dbfs",
    "read_file",
    "resample",
    "speech_gate",
    "speech_seconds",
    "split_at_pauses",
    "split_for_upload",
]
