"""Head office's consumer on a 3-node cluster (hq/service/consumer.py): the node `hq run` reads
through killed and started again while venues keep publishing; every entry is at head office
once, in order, acknowledged, whatever was delivered or published twice."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import nats
from gate_rig import wait_for
from hq_rig import HeadOffice
from nats_cluster import nats_options, run

from deploy.nats_process import NatsCluster, NatsNode
from hub.chain.wire import ChainEntry, EntryBatch

BATCH = 20


def batch(venue: str, first: int) -> bytes:
    entries = tuple(
        ChainEntry(
            gate="E1",
            seq=n,
            nonce=f"{venue}-{n:06d}",
            hlc=f"{0x18C000000000 + n * 1000:016x}",
            wall_ms=1_784_000_000_000 + n,
            kind="passage",
            body={"events": [], "n": n},
            received_ms=1_784_000_000_500 + n,
        )
        for n in range(first, first + BATCH)
    )
    return EntryBatch(venue=venue, first=first, last=first + BATCH - 1, entries=entries).dump()


async def _publish(cluster: NatsCluster, venue: str, firsts: range) -> int:
    """Publish each batch until JetStream took it (a timeout while a node is away: again, so
    the stream may hold it twice). Returns how many publishes were tried again."""
    again = 0
    nc = await nats.connect(**nats_options(cluster))
    try:
        js = nc.jetstream(timeout=5)
        for first in firsts:
            while True:
                try:
                    await js.publish(f"hq.venue.{venue}.entries", batch(venue, first))
                    break
                except (nats.errors.Error, TimeoutError, OSError):
                    again += 1
                    await asyncio.sleep(0.5)
    finally:
        await nc.close()
    return again


def _reader_node(cluster: NatsCluster) -> NatsNode | None:
    for node in cluster.nodes:
        connz = node.monitor("connz") or {}
        if any(c.get("name") == "hq" for c in connz.get("connections") or []):
            return node
    return None


def _at_hq(office: HeadOffice) -> dict[str, int]:
    """Each venue's entries at head office (none before its first message came)."""
    return {r["venue"]: r["entries_at_hq"] for r in office.api("/api/venues")["venues"]}


def _keys(office: HeadOffice, venue: str) -> list[tuple[int, int]]:
    path = office.root / "state" / "venues" / f"{venue}.db"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in db.execute("SELECT vseq, seq FROM hq_order ORDER BY vseq")]
    finally:
        db.close()


def test_the_node_head_office_reads_through_killed_and_back(nats_cluster, tmp_path: Path) -> None:
    cluster = nats_cluster(3)
    office = HeadOffice(tmp_path / "hq", cluster)
    try:
        office.start()  # makes the stream, 3 replicas
        run(_publish(cluster, "V1", range(1, 10 * BATCH, BATCH)), timeout=120)
        wait_for(
            lambda: _at_hq(office).get("V1") == 10 * BATCH,
            60,
            "the first batches at head office",
            log=office.tail,
        )
        victim = wait_for(lambda: _reader_node(cluster), 30, "the node hq reads through")
        victim.kill()
        run(_publish(cluster, "V1", range(10 * BATCH + 1, 20 * BATCH, BATCH)), timeout=180)
        run(_publish(cluster, "V2", range(1, 5 * BATCH, BATCH)), timeout=180)
        victim.start()
        cluster.wait_ready()
        run(_publish(cluster, "V1", range(20 * BATCH + 1, 25 * BATCH, BATCH)), timeout=180)
        wait_for(
            lambda: (
                [r["entries_at_hq"] for r in office.api("/api/venues")["venues"]]
                == [25 * BATCH, 5 * BATCH]
            ),
            120,
            "every entry at head office",
            log=lambda: office.tail() + cluster.logs(5),
        )
        assert _keys(office, "V1") == [(n, n) for n in range(1, 25 * BATCH + 1)]
        assert _keys(office, "V2") == [(n, n) for n in range(1, 5 * BATCH + 1)]
        assert office.get("/healthz")["reading"] is True
    finally:
        office.stop()
