"""A real Mosquitto with the venue configuration (deploy/broker.py), run on a free loopback port
for the tests, the demo and the benches::

    with Broker(tmp_path, credentials=Credentials.generate(["E1", "X1"])) as broker:
        client.username_pw_set("E1", broker.credentials.password("E1"))
        client.connect(broker.host, broker.port)

It never listens beyond 127.0.0.1. Mosquitto comes from Debian's `mosquitto` package.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from deploy.broker import (
    BRIDGE_USER,
    LOOPBACK,
    BrokerConfigError,
    BrokerError,
    Credentials,
    TlsListener,
    add_user,
    check_port,
    check_prefix,
    find_program,
    render_config,
    write_acl,
)
from deploy.hq_bridge import HqBridge, bridge_acl, render_bridge
from gate.link.protocol import DEFAULT_PREFIX, Topics


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _run_as() -> str:
    """The `user` setting: as root, stay root (a test's files are root's); else it is ignored."""
    if os.geteuid() == 0:
        return pwd.getpwuid(0).pw_name
    return "mosquitto"


class Broker:
    """A real Mosquitto with the venue configuration, on a loopback port, for tests and the demo.

    `workdir` receives mosquitto.conf, passwd, acl, data/ (persistence) and mosquitto.log.
    Without `port`, a free one is picked; `restart()` keeps the port and the data. `tls` adds the
    TLS listener, on 127.0.0.1 too.
    """

    START_TIMEOUT_S = 10.0
    STOP_TIMEOUT_S = 10.0

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        port: int | None = None,
        *,
        credentials: Credentials | None = None,
        prefix: str = DEFAULT_PREFIX,
        tls: TlsListener | None = None,
        roster: Mapping[str, str] | None = None,
        bridge: HqBridge | None = None,
    ) -> None:
        """`roster`: gate id -> role; its desks and handhelds read the allowlist with phones.
        `bridge`: the bridge to the chain's head office (`deploy.hq_bridge`), when wanted."""
        if tls is not None and tls.bind_address != LOOPBACK:
            raise BrokerConfigError(f"a test broker listens on {LOOPBACK} only, not {tls}")
        self.workdir = Path(workdir)
        self.tls = tls
        self.credentials = credentials or Credentials.generate()
        self.topics = Topics(check_prefix(prefix))
        self.host = LOOPBACK
        self._fixed_port = port is not None
        self.port = check_port("port", port) if port is not None else free_port()
        self.config_file = self.workdir / "mosquitto.conf"
        self.password_file = self.workdir / "passwd"
        self.acl_file = self.workdir / "acl"
        self.data_dir = self.workdir / "data"
        self.log_file = self.workdir / "mosquitto.log"
        self._output = self.workdir / "mosquitto.out"  # what Mosquitto says before its log opens
        self._program = find_program("mosquitto")
        self._process: subprocess.Popen[bytes] | None = None
        self._started_once = False

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        self.credentials.write_password_file(self.password_file)
        self.bridge = bridge
        if bridge is not None:
            add_user(self.password_file, BRIDGE_USER, bridge.local_password)
        self.roster = dict(roster or {})
        acl = write_acl(self.topics.prefix, self.roster)
        if bridge is not None:
            acl += bridge_acl(bridge, self.topics.prefix)
        self.acl_file.write_text(acl)
        self._write_config()

    def _write_config(self) -> None:
        self.config_file.write_text(
            render_config(
                data_dir=self.data_dir,
                password_file=self.password_file,
                acl_file=self.acl_file,
                bind_address=LOOPBACK,
                port=self.port,
                tls=self.tls,
                user=_run_as(),
                log_file=self.log_file,
                prefix=self.topics.prefix,
            )
            + (render_bridge(self.bridge, self.topics.prefix) if self.bridge else "")
        )

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Broker:
        """Start Mosquitto and return once its port accepts connections."""
        if self.running:
            return self
        for _attempt in range(3):
            try:
                self._spawn_and_wait()
            except _PortTaken:
                if self._fixed_port or self._started_once:
                    raise BrokerError(f"port {self.port} is in use: {self._tail()}") from None
                self.port = free_port()  # lost a race for the port we picked: pick again
                self._write_config()
                continue
            self._started_once = True
            return self
        raise BrokerError(f"no free port after 3 tries: {self._tail()}")

    def _spawn_and_wait(self) -> None:
        with self._output.open("ab") as out:
            self._process = subprocess.Popen(
                [self._program, "-c", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + self.START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = self._tail()
                if "Address already in use" in tail:
                    raise _PortTaken
                raise BrokerError(f"mosquitto exited with {self._process.returncode}: {tail}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), 0.2),
            ):
                return
            time.sleep(0.02)
        self.kill()
        raise BrokerError(f"mosquitto did not listen on {self.url} in {self.START_TIMEOUT_S} s")

    def _tail(self, lines: int = 8) -> str:
        text = "".join(
            p.read_text(errors="replace") for p in (self._output, self.log_file) if p.exists()
        )
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"

    def stop(self) -> None:
        """SIGTERM (Mosquitto saves its persistence file), then wait; SIGKILL if it hangs."""
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

    def restart(self) -> Broker:
        """Stop (if running) and start again on the same port with the same data."""
        self.stop()
        return self.start()

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<Broker {self.url} {state} in {self.workdir}>"


class _PortTaken(Exception):
    """Another process took the port between our probe and Mosquitto's bind: try another."""
