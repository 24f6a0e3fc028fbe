"""A loopback TCP relay between one gate and the broker, which the harness can cut: a partition.

    relay = Relay(upstream_port=broker.port).start()     # the gate's config says relay.port
    relay.cut()      # every connection through it is dropped; new ones are closed at once
    relay.heal()     # connections pass again; the gate's link reconnects by itself

Cutting closes both ends (the gate sees its connection reset, as when a cable is pulled and
the switch port goes down), and nothing passes until `heal`. Only 127.0.0.1 is ever used.
"""

from __future__ import annotations

import contextlib
import socket
import threading

LOOPBACK = "127.0.0.1"
CHUNK = 65536


class Relay:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self._closed = False

    def start(self) -> Relay:
        threading.Thread(target=self._accept, name=f"relay-{self.port}", daemon=True).start()
        return self

    @property
    def is_cut(self) -> bool:
        return self._cut

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            doomed, self._open = self._open, set()
        for sock in doomed:
            _close(sock)

    def heal(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((LOOPBACK, self.upstream_port), timeout=2)
            except OSError:  # the broker is down: the gate sees its connection closed
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._cut:
                    doomed = True
                else:
                    doomed = False
                    self._open.update((client, upstream))
            if doomed:
                _close(client)
                _close(upstream)
                continue
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            with contextlib.suppress(OSError):  # reset or cut: the connection ends either way
                while data := src.recv(CHUNK):
                    dst.sendall(data)
        finally:
            with self._lock:
                self._open.discard(src)
                self._open.discard(dst)
            _close(src)
            _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class Relays(dict[str, Relay]):
    """One `Relay` per gate, made as the venue starts each gate (`Venue(relay=relays.dial)`)."""

    def dial(self, gate: str, upstream_port: int) -> int:
        """The port `gate` dials instead of the broker's `upstream_port`."""
        self[gate] = Relay(upstream_port).start()
        return self[gate].port

    def close(self) -> None:
        for relay in self.values():
            relay.close()
