"""The gate's local control socket, for `gatectl` over SSH.

One JSON request per connection (`{"cmd": "status", ...}`), one JSON reply. The server thread
only passes requests to the daemon's loop (which owns the state) and waits for its answer.
The socket is created with mode 0660: the service user and its group (technicians) only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import socketserver
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_REQUEST = 64 * 1024
REPLY_TIMEOUT_S = 10.0


@dataclass
class ControlRequest:
    """A technician's request, answered by the daemon's loop through `reply`.

    It is carried out entirely or not at all: the loop `take`s it before acting, and an asker
    who stops waiting `give_up`s on it first, so a request whose asker was told it timed out
    is never carried out later (a scan decided after its answer was given up would surprise)."""

    command: str
    args: dict[str, Any]
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


class BadRequest(ValueError):
    """A request line that is not a command; the message says why."""


def parse_request(line: bytes) -> tuple[str, dict[str, Any]]:
    """The command and its arguments of one request line. Raises `BadRequest`."""
    if len(line) > MAX_REQUEST:
        raise BadRequest(f"a request is at most {MAX_REQUEST} bytes")
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


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        try:
            command, args = parse_request(self.rfile.readline(MAX_REQUEST))
        except BadRequest as exc:
            self._send({"ok": False, "error": f"bad request: {exc}"})
            return
        pending = ControlRequest(command, args)
        self.server.inbox.put(pending)
        try:
            answer = pending.reply.get(timeout=self.server.reply_timeout_s)
        except queue.Empty:
            if pending.give_up():
                answer = {"ok": False, "error": "the loop did not answer in time: not carried out"}
            else:
                answer = pending.reply.get()  # taken just now: it is being answered
        self._send(answer)

    def _send(self, answer: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # the client went away
            self.wfile.write(json.dumps(answer, default=str).encode() + b"\n")


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    inbox: queue.Queue[Any]
    reply_timeout_s: float


class ControlServer:
    def __init__(
        self, path: Path, inbox: queue.Queue[Any], reply_timeout_s: float = REPLY_TIMEOUT_S
    ) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_socket() or path.exists():
            path.unlink()  # a stale socket from a killed daemon
        self._server = _Server(str(path), _Handler)
        self._server.inbox = inbox
        self._server.reply_timeout_s = reply_timeout_s
        os.chmod(path, 0o660)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="control", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        log.info("control socket %s", self.path)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.path.unlink(missing_ok=True)
