"""Asking a running process over its control socket: one JSON request, one JSON answer.

`gatectl`, `hub status` and the simulated venue all ask this way; the socket's server side is
`gate.control.socket`.
"""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any


class Unreachable(Exception):
    """The gate's control socket does not answer; the message says why."""


def ask(path: str, request: dict[str, Any], timeout: float = 15.0) -> dict[str, Any]:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                # refused before it was read (busy, too big): the reason is there to read
                sock.sendall(json.dumps(request).encode() + b"\n")
            with sock.makefile("rb") as replies:
                line = replies.readline()
    except FileNotFoundError as exc:
        raise Unreachable(f"no control socket at {path}: is the gate running?") from exc
    except PermissionError as exc:
        raise Unreachable(f"{path}: permission denied (join the wristgate group)") from exc
    except (ConnectionRefusedError, TimeoutError, OSError) as exc:
        raise Unreachable(f"{path}: {exc}") from exc
    if not line:
        raise Unreachable(f"{path}: the gate closed the connection without an answer")
    answer: dict[str, Any] = json.loads(line)
    return answer
