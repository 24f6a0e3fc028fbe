"""systemd's notify protocol (READY, WATCHDOG, STATUS, STOPPING), with no dependency.

Outside systemd (no NOTIFY_SOCKET) every call does nothing, so the daemon runs the same by hand.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        # ping at half the watchdog period, as systemd recommends
        self.watchdog_interval_s = int(usec) / 2_000_000 if usec.isdigit() else None

    def send(self, message: str) -> bool:
        if not self._address:
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(message.encode(), self._address)
            except OSError:
                return False
        return True

    def ready(self, status: str) -> bool:
        return self.send(f"READY=1\nSTATUS={status}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, status: str) -> bool:
        return self.send(f"STATUS={status}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")
