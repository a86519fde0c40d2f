"""Real audio files in the formats people upload, encoded here with PyAV (FFmpeg's encoders as a wheel)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

# suffix -> (container, codec, rate, channels)
FORMATS = {
    "m4a": ("mp4", "aac", 16000, "mono"),
    "aac": ("adts", "aac", 16000, "mono"),
    "webm": ("webm", "libopus", 48000, "mono"),
    "mp3": ("mp3", "libmp3lame", 16000, "mono"),
    "ogg": ("ogg", "vorbis", 44100, "stereo"),  # FFmpeg's own Vorbis encoder writes stereo only
    "opus": ("ogg", "libopus", 48000, "mono"),
}


def encode(source: Path, suffix: str, folder: Path) -> Path:
    """`source` (a WAV) encoded as a .`suffix` file in `folder`."""
    import av

    container, codec, rate, layout = FORMATS[suffix]
    samples, source_rate = sf.read(source, dtype="int16", always_2d=True)
    mono = np.ascontiguousarray(samples[:, 0])
    path = folder / f"{source.stem}.{suffix}"
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout, options={"strict": "experimental"})
        frame = av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = source_rate
        frame.pts, frame.time_base = 0, Fraction(1, source_rate)  # the Ogg muxer needs timestamps
        fmt = stream.codec_context.format.name
        size = stream.codec_context.frame_size or 1024  # codecs with no frame size still want small frames
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate, frame_size=size)
        for piece in [*resampler.resample(frame), *resampler.resample(None)]:
            out.mux(stream.encode(piece))
        out.mux(stream.encode(None))
    return path
