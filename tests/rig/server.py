"""A real OpenAI-compatible transcription server on 127.0.0.1 for tests and benchmarks.

It parses real multipart uploads, records everything it receives, and answers with canned text,
with each provider's error shapes, after delays, by dropping the connection, or with what
pocketsphinx recognises in the upload (proof that real speech went through).

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


class TranscriptionServer:
    """`with TranscriptionServer(text="hi") as srv:` then point base_url at `srv.base_url`."""

    def __init__(
        self,
        text: str = "hello world",
        *,
        recognize: bool = False,
        key: str | None = None,
        delay_per_second: float = 0.0,
        port: int = 0,
        models: tuple[str, ...] = ("whisper-1",),
        formats: tuple[str, ...] | None = None,
    ) -> None:
        self.text = text
        self.models = models
        self.formats = formats  # soundfile format names accepted (e.g. ("WAV",) like an old whisper.cpp); None: all
        self.recognize = recognize
        self.key = key  # when set, requests without "Bearer <key>" get OpenAI's 401
        self.delay_per_second = delay_per_second
        self.received: list[Received] = []
        self.connections = 0
        self._replies: deque[Reply] = deque()
        self.chat = ChatEndpoint()  # POST /chat/completions, for the clean-up (tests/rig/chat.py)
        self._lock = threading.Lock()
        self._decoder: Any = None
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
            return self.chat.handle(received, received.body)
        authorized = self.key is None or received.headers.get("authorization") == f"Bearer {self.key}"
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
        if self.recognize:
            received.recognized = self._recognize(received.file_bytes)
        reply = self._next_reply() or Reply()
        if self.delay_per_second and received.seconds:
            reply.delay += self.delay_per_second * received.seconds
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
        self._respond(self.server.app.handle(received))
        received.answered_at = time.monotonic()

    def _respond(self, reply: Reply) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        if isinstance(reply.body, bytes):
            payload, ctype = reply.body, reply.content_type or "application/octet-stream"
        elif isinstance(reply.body, str) and reply.content_type and "json" not in reply.content_type:
            payload, ctype = reply.body.encode(), reply.content_type
        else:
            payload, ctype = json.dumps(reply.body).encode(), reply.content_type or "application/json"
        self.send_response(reply.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.drop:
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if self.command != "HEAD":
            self.wfile.write(payload)


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
    parser.add_argument("--delay-per-second", type=float, default=0.0, help="seconds of delay per audio second")
    args = parser.parse_args()
    server = TranscriptionServer(
        args.text, recognize=args.recognize, delay_per_second=args.delay_per_second, port=args.port
    )
    print(f"listening on {server.base_url}", flush=True)
    server._httpd.serve_forever()


if __name__ == "__main__":
    main()
