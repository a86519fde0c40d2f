"""`dictate transcribe` as a user meets it, on every kind of input: real subprocesses, the rig's server
recognising what it receives (pocketsphinx), peak memory read from the kernel.

One line of text per file in order; a bad file is one stderr line naming it, the others go on, and the
exit is 1 (2 when every file was unusable)."""

from __future__ import annotations

import os
import resource
import shutil
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import write_config
from tests.rig import proc
from tests.rig.chat import ChatReply
from tests.rig.memory import run_measured
from tests.rig.server import Reply, TranscriptionServer

PHRASE = "the quick brown fox jumps over the lazy dog"
HEARD = "quick brown fox"  # what pocketsphinx reliably recognises of it
Clip = Callable[[str], Path]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    peak_mb: float  # the process's peak resident memory


def transcribe(
    *files: str | Path, env: dict[str, str], timeout: float = 120, prefix: tuple[str, ...] = (), as_limit: int = 0
) -> Run:
    """Run `dictate transcribe FILES` with its peak RSS measured (as_limit: an address-space limit)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))

    command = [*prefix, *proc.dictate_cmd("transcribe", *map(str, files))]
    try:
        done, peak_mb = run_measured(
            command, env, timeout=timeout, cwd=proc.ROOT, preexec_fn=limit if as_limit else None
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"transcribe did not end within {timeout} s; stderr:\n{exc.stderr!r}") from None
    return Run(done.returncode, done.stdout, done.stderr, peak_mb)


def error_lines(run: Run) -> list[str]:
    lines = run.stderr.strip().splitlines()
    assert "Traceback" not in run.stderr and "unexpected" not in run.stderr, run.stderr
    assert all(line.startswith("dictate: ") for line in lines), run.stderr
    return lines


@pytest.fixture
def recognizer(home: Path) -> Iterator[TranscriptionServer]:
    """A server that answers with what pocketsphinx hears in each upload."""
    with TranscriptionServer(recognize=True) as server:
        write_config(home, f'[api]\nbase_url = "{server.base_url}"\n')
        yield server


@pytest.fixture
def canned(home: Path, server: TranscriptionServer) -> TranscriptionServer:
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\n')
    return server


@pytest.fixture
def speech(clip: Clip) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(clip(PHRASE), dtype="float32")
    return samples, rate


def wav_header(channels: int, rate: int, bits: int, data_bytes: int, fmt: int = 1) -> bytes:
    block = channels * bits // 8
    fields = struct.pack("<IHHIIHH", 16, fmt, channels, rate, (rate * block) & 0xFFFFFFFF, block, bits)
    riff = struct.pack("<I", (36 + data_bytes) & 0xFFFFFFFF)
    return b"RIFF" + riff + b"WAVEfmt " + fields + b"data" + struct.pack("<I", data_bytes & 0xFFFFFFFF)


def sparse_silent_wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    data = int(seconds * rate) * 2
    with path.open("wb") as f:
        f.write(wav_header(1, rate, 16, data))
        f.truncate(44 + data)  # zeros that take no disk
    return path


# ---- case 1: every sample format, scaled ----------------------------------------------------------


@pytest.mark.parametrize(
    ("subtype", "rate", "channels"),
    [
        ("FLOAT", 16000, 1),
        ("DOUBLE", 16000, 1),
        ("PCM_U8", 16000, 1),
        ("PCM_24", 16000, 1),
        ("FLOAT", 44100, 2),
        ("PCM_16", 48000, 8),
    ],
)
def test_every_sample_format_is_heard(
    tmp_path: Path,
    user_env: dict[str, str],
    recognizer: TranscriptionServer,
    speech: tuple[np.ndarray, int],
    subtype: str,
    rate: int,
    channels: int,
) -> None:
    from dictate.audio import resample

    samples, source_rate = speech
    mono = resample((samples * 32767).astype(np.int16), source_rate, rate).astype(np.float32) / 32768
    path = tmp_path / f"speech {subtype} {rate} {channels}ch.wav"
    sf.write(path, np.repeat(mono[:, None], channels, axis=1), rate, subtype=subtype)
    run = transcribe(path, env=user_env)
    assert run.returncode == 0, run.stderr
    assert HEARD in run.stdout  # a float WAV used to go up as silence, and an empty line came back
    (upload,) = recognizer.uploads
    assert (upload.rate, upload.channels) == (16000, 1)


# ---- case 3 and 4: the silence gate, memory bounded ----------------------------------------------


def test_a_two_hour_silent_file_is_not_sent_and_memory_stays_small(
    tmp_path: Path, user_env: dict[str, str], canned: TranscriptionServer
) -> None:
    path = sparse_silent_wav(tmp_path / "two hours of nothing.wav", 2 * 3600)
    run = transcribe(path, env=user_env)
    assert run.returncode == 1
    assert error_lines(run) == [f"dictate: no speech heard in {path} (7200.0 s of audio); nothing sent"]
    assert run.stdout == ""
    assert canned.uploads == []
    assert run.peak_mb < 200  # it was 2 GB: the whole file was read, then uploaded in parts


def test_long_silences_are_not_sent(
    tmp_path: Path, user_env: dict[str, str], recognizer: TranscriptionServer, speech: tuple[np.ndarray, int]
) -> None:
    samples, rate = speech
    gap = np.zeros(rate * 120, dtype=np.float32)
    path = tmp_path / "speech, two minutes of silence, speech.wav"
    sf.write(path, np.concatenate([gap, samples, gap, samples, gap]), rate)
    run = transcribe(path, env=user_env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count(HEARD) == 2
    (upload,) = recognizer.uploads
    assert upload.seconds is not None and upload.seconds < 2 * len(samples) / rate + 2


def test_an_hour_of_speech_goes_in_bounded_parts_in_bounded_memory(
    tmp_path: Path, user_env: dict[str, str], canned: TranscriptionServer, speech: tuple[np.ndarray, int]
) -> None:
    from dictate.audio.trim import MAX_PART_SECONDS

    samples, rate = speech
    phrase = (np.concatenate([samples, np.zeros(rate, dtype=np.float32)]) * 32767).astype(np.int16)
    path = tmp_path / "an hour of speech.wav"
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as out:
        for _ in range(int(3600 / (len(phrase) / rate))):
            out.write(phrase)
    # Each part its own text: one that repeated the text before it, its prompt, would be taken for an echo.
    canned.queue(*(Reply(body={"text": f"Part {n} of the hour."}) for n in range(1, 100)))
    run = transcribe(path, env=user_env)
    assert run.returncode == 0, run.stderr
    assert len(canned.uploads) >= 6
    assert run.stdout == " ".join(f"Part {n} of the hour." for n in range(1, len(canned.uploads) + 1)) + "\n"
    assert all(u.seconds is not None and u.seconds <= MAX_PART_SECONDS for u in canned.uploads)
    assert run.peak_mb < 200  # 115 MB of samples: the file is never held whole


# ---- case 5: a header's claims do not size an allocation -----------------------------------------


def test_a_header_announcing_4_gb_allocates_nothing_like_it(
    tmp_path: Path, user_env: dict[str, str], canned: TranscriptionServer, speech: tuple[np.ndarray, int]
) -> None:
    samples, rate = speech
    path = tmp_path / "claims 4 GB.flac"
    sf.write(path, samples, rate)
    data = bytearray(path.read_bytes())
    # STREAMINFO's last 36 bits of its bytes 10..17 are the total samples: claim 2**31 (4 GB as int16).
    field = int.from_bytes(data[18:26], "big")
    data[18:26] = ((field & ~((1 << 36) - 1)) | 2**31).to_bytes(8, "big")
    path.write_bytes(bytes(data))
    run = transcribe(path, env=user_env, as_limit=2 * 2**30)  # a 4 GB allocation cannot happen here
    # It was "unexpected MemoryError: Unable to allocate 4.00 GiB". Now the audio that is there is sent.
    (line,) = error_lines(run)
    assert line.startswith(f"dictate: {path}: damaged after ")
    assert run.returncode == 1
    assert run.stdout == "Hello from the test server.\n"


# ---- case 6: FIFOs and devices wait a bounded time ------------------------------------------------


def test_a_fifo_with_no_writer_ends_with_one_line(
    tmp_path: Path, user_env: dict[str, str], canned: TranscriptionServer
) -> None:
    fifo = tmp_path / "nobody writes.fifo"
    os.mkfifo(fifo)
    run = transcribe(fifo, env=user_env, timeout=30)  # it used to hang here until killed
    assert run.returncode == 1
    assert error_lines(run) == [f"dictate: {fifo}: nothing came in 5 s (a pipe or device with no writer?)"]
    assert canned.uploads == []


def test_a_fifo_is_read_to_its_end(
    tmp_path: Path, user_env: dict[str, str], recognizer: TranscriptionServer, clip: Clip
) -> None:
    fifo = tmp_path / "speech.fifo"
    os.mkfifo(fifo)
    data = clip(PHRASE).read_bytes()

    def write() -> None:
        with fifo.open("wb") as f:
            f.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    run = transcribe(fifo, env=user_env, timeout=30)
    writer.join(5)
    assert run.returncode == 0, run.stderr
    assert HEARD in run.stdout


def test_a_pipe_on_stdin_is_read(user_env: dict[str, str], recognizer: TranscriptionServer, clip: Clip) -> None:
    done = subprocess.run(
        proc.dictate_cmd("transcribe", "/dev/stdin"),
        input=clip(PHRASE).read_bytes(),  # as in `ffmpeg ... | dictate transcribe /dev/stdin`
        env=user_env,
        capture_output=True,
        cwd=proc.ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert HEARD in done.stdout.decode()


# ---- case 7: going on past a bad file -------------------------------------------------------------


def test_good_files_are_transcribed_past_a_bad_one(
    tmp_path: Path, user_env: dict[str, str], recognizer: TranscriptionServer, clip: Clip
) -> None:
    good = clip(PHRASE)
    missing = tmp_path / "missing.wav"
    run = transcribe(good, missing, good, env=user_env)
    assert run.returncode == 1
    first, empty, last = run.stdout.split("\n")[:3]
    assert HEARD in first and empty == "" and HEARD in last and run.stdout.count("\n") == 3
    assert error_lines(run) == [f"dictate: {missing}: no such file"]
    assert len(recognizer.uploads) == 2


def test_exit_2_only_when_every_file_was_unusable(
    tmp_path: Path, user_env: dict[str, str], canned: TranscriptionServer
) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("not audio\n" * 40)
    run = transcribe(tmp_path / "a.wav", text, env=user_env)
    assert run.returncode == 2
    assert run.stdout == "\n\n"
    lines = error_lines(run)
    assert lines[0] == f"dictate: {tmp_path / 'a.wav'}: no such file"
    assert lines[1].startswith(f"dictate: {text}: not an audio file that can be read")
    silent = sparse_silent_wav(tmp_path / "silent.wav", 3)
    run = transcribe(tmp_path / "a.wav", silent, env=user_env)
    assert run.returncode == 1  # silence is not a usage error
    assert len(error_lines(run)) == 2
    assert canned.uploads == []


# ---- case 8: every kind of bad input --------------------------------------------------------------


def _bad_inputs(folder: Path, speech: np.ndarray, rate: int) -> dict[str, tuple[Path, int, str]]:
    """name -> (file, exit code, what its one line says)."""

    def put(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    pcm = (speech * 32767).astype("<i2").tobytes()
    flac = folder / "cut.flac"
    sf.write(flac, np.tile(speech, 3), rate)
    flac.write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    folder.joinpath("a folder.wav").mkdir()
    return {
        "empty file": (put("empty.wav", b""), 2, "empty file"),
        "header cut short": (put("cut header.wav", wav_header(1, rate, 16, 1000)[:30]), 2, "not an audio file"),
        "flac cut in half": (flac, 1, "damaged after"),
        "text named .wav": (put("text.wav", b"hello, this is text\n" * 30), 2, "not an audio file"),
        "directory": (folder / "a folder.wav", 2, "is a directory"),
        "zero channels": (put("zero ch.wav", wav_header(0, rate, 16, 200) + bytes(200)), 2, "not an audio file"),
        "zero rate": (put("zero rate.wav", wav_header(1, 0, 16, 200) + bytes(200)), 2, "not an audio file"),
        "1 sample": (put("one.wav", wav_header(1, rate, 16, 2) + b"\x01\x00"), 1, "too short"),
        "1 Hz": (put("1 Hz.wav", wav_header(1, 1, 16, len(pcm)) + pcm), 2, "sample rate of 1 Hz"),
        "4 GHz": (put("4 GHz.wav", wav_header(1, 0xFFFFFFFF, 16, 200) + bytes(200)), 2, "not an audio file"),
        "5000 channels": (put("5000 ch.wav", wav_header(5000, rate, 16, 20000) + bytes(20000)), 2, "not an audio"),
        "4 GB claimed, silence": (put("claims.wav", wav_header(1, rate, 16, 0xFFFFFFF0) + bytes(64)), 1, "too short"),
        "no speech": (put("noise.wav", wav_header(1, rate, 16, rate * 6) + bytes(rate * 6)), 1, "no speech heard in"),
    }


BAD = [
    "empty file",
    "header cut short",
    "flac cut in half",
    "text named .wav",
    "directory",
    "zero channels",
    "zero rate",
    "1 sample",
    "1 Hz",
    "4 GHz",
    "5000 channels",
    "4 GB claimed, silence",
    "no speech",
]


@pytest.mark.parametrize("case", BAD)
def test_every_bad_input_is_one_line_naming_it(
    tmp_path: Path, user_env: dict[str, str], canned: TranscriptionServer, speech: tuple[np.ndarray, int], case: str
) -> None:
    path, code, says = _bad_inputs(tmp_path, *speech)[case]
    run = transcribe(path, env=user_env, timeout=30)
    (line,) = error_lines(run)
    assert str(path) in line and says in line, line
    assert run.returncode == code, run.stderr
    if case == "flac cut in half":  # what came before the damage is still transcribed
        assert run.stdout == "Hello from the test server.\n"
    else:
        assert run.stdout == ""
        assert canned.uploads == []


def test_all_bad_inputs_at_once_each_get_their_line(
    tmp_path: Path, user_env: dict[str, str], canned: TranscriptionServer, speech: tuple[np.ndarray, int]
) -> None:
    bad = _bad_inputs(tmp_path, *speech)
    paths = [bad[case][0] for case in BAD]
    run = transcribe(*paths, env=user_env, timeout=60)
    assert run.returncode == 1
    assert run.stdout.count("\n") == len(paths)
    lines = error_lines(run)
    assert len(lines) == len(paths)
    for path, line in zip(paths, lines, strict=True):
        assert str(path) in line


def test_a_file_that_cannot_be_read_is_named(
    tmp_path: Path, user_env: dict[str, str], canned: TranscriptionServer, clip: Clip
) -> None:
    locked = tmp_path / "locked.wav"
    shutil.copy(clip(PHRASE), locked)
    locked.chmod(0)
    # root reads anything; without its capabilities it is an ordinary owner of a mode-0 file.
    prefix = ("setpriv", "--bounding-set", "-all", "--inh-caps", "-all", "--") if os.geteuid() == 0 else ()
    if prefix and shutil.which("setpriv") is None:
        pytest.skip("setpriv is needed to drop root's capabilities")
    run = transcribe(locked, env=user_env, prefix=prefix)
    assert run.returncode == 2
    assert error_lines(run) == [f"dictate: {locked}: permission denied"]


# ---- the text layer, as a dictation gets it (no profile: a file has no window) --------------------

TEXT_CONFIG = """[text]
vocabulary = ["Kubernetes"]
replacements = {{ "fast api" = "FastAPI" }}
commands = true
[cleanup]
enabled = true
base_url = "{url}"
model = "rig-model"
timeout = 2
"""
SAID = "um we deploy the fast api service comma on kubernetes period"
RULED = "um we deploy the FastAPI service, on Kubernetes."


def test_a_file_gets_the_rules_and_the_clean_up(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, clip: Clip
) -> None:
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\n' + TEXT_CONFIG.format(url=server.base_url))
    server.queue(Reply(body={"text": SAID}))
    run = transcribe(clip(PHRASE), env=user_env)
    assert (run.returncode, run.stdout) == (0, "We deploy the FastAPI service, on Kubernetes.\n"), run.stderr
    assert server.uploads[0].fields["prompt"] == "Kubernetes."  # the vocabulary, in the prompt
    assert server.chat.transcripts == [RULED]  # cleaned after the rules, as a dictation is
    assert error_lines(run) == []


def test_when_the_clean_up_fails_the_file_gets_the_rules_alone(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, clip: Clip
) -> None:
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\n' + TEXT_CONFIG.format(url=server.base_url))
    server.queue(Reply(body={"text": SAID}))
    server.chat.queue(ChatReply(status=500))
    run = transcribe(clip(PHRASE), env=user_env)
    assert (run.returncode, run.stdout) == (0, RULED + "\n"), run.stderr
    (line,) = error_lines(run)
    assert "no clean-up: HTTP 500 from 127.0.0.1" in line and line.endswith("the text is delivered without it")


def test_an_echo_of_the_prompt_is_no_speech_in_a_file_either(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, clip: Clip
) -> None:
    write_config(
        home, f'[api]\nbase_url = "{server.base_url}"\n[text]\nvocabulary = ["Kubernetes", "PostgreSQL", "Anthropic"]\n'
    )
    server.queue(Reply(body={"text": "Kubernetes, PostgreSQL, Anthropic."}))
    path = clip(PHRASE)
    run = transcribe(path, env=user_env)
    assert (run.returncode, run.stdout) == (1, "")
    assert error_lines(run) == [
        "dictate: the transcript of a part repeated the prompt, not speech: it is dropped",
        f"dictate: {path}: the server heard no words",
    ]


# ---- hostile texts and a stdout that cannot take them -----------------------------------------------


def test_hostile_texts_keep_one_line_per_file(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, clip: Clip
) -> None:
    """Newlines (even with allow_newlines), an emoji cut in half by a server that slices UTF-16 (a lone
    surrogate, which once failed the whole run), invisible characters: one clean line per file."""
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\n[output]\nallow_newlines = true\n')
    server.queue(
        Reply(body={"text": "line one\nrm -rf ~\n"}),
        Reply(body={"text": "emoji \ud83d cut"}),
        Reply(body={"text": "zero\u200bwidth\ufeff \U000e0069\U000e0067hidden"}),
    )
    path = clip(PHRASE)
    run = transcribe(path, path, path, env=user_env)
    assert (run.returncode, run.stdout) == (0, "line one rm -rf ~\nemoji cut\nzerowidth hidden\n"), run.stderr
    assert error_lines(run) == []


def test_a_stdout_that_cannot_take_the_text_is_one_line(
    home: Path, user_env: dict[str, str], server: TranscriptionServer, clip: Clip
) -> None:
    write_config(home, f'[api]\nbase_url = "{server.base_url}"\n')
    path = str(clip(PHRASE))
    command = " ".join(proc.dictate_cmd("transcribe", path))
    closed = subprocess.run(["bash", "-c", f"exec {command} >&-"], env=user_env, capture_output=True, text=True)
    assert (closed.returncode, closed.stderr) == (
        1,
        "dictate: standard output is closed: the text could not be printed\n",
    )
    with open("/dev/full", "w") as full:
        refused = subprocess.run(
            proc.dictate_cmd("transcribe", path), env=user_env, stdout=full, stderr=subprocess.PIPE
        )
    assert refused.returncode == 1
    assert refused.stderr.decode() == "dictate: cannot print to standard output: No space left on device\n"
    server.queue(Reply(body={"text": "café 你好"}))
    narrow = subprocess.run(
        proc.dictate_cmd("transcribe", path), env={**user_env, "PYTHONIOENCODING": "ascii"}, capture_output=True
    )
    assert (narrow.returncode, narrow.stdout) == (0, "café 你好\n".encode()), narrow.stderr
