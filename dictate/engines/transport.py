"""The HTTP transport under the http engine, `doctor` and the clean-up's chat client: one keep-alive
session whose every request ends by its deadline, whatever the server does, and follows no redirect.

A socket timeout bounds each read, so a server that trickles its answer a byte at a time, or its
headers, or its TLS handshake, would hold a request for ever. Each request therefore gets a watchdog:
the sockets the request opens or reuses are noted (a thread-local attempt, filled in by the
connection classes below), and at the deadline the watchdog shuts them down, which ends any send or
recv blocked on them at once. The caller then gets a TranscriptionError that says what happened
(naming the settings of the transport's config section), and the session is replaced, so nothing of
the stalled connection is reused. The request runs on the caller's thread: nothing of it is left
running after its deadline.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from dictate.engines import TranscriptionError
from dictate.errors import redact
from dictate.text import sanitize

MAX_RESPONSE_BYTES = 8 * 1024 * 1024
CONNECT_TIMEOUT = 10.0
USER_AGENT = "dictate"
# What each config section's endpoint is, for the messages.
ENDPOINTS = {"api": "a transcription endpoint", "cleanup": "a chat endpoint"}


@dataclass(frozen=True)
class Answer:
    """An HTTP answer read whole (and within its deadline)."""

    status: int
    headers: Mapping[str, str]  # case-insensitive
    body: bytes
    seconds: float  # from sending to the last byte

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


# ---- the watchdog ------------------------------------------------------------------------------------


class _Attempt:
    """The sockets one request uses; `expire` shuts them down, ending any send or recv blocked on them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: set[tuple[int, Any, Any]] = set()
        self._expired = False
        self._finished = False

    def watch(self, sock: socket.socket) -> None:
        try:  # the descriptor and both ends name this connection, even once TLS has wrapped it
            ident = (sock.fileno(), sock.getsockname(), sock.getpeername())
        except OSError:
            return
        with self._lock:
            self._sockets.add(ident)
            late = self._expired and not self._finished
        if late:
            _shut_down(*ident)

    def expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self._expired = True
            sockets = list(self._sockets)
        for ident in sockets:
            _shut_down(*ident)

    def finish(self) -> bool:
        """End the attempt; True when the watchdog had fired."""
        with self._lock:
            self._finished = True
            return self._expired


def _shut_down(fd: int, local: Any, peer: Any) -> None:
    """Shut down the connection on descriptor `fd` if it is still the one noted (a TLS socket detaches
    the plain one it wraps, so the descriptor is what stays; both ends guard against its reuse)."""
    try:
        probe = socket.socket(fileno=fd)
    except OSError:
        return
    try:
        if probe.getsockname() == local and probe.getpeername() == peer:
            probe.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        probe.detach()  # the descriptor stays with its owner


_current = threading.local()


def _watch(sock: socket.socket | None) -> None:
    attempt = getattr(_current, "attempt", None)
    if attempt is not None and sock is not None:
        attempt.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def putrequest(self, method: str, url: str, skip_host: bool = False, skip_accept_encoding: bool = False) -> None:
        _watch(self.sock)  # a kept-alive connection, reused
        super().putrequest(method, url, skip_host=skip_host, skip_accept_encoding=skip_accept_encoding)


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)  # before the TLS handshake, which a server can trickle too
        return sock

    def putrequest(self, method: str, url: str, skip_host: bool = False, skip_accept_encoding: bool = False) -> None:
        _watch(self.sock)
        super().putrequest(method, url, skip_host=skip_host, skip_accept_encoding=skip_accept_encoding)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter, with connections the watchdog can see (direct and through an http(s) proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if urlsplit(proxy).scheme in _POOLS:
            manager.pool_classes_by_scheme = _POOLS
        return manager


# ---- the transport ---------------------------------------------------------------------------------


def display_host(url: str) -> str:
    """host[:port] of a URL, for messages (never a user name or password)."""
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = parts.hostname, None
    if not host:
        return "the server"
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


class Transport:
    """One keep-alive HTTP session; every request ends by its deadline and follows no redirect.
    `section` is the config section whose base_url and timeout its messages name."""

    def __init__(self, section: str = "api") -> None:
        self.section = section
        self._lock = threading.Lock()
        self._session = self._new_session()

    @staticmethod
    def _new_session() -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        adapter = _WatchedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def close(self) -> None:
        with self._lock:
            self._session.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        seconds: float,
        read_timeout: float,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        files: Any = None,
    ) -> Answer:
        """Send a request and read its whole answer within `seconds`; raise TranscriptionError for no
        answer in time (kind "timeout"), a network failure, or an answer over MAX_RESPONSE_BYTES."""
        host = display_host(url)
        seconds = max(seconds, 0.1)  # a budget spent to the last moment still gets a (short) try
        attempt = _Attempt()
        watchdog = threading.Timer(seconds, attempt.expire)
        watchdog.daemon = True
        started = time.monotonic()
        received: int | None = None  # body bytes; None until the headers are in
        with self._lock:
            session = self._session
        _current.attempt = attempt
        watchdog.start()
        try:
            with session.request(
                method,
                url,
                headers=dict(headers or {}),
                data=data,
                files=files,
                timeout=(min(CONNECT_TIMEOUT, seconds), min(read_timeout, seconds)),
                stream=True,
                allow_redirects=False,
            ) as response:
                received, chunks = 0, []
                for chunk in _chunks(response):
                    received += len(chunk)
                    if received > MAX_RESPONSE_BYTES:
                        raise TranscriptionError(
                            f"the answer from {host} exceeded {MAX_RESPONSE_BYTES // 2**20} MB; "
                            f"is [{self.section}] base_url {ENDPOINTS.get(self.section, 'right')}?",
                            kind="bad_response",
                        )
                    chunks.append(chunk)
                answer = Answer(response.status_code, response.headers, b"".join(chunks), time.monotonic() - started)
        except TranscriptionError:
            if attempt.finish():
                raise self._too_slow(host, received, started) from None
            raise
        except Exception as exc:
            if attempt.finish():  # the watchdog ended it: whatever broke, that is why
                raise self._too_slow(host, received, started) from None
            if isinstance(exc, requests.RequestException):
                raise network_error(exc, url, read_timeout, self.section) from None
            raise
        finally:
            watchdog.cancel()
            _current.attempt = None
        if attempt.finish():
            raise self._too_slow(host, received, started)
        return answer

    def _too_slow(self, host: str, received: int | None, started: float) -> TranscriptionError:
        with self._lock:  # nothing of the stalled connection is reused
            old, self._session = self._session, self._new_session()
        with contextlib.suppress(Exception):
            old.close()
        elapsed = time.monotonic() - started
        if received is None:
            what = f"no complete answer from {host} within {elapsed:.1f} s (the whole request, upload included)"
        else:
            what = f"{host} sent its answer too slowly: {received} bytes in {elapsed:.1f} s"
        return TranscriptionError(
            f"{what}; the server or the network may be overloaded: try again, or raise [{self.section}] timeout",
            kind="timeout",
            retryable=True,
        )


def _chunks(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives (read1 returns what is there, so the bytes of a trickle are counted)."""
    read1 = getattr(response.raw, "read1", None)  # urllib3 >= 2
    if read1 is None:
        yield from response.iter_content(64 * 1024)
        return
    try:
        while chunk := read1(64 * 1024, decode_content=True):
            yield chunk
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc


def network_error(
    exc: requests.RequestException, url: str, read_timeout: float, section: str = "api"
) -> TranscriptionError:
    """A readable, classified error for a request that got no HTTP answer ([section]'s settings named)."""
    host = display_host(url)
    text = repr(exc)
    if isinstance(exc, requests.Timeout) and not isinstance(exc, requests.ConnectTimeout):
        return TranscriptionError(
            f"no answer from {host} within {read_timeout:g} s; the server may be overloaded, "
            f"or raise [{section}] timeout",
            kind="timeout",
            retryable=True,
        )
    if isinstance(exc, requests.ConnectTimeout):
        return TranscriptionError(
            f"cannot connect to {host}: timed out; check the network and [{section}] base_url",
            kind="connect",
            retryable=True,
        )
    if "NameResolution" in text or "Name or service not known" in text or "name resolution" in text:
        return TranscriptionError(
            f"cannot resolve {urlsplit(url).hostname}: check [{section}] base_url and the network",
            kind="dns",
            retryable=True,
        )
    if "Connection refused" in text or "ConnectionRefused" in text:
        return TranscriptionError(
            f"connection refused by {host}: is the server running? check [{section}] base_url",
            kind="refused",
            retryable=True,
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return TranscriptionError(f"TLS failed with {host}: {short(exc)}", kind="tls")
    if isinstance(exc, requests.exceptions.ChunkedEncodingError) or "IncompleteRead" in text:
        return TranscriptionError(
            f"{host} closed the connection in the middle of its answer (the server or a proxy failed); try again",
            kind="connection",
            retryable=True,
        )
    if any(sign in text for sign in ("RemoteDisconnected", "Connection aborted", "ConnectionReset", "BrokenPipe")):
        return TranscriptionError(
            f"{host} closed the connection without answering; try again, and check that [{section}] base_url "
            "is an OpenAI-compatible server",
            kind="connection",
            retryable=True,
        )
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return TranscriptionError(f"invalid URL for {host}; check [{section}] base_url", kind="config")
    if isinstance(exc, requests.exceptions.InvalidHeader):
        return TranscriptionError(f"a header for {host} was refused as invalid: {short(exc)}", kind="config")
    return TranscriptionError(f"connection to {host} failed: {short(exc)}", kind="connection", retryable=True)


def short(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, on one line, redacted, then cut."""
    import re

    text = str(exc)
    inner = re.search(r"\(Caused by (\w+)\((?:[^:]*: )?(.*?)\)\)?\s*$", text)
    return sanitize(redact(inner.group(2) if inner else text))[:200] or type(exc).__name__
