"""A virtual microphone: a private PulseAudio server whose default source hears what we play.

PortAudio's ALSA "default" device routes to PulseAudio (Debian's pulseaudio + libasound2-plugins),
so `dictate` records through the real stack: PortAudio -> ALSA -> PulseAudio -> null sink monitor.
An idle null sink delivers no blocks, so a feeder keeps silence flowing; `play` mixes speech in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

NEEDED = ("pulseaudio", "pactl", "pacat", "paplay", "flite")


class RigUnavailable(RuntimeError):
    """The rig cannot start here; the reason says what is missing."""


def missing_tools(tools: tuple[str, ...]) -> list[str]:
    return [t for t in tools if shutil.which(t) is None]


class VirtualMic:
    def __init__(self, workdir: Path, rate: int = 16000) -> None:
        self.dir = workdir
        self.rate = rate
        self.socket = workdir / "run" / "pulse" / "native"
        self.env = {
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_RUNTIME_PATH": str(workdir / "run" / "pulse"),
            "PULSE_COOKIE": str(workdir / "cookie"),
        }
        self._server: subprocess.Popen[bytes] | None = None
        self._feeder: subprocess.Popen[bytes] | None = None

    def _run_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        env["HOME"] = str(self.dir / "home")
        env["XDG_RUNTIME_DIR"] = str(self.dir / "run")
        env["XDG_CONFIG_HOME"] = str(self.dir / "home" / ".config")
        return env

    def start(self) -> VirtualMic:
        missing = missing_tools(NEEDED)
        if missing:
            raise RigUnavailable(f"missing {', '.join(missing)} (apt-get install pulseaudio pulseaudio-utils flite)")
        (self.dir / "home").mkdir(parents=True, exist_ok=True)
        (self.dir / "run" / "pulse").mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir / "run", 0o700)
        script = self.dir / "vmic.pa"
        script.write_text(
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.socket}\n"
            f"load-module module-null-sink sink_name=vmic_sink rate={self.rate} channels=1\n"
            "load-module module-remap-source master=vmic_sink.monitor source_name=vmic channels=1\n"
            "set-default-sink vmic_sink\nset-default-source vmic\n"
        )
        log = open(self.dir / "pulseaudio.log", "wb")  # noqa: SIM115 - lives as long as the server
        self._server = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n", f"--file={script}", "--log-target=stderr"],
            env=self._run_env(),
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], env=self._run_env(), capture_output=True).returncode != 0:
            if self._server.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RigUnavailable(f"pulseaudio did not start: {(self.dir / 'pulseaudio.log').read_text()[-500:]}")
            time.sleep(0.05)
        self._feeder = subprocess.Popen(
            [
                "pacat",
                "--playback",
                "--device=vmic_sink",
                f"--rate={self.rate}",
                "--channels=1",
                "--format=s16le",
                "--latency-msec=20",
                "/dev/zero",
            ],
            env=self._run_env(),
            stdin=subprocess.DEVNULL,
        )
        self._warm_up()
        return self

    def _warm_up(self) -> None:
        """A fresh server takes a second or two before its first recording stream delivers anything;
        wait that out here, so no test measures or trips over it."""
        reader = subprocess.Popen(["parec", "--device=vmic", "--raw"], env=self._run_env(), stdout=subprocess.PIPE)
        try:
            assert reader.stdout is not None
            reader.stdout.read(3200)  # 0.1 s of audio has arrived
        finally:
            reader.kill()
            reader.wait()

    def play(self, clip: Path, wait: bool = True) -> subprocess.Popen[bytes]:
        """Play a clip into the microphone (mixed over the silence feed)."""
        proc = subprocess.Popen(["paplay", "--device=vmic_sink", str(clip)], env=self._run_env())
        if wait:
            proc.wait(timeout=120)
        return proc

    def record(self, path: Path) -> subprocess.Popen[bytes]:
        """Record everything played into the microphone (cues included) to a WAV file until terminated."""
        return subprocess.Popen(
            [
                "parecord",
                "--device=vmic_sink.monitor",
                f"--rate={self.rate}",
                "--channels=1",
                "--file-format=wav",
                str(path),
            ],
            env=self._run_env(),
        )

    def stop(self) -> None:
        for proc in (self._feeder, self._server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self._feeder = self._server = None


def make_clip(text: str, path: Path, voice: str = "slt") -> Path:
    """Speak `text` into a 16 kHz mono WAV with flite (clear, reproducible speech)."""
    if not path.exists():
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True, capture_output=True)
    return path


def silence_clip(seconds: float, path: Path, rate: int = 16000) -> Path:
    import numpy as np
    import soundfile as sf

    sf.write(path, np.zeros(int(seconds * rate), dtype=np.int16), rate, subtype="PCM_16")
    return path


def concat_clips(parts: list[Path], path: Path, pause: float = 1.5, rate: int = 16000) -> Path:
    """Join clips with `pause` seconds of silence between them."""
    import numpy as np
    import soundfile as sf

    gap = np.zeros(int(pause * rate), dtype=np.int16)
    chunks: list[np.ndarray] = []
    for i, part in enumerate(parts):
        data, r = sf.read(part, dtype="int16")
        assert r == rate, f"{part} is {r} Hz"
        chunks.extend([gap] if i else [])
        chunks.append(data)
    sf.write(path, np.concatenate(chunks), rate, subtype="PCM_16")
    return path
