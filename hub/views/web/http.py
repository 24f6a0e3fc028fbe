"""The hub's HTTP/1.1 server: bounded in time, threads and size, and strict about what it reads.

One event-loop thread accepts connections and reads each request head and body itself, with a
deadline (`header_timeout_s`, `body_timeout_s`): a connection that sends nothing, or one byte a
second, costs a buffer and no thread. Only a complete, valid request reaches a handler thread,
from a fixed pool (`workers`); when the pool is busy, requests wait in the loop's queue. Past
`max_connections` open at once a new connection gets 503 at once. Server-sent event streams live
in the loop too (one display object computed per tick for all of them), bounded apart
(`max_streams`), and never timed out for reading: they only write.

Every malformed request gets a plain JSON error and the connection is closed, never a traceback
nor a silent drop:

    400  a head that is not ASCII, a bad request line, header or percent-encoding, a body on GET
    405  a method other than GET, HEAD or POST (POST: the desk's console, the incidents)
    408  the head or body did not arrive in time
    413  a body past MAX_BODY
    414  a target longer than MAX_TARGET
    421  a Host the hub does not answer to (DNS rebinding); 400 without one, but for HTTP/1.0
    431  a head past MAX_HEAD bytes or MAX_HEADERS lines
    503  too many connections or streams

Each refusal is counted by reason (`refused`, `wristgate_hub_http_refused_total`) and logged with
the peer and the reason, never the request's content. Every answer carries a Content Security
Policy (same origin only), `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
`Referrer-Policy: no-referrer`, and `Server: wristgate-hub` with no version.

Which hosts are answered: `allowed_hosts` from hub.toml, or by default the bind address,
`localhost`, `127.0.0.1`, `::1`, the machine's hostname (bare, `.local` and fully qualified) and
any IP address literal (an address typed as digits cannot be rebound to another site).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

from hub.views.web.request import (
    MAX_BODY,
    MAX_HEAD,
    Refused,
    Request,
    default_hosts,
    host_allowed,
    parse_head,
    parse_target,
)

log = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 10.0  # a reader whose send buffer stays full this long is dropped

SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
SERVER = "wristgate-hub"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Limits:
    workers: int = 8
    max_connections: int = 256
    max_streams: int = 32
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0


DEFAULT_LIMITS = Limits()
Handle = Callable[[Request], Answer]
# A stream: given the request, an async write function; returns when the stream ends.
Stream = Callable[[Request, Callable[[bytes], Awaitable[None]]], Awaitable[None]]


class HttpServer:
    """Serves `handle` (in the worker pool) and `streams` (on the loop) on one listening socket.

    The socket is bound when this is made; `serve_forever()` runs the loop in the calling
    thread until `shutdown()`."""

    def __init__(
        self,
        bind: str,
        port: int,
        handle: Handle,
        streams: dict[str, Stream],
        *,
        allowed_hosts: Iterable[str] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        self.socket = socket.create_server((bind, port), family=family, backlog=512)
        self.server_address = self.socket.getsockname()
        self.handle, self.streams, self.limits = handle, streams, limits
        hosts = default_hosts(bind) if allowed_hosts is None else allowed_hosts
        self.allowed_hosts = frozenset(h.lower().rstrip(".") for h in hosts)
        self.refused: Counter[str] = Counter()
        self.connections = 0
        self.streaming = 0
        self._pool = ThreadPoolExecutor(max_workers=limits.workers, thread_name_prefix="http")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopped = threading.Event()

    # --- lifecycle ------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        try:
            asyncio.run(self._main())
        finally:
            self._stopped.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, sock=self.socket, limit=MAX_HEAD)
        async with server:
            await self._stop.wait()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile
                loop.call_soon_threadsafe(stop.set)
            self._stopped.wait(timeout_s)

    def server_close(self) -> None:
        self.socket.close()

    # --- one connection -------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        self.connections += 1
        try:
            if self.connections > self.limits.max_connections:
                raise Refused(503, "too many connections; try again", "too_many_connections")
            request = await self._read(reader)
            if request.path in self.streams:
                await self._stream(request, writer)
                return
            answer = await asyncio.get_running_loop().run_in_executor(
                self._pool, self._answer, request
            )
            await self._write(writer, answer, head_only=request.head_only)
        except Refused as refused:
            self.refused[refused.counted_as] += 1
            log.info("http %s: refused %d (%s)", _peer(peer), refused.status, refused.counted_as)
            with contextlib.suppress(OSError, TimeoutError):
                await self._write(writer, _error(refused.status, refused.reason))
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            pass  # the client went away or stopped reading: nothing to answer
        finally:
            self.connections -= 1
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _read(self, reader: asyncio.StreamReader) -> Request:
        try:
            head = await asyncio.wait_for(
                reader.readuntil(b"\r\n\r\n"), self.limits.header_timeout_s
            )
        except TimeoutError:
            raise Refused(408, "the request head did not arrive in time", "head_timeout") from None
        except (asyncio.LimitOverrunError, ValueError):  # ValueError: the limit inside a chunk
            too_long = f"the request head is longer than {MAX_HEAD} bytes"
            raise Refused(431, too_long, "head_too_long") from None
        method, target, version, headers = parse_head(head[:-4])
        host = headers.get("host")
        if host is None and version != "HTTP/1.0":  # HTTP/1.0 clients may omit it; browsers never
            raise Refused(400, "an HTTP/1.1 request needs a Host header", "no_host")
        if host is not None and not host_allowed(host, self.allowed_hosts):
            raise Refused(421, "this hub does not answer to that Host", "wrong_host")
        if method not in ("GET", "HEAD", "POST"):
            raise Refused(405, "only GET, HEAD and POST", "bad_method")
        if "transfer-encoding" in headers:
            raise Refused(400, "no request body is read here", "body")
        length = headers.get("content-length", "0")
        if not length.isdigit():
            raise Refused(400, "Content-Length must be a number", "bad_header")
        if int(length) > MAX_BODY:
            raise Refused(413, f"a request body is at most {MAX_BODY} bytes", "body_too_long")
        body = b""
        if int(length):
            try:
                body = await asyncio.wait_for(
                    reader.readexactly(int(length)), self.limits.body_timeout_s
                )
            except TimeoutError:
                raise Refused(408, "the body did not arrive in time", "body_timeout") from None
        path, query = parse_target(target)
        return Request(method, path, query, headers, body if method == "POST" else b"")

    def _answer(self, request: Request) -> Answer:
        """The handler's answer, in a worker thread; a bug answers 500 without details."""
        try:
            return self.handle(request)
        except Exception:
            log.exception("http: %s %s failed", request.method, request.path[:80])
            self.refused["internal_error"] += 1
            return _error(500, "internal error; the hub's log says more")

    async def _write(
        self, writer: asyncio.StreamWriter, answer: Answer, head_only: bool = False
    ) -> None:
        reason = _phrase(answer.status)
        own = {name.lower() for name, _ in answer.headers}  # an answer's own policy replaces ours
        headers = [
            ("Server", SERVER),
            ("Date", formatdate(usegmt=True)),
            ("Content-Type", answer.content_type),
            ("Content-Length", str(len(answer.body))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
            *(h for h in SECURITY_HEADERS if h[0].lower() not in own),
            *answer.headers,
        ]
        head = f"HTTP/1.1 {answer.status} {reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers
        )
        writer.write(head.encode("latin-1") + b"\r\n" + (b"" if head_only else answer.body))
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)

    async def _stream(self, request: Request, writer: asyncio.StreamWriter) -> None:
        if self.streaming >= self.limits.max_streams:
            raise Refused(503, "too many display streams open; try again", "too_many_streams")
        self.streaming += 1
        try:
            head = [
                "HTTP/1.1 200 OK",
                f"Server: {SERVER}",
                "Content-Type: text/event-stream",
                "Cache-Control: no-store",
                "Connection: close",
                *(f"{k}: {v}" for k, v in SECURITY_HEADERS),
            ]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)
            if request.head_only:
                return

            async def send(data: bytes) -> None:
                writer.write(data)
                await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)

            await self.streams[request.path](request, send)
        finally:
            self.streaming -= 1

    def run_blocking(self, compute: Callable[[], Any]) -> Awaitable[Any]:
        """`compute()` in the worker pool, awaited on the loop (for streams)."""
        return asyncio.get_running_loop().run_in_executor(self._pool, compute)


class SharedFeed:
    """A value computed in the pool at most once per `every_s` however many streams ask, and
    at once when `changes()` (cheap: asked at every look) differs from the last computation's."""

    def __init__(
        self,
        server: HttpServer,
        compute: Callable[[], Any],
        every_s: float,
        changes: Callable[[], object] = lambda: None,
    ) -> None:
        self.server, self.compute, self.every_s = server, compute, every_s
        self.changes, self.seen = changes, changes()
        self.value: Any = None
        self.at = -1e9
        self._lock: asyncio.Lock | None = None

    async def latest(self) -> Any:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            seen = self.changes()
            if time.monotonic() - self.at >= self.every_s or seen != self.seen:
                self.value = await self.server.run_blocking(self.compute)
                self.at, self.seen = time.monotonic(), seen
            return self.value


def _error(status: int, reason: str) -> Answer:
    headers: tuple[tuple[str, str], ...] = ()
    if status == 405:
        headers = (("Allow", "GET, HEAD, POST"),)
    if status == 401:
        headers = (("WWW-Authenticate", 'Bearer realm="wristgate hub"'),)
    return Answer(status, json.dumps({"error": reason}).encode(), "application/json", headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


def _peer(peer: Any) -> str:
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else "?"
