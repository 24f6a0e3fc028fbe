"""Entries per second from a venue to head office's store, through the venue's Mosquitto bridge,
NATS's MQTT gateway and a 3-node JetStream cluster into `hq run`, against nats-py's bare
JetStream publish of the same batches on the same cluster, in the same run.

    python -m bench.hq_bridge [--quick] [--workdir DIR]

The entries: a venue's day of journal entries (`bench.reconcile.make_day`: desks, entry and
exit gates, realistic bodies; about 50k entries, 5k with --quick), numbered in the order a hub
would have stored them (the venue sequence) and cut into the batches a hub's forwarder sends
(`hub.chain.wire.EntryBatch`, BATCH entries each).

- **the baseline** is a nats-py client that publishes every batch to a stream of the same kind
  as the chain's (`BENCH`: file storage, replicas 3) and waits for each JetStream
  acknowledgement before the next: what publishing straight into the cluster costs, with
  nothing in between. It runs twice, before and after the path, and the baseline is the mean of
  the two, so a change in the machine's speed during the run hits both sides alike;
- **the path**: a paho client publishes the same batches, as the forwarder does (MQTT 3.1.1,
  QoS 1, at most 20 in flight), to the venue's Mosquitto (`deploy.broker.Broker` with the
  venue's configuration and its `[hq]` bridge to every node); the bridge carries them to the
  cluster's MQTT gateway, the stream `CHAIN` keeps them on three nodes, and `hq run` reads them
  with its durable consumer, stores them in the venue's SQLite file (synced) and publishes its
  acknowledgement. Timed from the first publish until head office acknowledges the last entry
  (`hq.ack.V1`, `upto` = N, read on the cluster with nats-py).

Afterwards head office's store of the venue must hold entries 1..N, each once (else the bench
fails). Prints one JSON line (figure, baseline, ratio), then one with the details. Everything on
127.0.0.1, under DIRECTORY (default the repository's `var/bench-hq`, emptied first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import nats
import paho.mqtt.client as mqtt
from nats.js.api import StorageType, StreamConfig
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from bench.common import report
from bench.reconcile import make_day
from deploy.broker import HUB_USER, Credentials
from deploy.broker_process import Broker, free_port
from deploy.hq_bridge import HqBridge
from deploy.nats_process import NatsCluster
from hq.service.consumer import add_stream_once_placed
from hub.chain.wire import ChainEntry, ChainTopics, EntryBatch
from venue.chain.office import HeadOffice

FAMILIES = 2700  # about 50k journal entries
QUICK_FAMILIES = 300  # about 5k
BATCH = 200  # entries a batch
VENUE = "V1"
BENCH_STREAM = "BENCH"
BENCH_SUBJECT = f"bench.venue.{VENUE}.entries"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "var" / "bench-hq"
TIMEOUT_S = 300.0


# --- the entries ----------------------------------------------------------------------------------


def venue_batches(families: int, received_ms: int) -> tuple[list[bytes], int]:
    """A day's journal entries of every gate, in the order a hub stores them (by the time each
    was written, then gate), as EntryBatch payloads of BATCH entries: (payloads, entries)."""
    day = make_day(families)
    entries = sorted(
        (
            ChainEntry(
                gate=gate,
                seq=e.seq,
                nonce=e.nonce,
                hlc=e.hlc,
                wall_ms=e.wall_ms,
                kind=e.kind,
                body=e.body,
                received_ms=received_ms,
            )
            for gate, sim in day.gates.items()
            for e in sim.entries
        ),
        key=lambda e: (e.wall_ms, e.gate, e.seq),
    )
    payloads = [
        EntryBatch(venue=VENUE, first=i + 1, last=i + len(chunk), entries=tuple(chunk)).dump()
        for i in range(0, len(entries), BATCH)
        if (chunk := entries[i : i + BATCH])
    ]
    return payloads, len(entries)


# --- the baseline: nats-py straight into JetStream ------------------------------------------------


async def _bare_publish(cluster: NatsCluster, user: str, payloads: list[bytes]) -> float:
    nc = await nats.connect(
        servers=cluster.urls, user=user, password=cluster.users[user], connect_timeout=5
    )
    try:
        js = nc.jetstream()
        config = StreamConfig(
            name=BENCH_STREAM,
            subjects=[f"bench.venue.{VENUE}.>"],
            num_replicas=cluster.replicas,
            storage=StorageType.FILE,
            max_age=3600,
        )
        await add_stream_once_placed(js, config)
        started = time.perf_counter()
        for payload in payloads:
            await js.publish(BENCH_SUBJECT, payload, timeout=30)
        elapsed = time.perf_counter() - started
        await js.delete_stream(BENCH_STREAM)
        return elapsed
    finally:
        await nc.close()


def bare_publish_s(cluster: NatsCluster, user: str, payloads: list[bytes]) -> float:
    """Seconds for nats-py to publish every payload into a replicated file stream, one
    acknowledged publish after another."""
    return asyncio.run(asyncio.wait_for(_bare_publish(cluster, user, payloads), TIMEOUT_S))


# --- the path: paho -> Mosquitto's bridge -> the MQTT gateway -> CHAIN -> hq run -----------------


def bridge_up(cluster: NatsCluster) -> bool:
    """Whether a node holds an MQTT connection (the venue's bridge)."""
    for node in cluster.nodes:
        connz = node.monitor("connz?subs=0") or {}
        if any(c.get("mqtt_client") for c in connz.get("connections") or []):
            return True
    return False


async def _through(broker: Broker, cluster: NatsCluster, payloads: list[bytes], n: int) -> float:
    """Seconds from the first batch published to the venue's broker until head office
    acknowledges entry `n` (its `hq.ack.V1`, read on the cluster)."""
    nc = await nats.connect(
        servers=cluster.urls, user="bench", password=cluster.users["bench"], connect_timeout=5
    )
    done = asyncio.Event()
    heard = [0]

    async def on_ack(message: Any) -> None:
        upto = int(json.loads(message.data).get("upto", 0))
        heard[0] = max(heard[0], upto)
        if upto >= n:
            done.set()

    try:
        await nc.subscribe(f"hq.ack.{VENUE}", cb=on_ack)
        await nc.flush()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id="bench-forwarder",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        client.username_pw_set(HUB_USER, broker.credentials.password(HUB_USER))
        client.max_inflight_messages_set(20)
        client.connect(broker.host, broker.port, keepalive=30)
        client.loop_start()
        try:
            topic = ChainTopics(broker.topics.prefix).entries(VENUE)
            started = time.perf_counter()
            for payload in payloads:
                client.publish(topic, payload, qos=1)
            try:
                await asyncio.wait_for(done.wait(), TIMEOUT_S)
            except TimeoutError:
                raise RuntimeError(f"head office acknowledged {heard[0]} of {n} entries") from None
            return time.perf_counter() - started
        finally:
            client.disconnect()
            client.loop_stop()
    finally:
        await nc.close()


def check_stored(path: Path, n: int) -> None:
    """Head office's store of the venue holds entries 1..n, each once: else AssertionError."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        numbered = db.execute("SELECT count(*), min(vseq), max(vseq) FROM hq_order").fetchone()
        (entries,) = db.execute("SELECT count(*) FROM entries").fetchone()
        (upto,) = db.execute("SELECT upto FROM hq_venue").fetchone()
    finally:
        db.close()
    if tuple(numbered) != (n, 1, n) or entries != n or upto != n:
        raise AssertionError(
            f"head office holds {numbered}, {entries} entries, upto {upto}: not 1..{n}"
        )


def path_s(root: Path, cluster: NatsCluster, payloads: list[bytes], n: int) -> tuple[float, int]:
    """(seconds through the path, bytes of head office's store of the venue)."""
    office = HeadOffice(root / "hq", cluster, [VENUE], free_port())
    bridge = HqBridge.of(
        venue=VENUE,
        url="mqtt://" + ",".join(cluster.mqtt_addresses),
        username=VENUE,
        password=cluster.users[VENUE],
        local_password=secrets.token_urlsafe(18),
    )
    broker = Broker(root / "broker", credentials=Credentials.generate([]), bridge=bridge)
    try:
        office.start()
        broker.start()
        deadline = time.monotonic() + 60
        while not bridge_up(cluster):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bridge never connected: {broker.log_file}")
            time.sleep(0.1)
        elapsed = asyncio.run(_through(broker, cluster, payloads, n))
        size = sum(
            p.stat().st_size for p in (root / "hq" / "state" / "venues").glob(f"{VENUE}.db*")
        )
        return elapsed, size
    finally:
        broker.stop()
        office.stop()


# --- the run --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hq_bridge", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a smaller day (about 5k entries)")
    parser.add_argument(
        "--workdir", type=Path, default=DEFAULT_DIR, metavar="DIR",
        help="the cluster's, broker's and head office's files (default var/bench-hq; emptied)",
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = args.workdir.resolve()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    started = time.perf_counter()
    payloads, n_entries = venue_batches(
        QUICK_FAMILIES if args.quick else FAMILIES, int(time.time() * 1000)
    )
    generated_s = time.perf_counter() - started
    users = {name: secrets.token_urlsafe(16) for name in ("hq", VENUE, "bench")}
    cluster = NatsCluster(root / "nats", 3, users=users)
    details: dict[str, Any] = {}
    try:
        cluster.start()
        before_s = bare_publish_s(cluster, "bench", payloads)
        through_s, store_bytes = path_s(root, cluster, payloads, n_entries)
        after_s = bare_publish_s(cluster, "bench", payloads)
    finally:
        cluster.stop()
    baseline_s = (before_s + after_s) / 2
    name = (
        f"venue to head office ({n_entries} entries in {len(payloads)} batches of {BATCH}: "
        "bridge, MQTT gateway, 3-node JetStream R3, hq run)"
    )
    report(name, "entries/s", n_entries / through_s, "1/s", n_entries / baseline_s)
    details |= {
        "baseline_s": [round(before_s, 3), round(after_s, 3)],
        "path_s": round(through_s, 3),
        "hq_store_bytes_per_entry": round(store_bytes / n_entries),
        "payload_mb": round(sum(map(len, payloads)) / 1e6, 2),
        "generated_s": round(generated_s, 1),
    }
    print(json.dumps({"bench": name, "check": details}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
