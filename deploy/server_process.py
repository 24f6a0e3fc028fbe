"""A server program run for the tests, the demo and the benches (Mosquitto, `nats-server`):
started on its configuration file with its output kept, waited for until it listens, stopped
cleanly or killed as a power cut would. `Broker` and `NatsNode` are its two kinds."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from deploy.broker import BrokerError


class PortTaken(Exception):
    """Another process took a port between our probe and the server's bind: try another."""


def accepts(host: str, port: int) -> bool:
    """Whether something listens on host:port now."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), 0.2):
        return True
    return False


class ServerProcess(ABC):
    START_TIMEOUT_S = 10.0
    STOP_TIMEOUT_S = 10.0
    _process: subprocess.Popen[bytes] | None = None

    @abstractmethod
    def _outputs(self) -> tuple[Path, ...]:
        """The files what the server says goes to, in the order it says it."""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def tail(self, lines: int = 8) -> str:
        """The last lines the server said, on one line, for an error message."""
        text = "".join(p.read_text(errors="replace") for p in self._outputs() if p.exists())
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"

    def _spawn_and_wait(
        self,
        argv: list[str],
        output: Path,
        name: str,
        listening: Callable[[], bool],
        own_session: bool = False,
    ) -> None:
        """Start `argv` with its output to `output` and return once `listening()`; `PortTaken`
        when it exited because a port is in use, `BrokerError` for any other end."""
        with output.open("ab") as out:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=own_session,  # its own group: killed alone, never its caller
            )
        deadline = time.monotonic() + self.START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = self.tail()
                if "address already in use" in tail.lower():
                    raise PortTaken
                raise BrokerError(f"{name} exited with {self._process.returncode}: {tail}")
            if listening():
                return
            time.sleep(0.02)
        self.kill()
        raise BrokerError(f"{name} did not listen in {self.START_TIMEOUT_S} s: {self.tail()}")

    def stop(self) -> None:
        """SIGTERM (a clean shutdown: Mosquitto saves its persistence file), then wait; SIGKILL
        if it hangs."""
        if not self.running or self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(self.STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as a power cut would: whatever was not saved yet is lost."""
        if not self.running or self._process is None:
            return
        self._process.kill()
        self._process.wait()
