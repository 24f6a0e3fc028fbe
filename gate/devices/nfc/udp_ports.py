"""The ports nfcpy's ``udp:HOST:PORT`` link can open.

nfcpy's udp driver turns the port back into text with ``getnameinfo`` and reads that text as a
number, so a port the system's services database names (``/etc/services``: 60179 is ``fido``,
9 is ``discard``) fails to open with ``invalid literal for int()``. A gate's configuration refuses
such a port with that reason; the emulator and the tests never pick one.
"""

from __future__ import annotations

import socket

_LOOPBACK = "127.0.0.1"


def port_name(port: int) -> str | None:
    """The name nfcpy's udp driver would read for `port`, or None when it reads a number."""
    _, service = socket.getnameinfo((_LOOPBACK, port), socket.NI_NUMERICHOST)
    return None if service.isdigit() else service


def bind_openable(sock: socket.socket, host: str) -> socket.socket:
    """Bind the UDP socket `sock` to a free port of `host` that nfcpy can open; return the
    socket bound (a new one, of the same kind, when the system first picked a named port)."""
    sock.bind((host, 0))
    while port_name(sock.getsockname()[1]) is not None:
        sock.close()
        sock = socket.socket(sock.family, sock.type)
        sock.bind((host, 0))
    return sock


def free_udp_port(host: str = _LOOPBACK) -> int:
    """A UDP port of `host` with nothing on it right now that nfcpy can open: a reader searching
    there finds no band."""
    with bind_openable(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), host) as probe:
        return int(probe.getsockname()[1])
