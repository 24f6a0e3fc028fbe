"""A real Mosquitto with the venue configuration (deploy/broker.py), run on a free loopback port
for the tests, the demo and the benches::

    with Broker(tmp_path, credentials=Credentials.generate(["E1", "X1"])) as broker:
        client.username_pw_set("E1", broker.credentials.password("E1"))
        client.connect(broker.host, broker.port)

It never listens beyond 127.0.0.1. Mosquitto comes from Debian's `mosquitto` package.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
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
from deploy.server_process import PortTaken, ServerProcess, accepts
from gate.link.protocol import DEFAULT_PREFIX, Topics

_handed_out: set[int] = set()


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now (the kernel's pick), never one this process was
    handed before: a cluster asks for a dozen at once, before any is bound."""
    for _ in range(64):  # a process handed most of the range already takes a repeat at last
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if port not in _handed_out:
            break
    _handed_out.add(port)
    return port


def _run_as() -> str:
    """The `user` setting: as root, stay root (a test's files are root's); else it is ignored."""
    if os.geteuid() == 0:
        return pwd.getpwuid(0).pw_name
    return "mosquitto"


class Broker(ServerProcess):
    """A real Mosquitto with the venue configuration, on a loopback port, for tests and the demo.

    `workdir` receives mosquitto.conf, passwd, acl, data/ (persistence) and mosquitto.log.
    Without `port`, a free one is picked; `restart()` keeps the port and the data. `tls` adds the
    TLS listener, on 127.0.0.1 too.
    """

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

    def start(self) -> Broker:
        """Start Mosquitto and return once its port accepts connections."""
        if self.running:
            return self
        for _attempt in range(3):
            try:
                self._spawn()
            except PortTaken:
                if self._fixed_port or self._started_once:
                    raise BrokerError(f"port {self.port} is in use: {self.tail()}") from None
                self.port = free_port()  # lost a race for the port we picked: pick again
                self._write_config()
                continue
            self._started_once = True
            return self
        raise BrokerError(f"no free port after 3 tries: {self.tail()}")

    def _outputs(self) -> tuple[Path, ...]:
        return (self._output, self.log_file)

    def _spawn(self) -> None:
        self._spawn_and_wait(
            [self._program, "-c", str(self.config_file)],
            self._output,
            f"mosquitto on {self.url}",
            lambda: accepts(self.host, self.port),
        )

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
