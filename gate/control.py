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
    """A technician's request, answered by the daemon's loop through `reply`."""

    command: str
    args: dict[str, Any]
    reply: queue.Queue[dict[str, Any]] = field(default_factory=lambda: queue.Queue(maxsize=1))


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        line = self.rfile.readline(MAX_REQUEST)
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
                raise ValueError("a request is a JSON object with a string 'cmd'")
        except ValueError as exc:
            self._send({"ok": False, "error": f"bad request: {exc}"})
            return
        command = request.pop("cmd")
        pending = ControlRequest(command, request)
        self.server.inbox.put(pending)
        try:
            answer = pending.reply.get(timeout=REPLY_TIMEOUT_S)
        except queue.Empty:
            answer = {"ok": False, "error": "the gate's loop did not answer in time"}
        self._send(answer)

    def _send(self, answer: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # the client went away
            self.wfile.write(json.dumps(answer, default=str).encode() + b"\n")


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    inbox: queue.Queue[Any]


class ControlServer:
    def __init__(self, path: Path, inbox: queue.Queue[Any]) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_socket() or path.exists():
            path.unlink()  # a stale socket from a killed daemon
        self._server = _Server(str(path), _Handler)
        self._server.inbox = inbox
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
