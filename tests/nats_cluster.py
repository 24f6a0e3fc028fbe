"""Fixtures for tests against real nats-server processes (`deploy.nats_process`): head
office's engine, JetStream and the MQTT gateway on every node, on free loopback ports.

- `nats_cluster(size=3, users=None)`: a started cluster of the test's own (every node
  stopped at the end, killed should pytest die first). `cluster.nodes[i].kill()` /
  `.stop()` / `.start()` take one node down and back on the same ports and JetStream
  directory; `cluster.wait_ready()` waits until every running node is healthy again.
- `chain_stream(cluster)`: the chain's stream (`hub.chain.wire.STREAM`) made on it, with the
  replicas the cluster allows, as head office makes it.
- `CHAIN_USERS`: a user for head office and one per test venue (`VENUES`), with generated
  passwords; each venue's user may publish on its own venue's subjects only.

Imported by conftest.py.
"""

from __future__ import annotations

import asyncio
import atexit
import secrets
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from deploy.nats_process import NatsCluster

VENUES = ("V1", "V2", "V3")
CHAIN_USERS = {name: secrets.token_urlsafe(16) for name in ("hq", *VENUES)}


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[Callable[..., NatsCluster]]:
    """`nats_cluster(size=3, users=CHAIN_USERS)`: a started cluster of the test's own."""
    started: list[NatsCluster] = []

    def make(size: int = 3, users: Mapping[str, str] | None = None, **kwargs: Any) -> NatsCluster:
        kwargs.setdefault("venue_of", {venue: venue for venue in VENUES})
        cluster = NatsCluster(
            tmp_path / f"nats{len(started)}",
            size,
            users=CHAIN_USERS if users is None else users,
            **kwargs,
        )
        started.append(cluster)
        atexit.register(cluster.kill)  # should pytest itself be killed past its teardown
        return cluster.start()

    try:
        yield make
    finally:
        for cluster in started:
            cluster.stop()


def nats_options(cluster: NatsCluster, user: str = "hq") -> dict[str, Any]:
    """nats-py's `connect` arguments for `user` on every node of `cluster`."""
    return {
        "servers": cluster.urls,
        "user": user,
        "password": cluster.users.get(user),
        "connect_timeout": 5,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.2,
    }


def run(coroutine: Any, timeout: float = 60.0) -> Any:
    """Run a coroutine to its end on a loop of its own, within `timeout` seconds."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))
