"""Real `nats-server` processes with JetStream and the MQTT gateway: head office's engine, run
on free loopback ports for the tests, the demo and the benches.

    with NatsCluster(tmp_path, size=3, users={"hq": pw, "V1": pw1}) as cluster:
        cluster.urls                  # ["nats://127.0.0.1:41001", ...] for nats-py
        cluster.mqtt_addresses        # ["127.0.0.1:41003", ...] for a Mosquitto bridge
        cluster.nodes[1].kill()       # SIGKILL, as a power cut would
        cluster.nodes[1].start()      # same ports, same JetStream directory
        cluster.wait_ready()          # every running node reports healthy

Each node is its own server (`server_name` n1, n2, ...), with JetStream in its own directory,
a cluster route to every other node, its own MQTT port (NATS's gateway needs JetStream and a
server name on every node), and its monitoring port (`/healthz`, `/jsz`). One node runs
JetStream on its own, without a cluster. Users, when given, log in with a password on both
the NATS and the MQTT ports. Nothing listens beyond 127.0.0.1. `nats-server` comes from
Debian's package of that name.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from deploy.broker import LOOPBACK, BrokerError, BrokerUnavailable
from deploy.broker_process import free_port
from deploy.server_process import PortTaken, ServerProcess, accepts

DEBIAN_PACKAGE = "nats-server"
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin")
CLUSTER_NAME = "chain"


def find_nats_server() -> str:
    found = shutil.which("nats-server") or next(
        (p for d in SBIN_DIRS if os.access(p := os.path.join(d, "nats-server"), os.X_OK)), None
    )
    if found is None:
        raise BrokerUnavailable(
            f"nats-server not found on PATH nor in {', '.join(SBIN_DIRS)}: "
            f"install Debian package {DEBIAN_PACKAGE} (apt-get install {DEBIAN_PACKAGE})"
        )
    return found


def _quoted(text: str) -> str:
    return json.dumps(text)  # NATS's configuration reads JSON strings


class NatsNode(ServerProcess):
    """One `nats-server` of a cluster: its ports stay the same across restarts."""

    START_TIMEOUT_S = 20.0

    def __init__(self, cluster: NatsCluster, index: int) -> None:
        self.cluster = cluster
        self.name = f"n{index + 1}"
        self.host = LOOPBACK
        self.port = free_port()
        self.cluster_port = free_port()
        self.mqtt_port = free_port()
        self.http_port = free_port()
        self.workdir = cluster.workdir / self.name
        self.store_dir = self.workdir / "jetstream"
        self.config_file = self.workdir / "nats.conf"
        self.log_file = self.workdir / "nats.log"
        self._program = find_nats_server()
        self._process: subprocess.Popen[bytes] | None = None
        self._started_once = False
        self.store_dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def mqtt_address(self) -> str:
        return f"{self.host}:{self.mqtt_port}"

    def render_config(self) -> str:
        lines = [
            f"server_name: {_quoted(self.name)}",
            f"listen: {_quoted(f'{self.host}:{self.port}')}",
            f"http: {_quoted(f'{self.host}:{self.http_port}')}",
            f"log_file: {_quoted(str(self.log_file))}",
            "jetstream {",
            f"  store_dir: {_quoted(str(self.store_dir))}",
            f"  max_memory_store: {64 * 1024 * 1024}",
            f"  max_file_store: {self.cluster.max_file_store}",
            "}",
            "mqtt {",
            f"  listen: {_quoted(f'{self.host}:{self.mqtt_port}')}",
            '  ack_wait: "30s"',
            # The gateway's own streams (sessions, QoS 1 messages, retained ones) take their
            # replicas from the servers it sees when the first client logs in: with a node late
            # to join they get 2, which one node down leaves without a quorum. Said here.
            f"  stream_replicas: {self.cluster.replicas}",
            "}",
        ]
        others = [n for n in self.cluster.nodes if n is not self]
        if others or self.cluster.size > 1:
            routes = ", ".join(_quoted(f"nats-route://{n.host}:{n.cluster_port}") for n in others)
            lines += [
                "cluster {",
                f"  name: {_quoted(CLUSTER_NAME)}",
                f"  listen: {_quoted(f'{self.host}:{self.cluster_port}')}",
                f"  routes: [{routes}]",
                "}",
            ]
        if self.cluster.users:
            users = ",\n    ".join(
                self.cluster.user_entry(u, p) for u, p in sorted(self.cluster.users.items())
            )
            lines += ["authorization {", f"  users: [\n    {users}\n  ]", "}"]
        return "\n".join(lines) + "\n"

    def start(self) -> NatsNode:
        """Start the server; returns once its client and MQTT ports accept connections (the
        cluster's JetStream may still be electing: `NatsCluster.wait_ready`)."""
        if self.running:
            return self
        for _attempt in range(3):
            self.config_file.write_text(self.render_config())
            self.config_file.chmod(0o600)  # passwords
            try:
                self._spawn()
            except PortTaken:
                if self._started_once:
                    raise BrokerError(f"{self.name}: a port is in use: {self.tail()}") from None
                self.port, self.cluster_port = free_port(), free_port()
                self.mqtt_port, self.http_port = free_port(), free_port()
                continue
            self._started_once = True
            return self
        raise BrokerError(f"{self.name}: no free ports after 3 tries: {self.tail()}")

    def _spawn(self) -> None:
        self._spawn_and_wait(
            [self._program, "-c", str(self.config_file)],
            self.workdir / "nats.out",
            self.name,
            lambda: accepts(self.host, self.port) and accepts(self.host, self.http_port),
            own_session=True,
        )

    def healthy(self) -> bool:
        """Whether the node says it is healthy, JetStream included (`/healthz`)."""
        return self.monitor("healthz") is not None and self.mqtt_listening()

    def mqtt_listening(self) -> bool:
        return accepts(self.host, self.mqtt_port)

    def monitor(self, path: str) -> dict[str, Any] | None:
        """A monitoring endpoint's JSON (`varz`, `jsz`, `healthz`...), None when it does not
        answer or answers an error."""
        url = f"http://{self.host}:{self.http_port}/{path}"
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                data = json.loads(answer.read())
        except (OSError, ValueError, urllib.error.URLError):
            return None
        return data if isinstance(data, dict) else None

    def _outputs(self) -> tuple[Path, ...]:
        return (self.workdir / "nats.out", self.log_file)

    def restart(self) -> NatsNode:
        self.stop()
        return self.start()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<NatsNode {self.name} {self.url} mqtt {self.mqtt_port} {state}>"


class NatsCluster:
    """`size` nats-server nodes on loopback, routed to each other, JetStream and MQTT on each.

    `workdir` receives one directory per node (nats.conf, nats.log, jetstream/). `users`: user
    -> password, required on every port when given (else anyone on loopback may log in).
    `venue_of`: user -> venue id, for the venues' users: each may publish on its own venue's
    subjects only (`hq.venue.{venue}.>`) and read its own acknowledgement (`hq.ack.{venue}`,
    with `$MQTT.sub.>`, where NATS's MQTT gateway delivers to a session); the others may do
    anything.
    """

    READY_TIMEOUT_S = 60.0

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        size: int = 3,
        *,
        users: Mapping[str, str] | None = None,
        venue_of: Mapping[str, str] | None = None,
        max_file_store: int = 1024 * 1024 * 1024,
    ) -> None:
        if size < 1:
            raise ValueError(f"a cluster of {size} nodes")
        self.workdir = Path(workdir)
        self.size = size
        self.users = dict(users or {})
        self.venue_of = dict(venue_of or {})
        self.max_file_store = max_file_store
        self.nodes: list[NatsNode] = []
        for index in range(size):
            self.nodes.append(NatsNode(self, index))

    def user_entry(self, user: str, password: str) -> str:
        """One user of the `authorization` block, with its venue's permissions if it has one."""
        entry = f"user: {_quoted(user)}, password: {_quoted(password)}"
        venue = self.venue_of.get(user)
        if venue is not None:
            publish = _quoted(f"hq.venue.{venue}.>")
            subscribe = f"{_quoted(f'hq.ack.{venue}')}, {_quoted('$MQTT.sub.>')}"
            entry += (
                f", permissions: {{publish: {{allow: [{publish}]}}, "
                f"subscribe: {{allow: [{subscribe}]}}}}"
            )
        return f"{{{entry}}}"

    @property
    def urls(self) -> list[str]:
        """Every node's client URL (nats-py fails over between them)."""
        return [n.url for n in self.nodes]

    @property
    def mqtt_addresses(self) -> list[str]:
        """Every node's MQTT `host:port`, for a Mosquitto bridge's `addresses`."""
        return [n.mqtt_address for n in self.nodes]

    @property
    def mqtt_url(self) -> str:
        """`mqtt://host:port,host:port,...`: hub.toml's `[hq] url` for this cluster."""
        return "mqtt://" + ",".join(self.mqtt_addresses)

    @property
    def replicas(self) -> int:
        """The stream's replicas: 3 on a cluster of three or more, else the cluster's size."""
        return min(3, self.size)

    def start(self) -> NatsCluster:
        """Start every node, then wait until the cluster is ready."""
        try:
            for node in self.nodes:
                node.start()
            self.wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def wait_ready(self, timeout: float | None = None) -> None:
        """Until every running node is healthy and, on a cluster, JetStream has a meta leader
        every running node knows. BrokerError naming the laggards at the deadline."""
        deadline = time.monotonic() + (timeout or self.READY_TIMEOUT_S)
        while True:
            laggards = [n.name for n in self.nodes if n.running and not self._ready(n)]
            if not laggards:
                return
            if time.monotonic() > deadline:
                tails = "; ".join(f"{n.name}: {n.tail(4)}" for n in self.nodes)
                raise BrokerError(f"NATS nodes {laggards} not ready: {tails}")
            time.sleep(0.1)

    def _ready(self, node: NatsNode) -> bool:
        if not node.healthy():
            return False
        if self.size == 1:
            return True
        jsz = node.monitor("jsz")
        leader = ((jsz or {}).get("meta_cluster") or {}).get("leader")
        return bool(leader)

    def meta_leader(self) -> str | None:
        """The JetStream meta leader's name, as a running node sees it."""
        for node in self.nodes:
            if node.running:
                jsz = node.monitor("jsz") or {}
                leader = (jsz.get("meta_cluster") or {}).get("leader")
                if leader:
                    return str(leader)
        return None

    def node(self, name: str) -> NatsNode:
        return next(n for n in self.nodes if n.name == name)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()

    def logs(self, lines: int = 20) -> str:
        """The end of every node's log, for a failed wait's message."""
        return "\n".join(f"--- {n.name}: {n.tail(lines)}" for n in self.nodes)

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<NatsCluster {self.size} nodes {[repr(n) for n in self.nodes]}>"
