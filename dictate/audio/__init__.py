"""Audio as data, pure numpy/soundfile: recordings and their encodings (`recording`), reading input
files in blocks (`inputs`, `decoders`), speech detection (`vad`), the silence gate for files (`trim`),
and cutting into parts (`split`)."""

from dictate.audio.inputs import AudioInput, open_input, read_file
from dictate.audio.recording import WHISPER_RATE, EncodedAudio, Recording, decode, encode, resample
from dictate.audio.split import DICTATION_STEPS, PauseSplitter, dictation_steps, split_at_pauses, split_for_upload
from dictate.audio.trim import SpeechTrimmer
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
    "AudioInput",
    "EncodedAudio",
    "FrameGate",
    "PauseSplitter",
    "Recording",
    "SpeechTracker",
    "SpeechTrimmer",
    "VadGate",
    "decode",
    "dictation_steps",
    "encode",
    "frame_levels",
    "has_speech",
    "open_input",
    "peak_dbfs",
    "read_file",
    "resample",
    "speech_gate",
    "speech_seconds",
    "split_at_pauses",
    "split_for_upload",
]
