"""Catch-up after an outage: 20 gates' 8-hour backlogs (about 100k entries) waiting in Mosquitto
when the hub comes back, until its headcount is right and `live` again; and the hub's ingest
against a subscriber that decodes and stores the same entries durably, in the same run.

    python -m bench.catch_up [DIRECTORY] [--quick] [--cpus N]

The day is `bench.reconcile`'s (6 desks, 7 entry and 7 exit gates, the real rules core per gate,
a ground truth beside them); its journals go out as bench/hub_ingest.py sends them: each gate
over its own connection, `EventBatch` messages of 50 to 200 entries at QoS 1, all gates at once.
The hub's link was down meanwhile: its persistent session, and each baseline's, has the broker
queue the backlog. Then each consumer connects and is timed from its connect:

- the hub (`hub.service.hub.Hub`, in this process, from a hub.toml with the day's allowlist and
  its roster): **ingest**, until its store holds every entry; **catch-up after outage**, until
  its headcount equals the ground truth and it says it is `live` (connected, a gate heard
  within 20 s: the gates, back online, send their status every 5 s meanwhile);
- the baseline, a fair one: a paho subscriber (QoS 1, persistent session) whose thread hands
  each message to a worker that takes everything waiting, decodes each payload (`json.loads`)
  and inserts its entries into an SQLite table keyed by gate and sequence, in one transaction
  per drain (WAL, `synchronous=FULL`, as the hub's store), until it holds every entry. Two such
  sessions drain the backlog, one before the hub and one after; the baseline is their mean.

The hub does more than the baseline by design: it checks each entry against what its gate may
say, acknowledges each gate, and folds the entries into the venue's state in hybrid-clock order.
"""

from __future__ import annotations

import gc
import json
import queue
import random
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import Options, options, report
from bench.hub_ingest import (
    HUB_CLIENT_ID,
    TIMEOUT_S,
    _client,
    _connect,
    _disconnect,
    backlog,
    publish,
    subscribe_away,
    write_hub_config,
)
from bench.reconcile import make_day
from deploy.broker import Credentials
from deploy.broker_process import Broker
from gate.core import headcount
from gate.link.protocol import GateStatus, Topics, dump
from hub.service.config import load_hub_config
from hub.service.hub import Hub

FAMILIES, QUICK_FAMILIES = 5600, 150  # about 100k entries; a few thousand
BASELINES = ("bench-durable-before", "bench-durable-after")
POLL_S = 0.01
STATUS_EVERY_S = 5.0  # [link] status_every_s


@dataclass
class HubCatchUp:
    ingest_s: float  # connect -> the store holds every entry
    caught_up_s: float  # connect -> headcount right and live
    headcount: tuple[int, int, int, int]
    rejected: int
    refused: int
    live: bool


def durable_drain(broker: Broker, client_id: str, expected: int, path: Path) -> float:
    """Seconds from connect until a subscriber has decoded and durably stored `expected`
    entries, one transaction per drain of what waits."""
    inbox: queue.Queue[bytes] = queue.Queue()
    client = _client(broker, client_id, client_id)
    client.on_message = lambda _c, _u, message: inbox.put(bytes(message.payload))
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute(
        "CREATE TABLE entries (gate TEXT, seq INTEGER, nonce TEXT, hlc TEXT, wall_ms INTEGER, "
        "kind TEXT, body TEXT, PRIMARY KEY (gate, seq))"
    )
    stored = 0
    gc.collect()
    started = time.perf_counter()
    _connect(client, broker, client_id)
    try:
        while stored < expected:
            payloads = [inbox.get(timeout=TIMEOUT_S)]
            while True:
                try:
                    payloads.append(inbox.get_nowait())
                except queue.Empty:
                    break
            rows = []
            for payload in payloads:
                data = json.loads(payload)
                gate = data["gate"]
                for e in data["entries"]:
                    body = json.dumps(e["body"])
                    rows.append(
                        (gate, e["seq"], e["nonce"], e["hlc"], e["wall_ms"], e["kind"], body)
                    )
            db.execute("BEGIN")
            db.executemany("INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
            stored += len(rows)
        elapsed = time.perf_counter() - started
    finally:
        _disconnect(client)
        db.close()
    if stored != expected:
        raise AssertionError(f"the baseline stored {stored} entries, {expected} sent")
    return elapsed


def _wait(condition: Any, what: str, state: Any = lambda: "") -> None:
    deadline = time.monotonic() + TIMEOUT_S * 3
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}: {state()}")
        time.sleep(POLL_S)


class Statuses:
    """The gates back online meanwhile: each sends its status every `STATUS_EVERY_S`, as
    `gate.link.client` does (retained, QoS 1), what keeps the hub `live`."""

    def __init__(self, broker: Broker, last_seq: dict[str, int], roles: dict[str, str]) -> None:
        self.broker, self.last_seq, self.roles = broker, last_seq, roles
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="gate-statuses", daemon=True)

    def __enter__(self) -> Statuses:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(TIMEOUT_S)

    def _run(self) -> None:
        topics = Topics(self.broker.topics.prefix)
        clients = {}
        for gate in self.last_seq:
            client = _client(self.broker, gate, f"bench-status-{gate}")
            _connect(client, self.broker, gate)
            clients[gate] = client
        try:
            while not self.stop.is_set():
                for gate, client in clients.items():
                    status = GateStatus(
                        gate=gate,
                        online=True,
                        role=self.roles[gate],
                        last_seq=self.last_seq[gate],
                        wall_ms=int(time.time() * 1000),
                    )
                    client.publish(topics.status(gate), dump(status), qos=1, retain=True)
                self.stop.wait(STATUS_EVERY_S)
        finally:
            for client in clients.values():
                _disconnect(client)


def hub_catch_up(
    config: Path, expected: int, truth: tuple[int, int, int, int], statuses: Statuses
) -> HubCatchUp:
    hub = Hub(load_hub_config(config))
    thread = threading.Thread(target=hub.run, name="hub-loop")

    def count() -> tuple[int, int, int, int]:
        c = hub.venue.headcount()
        return (c.inside, c.adults, c.children, c.groups_inside)

    gc.collect()
    try:
        started = time.perf_counter()
        thread.start()
        statuses.__enter__()
        _wait(lambda: hub.store.counts().entries >= expected, "the hub's store")
        ingested = time.perf_counter()
        _wait(
            lambda: not hub.venue.stale and count() == truth and hub.views.liveness().live,
            "the headcount right and live",
            lambda: f"stale {hub.venue.stale}, {count()} for {truth}, {hub.views.liveness()}",
        )
        caught_up = time.perf_counter()
        return HubCatchUp(
            ingest_s=ingested - started,
            caught_up_s=caught_up - started,
            headcount=count(),
            rejected=sum(hub.ingest.rejected.values()),
            refused=sum(hub.ingest.refused.values()),
            live=hub.views.liveness().live,
        )
    finally:
        statuses.__exit__()
        hub.stop()
        thread.join(TIMEOUT_S)


def main(opts: Options | None = None) -> None:
    opts = opts or Options()
    families = QUICK_FAMILIES if opts.quick else FAMILIES
    opts.directory.mkdir(parents=True, exist_ok=True)
    day = make_day(families)
    payloads = backlog(day, random.Random(11))
    n_entries = sum(len(g.entries) for g in day.gates.values())
    truth_count = headcount(day.truth)
    truth = (
        truth_count.inside,
        truth_count.adults,
        truth_count.children,
        truth_count.groups_inside,
    )
    topics = Topics()
    with tempfile.TemporaryDirectory(dir=opts.directory, prefix="bench-catch-up-") as tmp:
        root = Path(tmp)
        credentials = Credentials.generate([*day.gates, *BASELINES])
        with Broker(root / "broker", credentials=credentials, prefix=topics.prefix) as broker:
            roles = {"bind": "desk", "entry": "entry", "exit": "exit"}
            roster = {gate: roles[sim.mode.value] for gate, sim in day.gates.items()}
            config = write_hub_config(root / "hub", broker, day.allowlist, roster)
            for baseline in BASELINES:
                subscribe_away(broker, baseline, [topics.events()])
            subscribe_away(broker, HUB_CLIENT_ID, [topics.events(), topics.status()])
            publish(broker, payloads)
            before = durable_drain(broker, BASELINES[0], n_entries, root / "before.db")
            last_seq = {gate: len(sim.entries) for gate, sim in day.gates.items()}
            statuses = Statuses(broker, last_seq, roster)
            hub = hub_catch_up(config, n_entries, truth, statuses)
            after = durable_drain(broker, BASELINES[1], n_entries, root / "after.db")
    baseline_s = (before + after) / 2
    if hub.headcount != truth or hub.rejected or hub.refused or not hub.live:
        raise AssertionError(f"hub {hub}, truth {truth}")
    name = (
        f"catch-up after outage ({n_entries} entries from {len(day.gates)} gates queued in "
        f"Mosquitto, {opts.directory})"
    )
    report(name, "catch-up after outage", hub.caught_up_s, "s", baseline_s, "<= 5 s")
    report(
        name,
        "hub ingest against a durable subscriber",
        n_entries / hub.ingest_s,
        "1/s",
        n_entries / baseline_s,
        "ratio >= 0.7",
    )
    check = {
        "bench": name,
        "check": {
            "hub_ingest_s": round(hub.ingest_s, 3),
            "baseline_s": [round(before, 3), round(after, 3)],
            "headcount_matches_ground_truth": True,
            "live": hub.live,
        },
    }
    print(json.dumps(check), flush=True)


if __name__ == "__main__":
    main(options(what=__doc__))
