"""Head office as the tests run it: `hq run` as a real process against a real NATS cluster
(tests/nats_cluster.py), its hq.toml written here with hashed, venue-scoped tokens.

    office = HeadOffice(tmp_path / "hq", cluster, tokens={"chain": ["*"], "v1": ["V1"]})
    office.start()                      # returns once /healthz says it reads the stream
    office.api("/api/venues", "chain")  # GET with that holder's token; HTTPError on 4xx
    office.stop() / office.kill()
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from processes import kill_group, spawn, tail, wait_for

from deploy.broker_process import free_port
from deploy.nats_process import NatsCluster
from hq.service.tokens import hashed


class HeadOffice:
    def __init__(
        self,
        root: Path,
        cluster: NatsCluster,
        tokens: Mapping[str, Sequence[str]] | None = None,
        *,
        user: str = "hq",
        stale_after_s: float = 30.0,
        ack_every_s: float = 2.0,
        language: str = "en",
    ) -> None:
        self.root, self.cluster = root, cluster
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tokens = {name: f"token-{name}-" + "t" * 24 for name in (tokens or {"chain": ["*"]})}
        self.log = root / "hq.log"
        self.proc: subprocess.Popen[bytes] | None = None
        password = root / "nats.password"
        password.write_text(cluster.users.get(user, ""))
        password.chmod(0o600)
        lines = [
            "[hq]",
            f'state_dir = "{root / "state"}"',
            f'language = "{language}"',
            f"stale_after_s = {stale_after_s}",
            "[nats]",
            f"servers = {json.dumps(cluster.urls)}",
            f'user = "{user}"',
            f'password_file = "{password}"',
            f"replicas = {cluster.replicas}",
            f"ack_every_s = {ack_every_s}",
            f"mqtt = {json.dumps(cluster.mqtt_addresses)}",
            "[http]",
            f"port = {self.port}",
        ]
        for name, venues in (tokens or {"chain": ["*"]}).items():
            lines += ["[[token]]", f'name = "{name}"', f'secret = "{hashed(self.tokens[name])}"']
            lines.append(f"venues = {json.dumps(list(venues))}")
        self.config = root / "hq.toml"
        self.config.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HeadOffice:
        with self.log.open("ab") as out:
            self.proc = spawn(
                [sys.executable, "-m", "hq", "run", "-c", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            self._reading, timeout=60, what="hq reads the stream", log=self.log, process=self.proc
        )
        return self

    def _reading(self) -> bool:
        try:
            return bool(self.get("/healthz")["reading"])
        except OSError:
            return False

    def get(self, path: str, token: str | None = None) -> Any:
        request = urllib.request.Request(self.url + path)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def api(self, path: str, who: str = "chain") -> Any:
        return self.get(path, self.tokens[who])

    def tail(self) -> str:
        return tail(self.log)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            kill_group(self.proc, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                kill_group(self.proc)

    def kill(self) -> None:
        if self.proc is not None:
            kill_group(self.proc)
