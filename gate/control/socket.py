"""The local control socket of the gate (`gatectl`) and of the hub (`hub import-tickets`, ...).

One JSON request per connection (`{"cmd": "status", ...}`), one JSON reply. The server thread
only passes requests to the daemon's loop (which owns the state) and waits for its answer.
The socket is created with mode 0660: the service user and its group (technicians) only.

Every connection is bounded: at most MAX_CONNECTIONS at once (the next is told it is busy), a
request of at most `max_request` bytes, each read within IDLE_TIMEOUT_S and the whole request
within REQUEST_TIMEOUT_S (a client that connects and says nothing is dropped). Each request
carries who asked: the peer's uid, user name and pid as the kernel gives them (SO_PEERCRED),
which no client can forge; the daemons journal and log them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import queue
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.control.refusals import Reason, Refused, refusal

log = logging.getLogger(__name__)

MAX_REQUEST = 64 * 1024  # a command; the import commands raise it (ControlServer's max_request)
MAX_IMPORT_REQUEST = 16 << 20  # allowlist CSVs sent by gatectl and `hub import-tickets`
REPLY_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 5.0  # between two reads of a request
REQUEST_TIMEOUT_S = 30.0  # for the whole request
MAX_CONNECTIONS = 4  # served at once; requests queue on the loop one by one anyway


@dataclass(frozen=True)
class Peer:
    """Who is on the other end of a Unix socket, from the kernel (SO_PEERCRED)."""

    uid: int
    pid: int
    user: str

    def as_dict(self) -> dict[str, Any]:
        return {"uid": self.uid, "user": self.user, "pid": self.pid}

    def __str__(self) -> str:
        return f"uid {self.uid} ({self.user}) pid {self.pid}"


def peer_of(sock: socket.socket) -> Peer | None:
    """The peer's credentials, or None where the platform has no SO_PEERCRED."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, 12))
    except OSError:
        return None
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)  # no passwd entry (a container's uid): the number says it all
    return Peer(uid, pid, user)


def asked_by(peer: Peer | None) -> dict[str, Any]:
    """Who asked, as journalled: the kernel's word, or that it was not to be had."""
    return peer.as_dict() if peer is not None else {"uid": None, "user": "unknown", "pid": None}


def import_files(request: Any) -> tuple[str, dict[str, str]]:
    """The source name and the files' texts of an import request: `{"source": NAME, "files":
    {"tickets.csv": TEXT, ...}}`, as gatectl sends them. A path is refused: the daemon reads
    no file it is named, the operator's command reads it with the operator's own rights."""
    bad = Reason.BAD_REQUEST
    if isinstance(request, str):
        raise Refused(bad, "an import sends the files' text, not a path: use a current gatectl")
    if not isinstance(request, dict):
        raise Refused(bad, 'an import is {"source": NAME, "files": {FILE: TEXT, ...}}')
    source, files = request.get("source"), request.get("files")
    if not isinstance(source, str) or not isinstance(files, dict):
        raise Refused(bad, 'an import is {"source": NAME, "files": {FILE: TEXT, ...}}')
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise Refused(bad, "an import's files are text by file name")
    return source[:200], files


@dataclass
class ControlRequest:
    """A technician's request, answered by the daemon's loop through `reply`.

    It is carried out entirely or not at all: the loop `take`s it before acting, and an asker
    who stops waiting `give_up`s on it first, so a request whose asker was told it timed out
    is never carried out later (a scan decided after its answer was given up would surprise)."""

    command: str
    args: dict[str, Any]
    peer: Peer | None = None  # who asked (SO_PEERCRED)
    reply: queue.Queue[dict[str, Any]] = field(default_factory=lambda: queue.Queue(maxsize=1))
    _state: str = "waiting"  # waiting | taken | abandoned
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        """The loop: True if it is to carry the request out, False if the asker gave up."""
        with self._lock:
            if self._state == "abandoned":
                return False
            self._state = "taken"
            return True

    def give_up(self) -> bool:
        """The asker: True if the request will not be carried out, False if the loop has taken
        it already (its answer is on the way)."""
        with self._lock:
            if self._state == "taken":
                return False
            self._state = "abandoned"
            return True


class BadRequest(Refused):
    """A request line that is not a command; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(Reason.BAD_REQUEST, message)


def parse_request(line: bytes, max_request: int = MAX_REQUEST) -> tuple[str, dict[str, Any]]:
    """The command and its arguments of one request line. Raises `BadRequest`."""
    if len(line) > max_request:
        raise BadRequest(f"a request is at most {max_request} bytes")
    try:
        request = json.loads(line)
    except RecursionError:
        raise BadRequest("nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"not JSON: {exc}") from None
    except UnicodeDecodeError:
        raise BadRequest("not JSON: not UTF-8 text") from None
    except ValueError:  # the only other: a number of thousands of digits
        raise BadRequest("not JSON: a number too long to read") from None
    if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
        raise BadRequest("a request is a JSON object with a string 'cmd'")
    command = request.pop("cmd")
    return command, request


class _Refused(Exception):
    """A request that is not read to its end: too big, too slow. The message says which;
    `reason` is its counter's name."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_request(sock: socket.socket, max_request: int) -> bytes:
    """One request line from `sock`, within the idle and request timeouts and `max_request`
    bytes. Raises `_Refused`."""
    deadline = time.monotonic() + REQUEST_TIMEOUT_S
    received = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Refused(Reason.SLOW, f"the request took over {REQUEST_TIMEOUT_S:.0f} s to send")
        sock.settimeout(min(IDLE_TIMEOUT_S, left))
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            raise _Refused(Reason.IDLE, f"nothing received for {IDLE_TIMEOUT_S:.0f} s") from None
        if not chunk:
            return bytes(received)  # the client finished without a newline: take what came
        end = chunk.find(b"\n")
        received += chunk if end < 0 else chunk[:end]
        if len(received) > max_request:
            raise _Refused(Reason.TOO_BIG, f"a request is at most {max_request} bytes")
        if end >= 0:
            return bytes(received)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server
    request: socket.socket

    def handle(self) -> None:
        peer = peer_of(self.request)
        try:
            line = read_request(self.request, self.server.max_request)
            command, args = parse_request(line, self.server.max_request)
        except _Refused as exc:
            self.server.count(exc.reason)
            log.warning("control request from %s refused: %s", peer or "an unknown peer", exc)
            self._send(refusal(exc.reason, f"refused: {exc}"))
            return
        except BadRequest as exc:
            self.server.count(Reason.BAD_REQUEST)
            self._send(refusal(Reason.BAD_REQUEST, f"bad request: {exc}"))
            return
        except OSError:
            return  # the client went away
        pending = ControlRequest(command, args, peer)
        self.server.inbox.put(pending)
        try:
            answer = pending.reply.get(timeout=self.server.reply_timeout_s)
        except queue.Empty:
            if pending.give_up():
                self.server.count(Reason.LOOP_BUSY)
                said = "the loop did not answer in time: not carried out"
                answer = refusal(Reason.LOOP_BUSY, said)
            else:
                answer = pending.reply.get()  # taken just now: it is being answered
        self._send(answer)

    def _send(self, answer: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # the client went away, or stopped reading
            self.request.settimeout(IDLE_TIMEOUT_S)
            self.request.sendall(json.dumps(answer, default=str).encode() + b"\n")


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    inbox: queue.Queue[Any]
    reply_timeout_s: float
    max_request: int
    slots: threading.BoundedSemaphore
    refused: dict[str, int]

    counting = threading.Lock()  # the handlers' threads and the loop count alike

    def count(self, reason: Reason) -> None:
        with self.counting:
            self.refused[reason.value] = self.refused.get(reason.value, 0) + 1

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread per connection, up to MAX_CONNECTIONS; past that, `busy` at once."""
        if not self.slots.acquire(blocking=False):
            self.count(Reason.BUSY)
            with contextlib.suppress(OSError):
                request.settimeout(1.0)
                busy = refusal(Reason.BUSY, f"busy: {MAX_CONNECTIONS} requests in progress")
                request.sendall(json.dumps(busy).encode() + b"\n")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class ControlServer:
    def __init__(
        self,
        path: Path,
        inbox: queue.Queue[Any],
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        max_request: int = MAX_REQUEST,
    ) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_socket() or path.exists():
            path.unlink()  # a stale socket from a killed daemon
        self._server = _Server(str(path), _Handler)
        self._server.inbox = inbox
        self._server.reply_timeout_s = reply_timeout_s
        self._server.max_request = max_request
        self._server.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._server.refused = {}
        os.chmod(path, 0o660)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="control", daemon=True
        )

    @property
    def refused(self) -> dict[str, int]:
        """Requests refused before the loop carried them out, by reason (`Reason`): busy,
        idle, slow, too_big, bad_request, loop_busy."""
        return dict(self._server.refused)

    def count_refused(self, reason: Reason) -> None:
        """A request the loop refused (its journal could not commit, its arguments were bad):
        counted with those refused before they reached it."""
        self._server.count(reason)

    def start(self) -> None:
        self._thread.start()
        log.info("control socket %s", self.path)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.path.unlink(missing_ok=True)
