"""A venue's hub forwarding to head office through its broker's bridge (hub/service/
head_office.py, deploy/hq_bridge.py): real Mosquitto, a real nats-server with JetStream and its
MQTT gateway, real `hub run`, gates and `hq run`. Head office holds every entry exactly once,
its headcount is the hub's, the hub keeps head office's watermark across its restart, and what
the stream lost is sent again from the watermark."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
from pathlib import Path

import nats
import paho.mqtt.client as paho
import pytest
from gate_rig import ADULT, ADULT_2, CHILD, CHILD_2, wait_for
from hq_rig import HeadOffice
from nats_cluster import nats_options, run
from paho.mqtt.enums import CallbackAPIVersion
from venue_rig import Venue

from deploy.hq_bridge import HqBridge
from gate.control.client import ask
from hub.chain.wire import STREAM

HQ_SECTION = """
[hq]
venue = "V1"
summary_every_s = 1.0
resend_after_s = 3.0
"""


def hub_chain(venue: Venue) -> tuple[int, int, list[tuple[str, int]]]:
    """(entries numbered, head office's watermark, (gate, seq) by number) from the hub's store."""
    db = sqlite3.connect(f"file:{venue.root / 'hub' / 'state' / 'events.db'}?mode=ro", uri=True)
    try:
        order = db.execute("SELECT gate, seq FROM chain_order ORDER BY vseq").fetchall()
        acked = db.execute("SELECT coalesce(max(acked), 0) FROM chain_ack").fetchone()[0]
    finally:
        db.close()
    return len(order), acked, [tuple(row) for row in order]


def hq_keys(office: HeadOffice) -> list[tuple[str, int]]:
    db = sqlite3.connect(f"file:{office.root / 'state' / 'venues' / 'V1.db'}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in db.execute("SELECT gate, seq FROM hq_order ORDER BY vseq")]
    finally:
        db.close()


def caught_up(venue: Venue, office: HeadOffice) -> bool:
    last, acked, _ = hub_chain(venue)
    try:
        row = office.api("/api/venues/V1")
    except urllib.error.HTTPError as exc:  # 404: nothing of V1 at head office yet
        if exc.code == 404:
            return False
        raise
    hub = venue.api("/api/headcount")
    return (
        last > 0
        and acked == last
        and row["entries_at_hq"] == last
        and row["inside"] == hub["inside"]
        and row["unaccompanied_children"] == hub["unaccompanied_children"]
        and row["hub"]["inside"] == hub["inside"]
    )


async def _stream_messages(cluster) -> int:
    nc = await nats.connect(**nats_options(cluster))
    try:
        return int((await nc.jetstream().stream_info(STREAM)).state.messages)
    finally:
        await nc.close()


async def _purge(cluster) -> None:
    nc = await nats.connect(**nats_options(cluster))
    try:
        await nc.jetstream().purge_stream(STREAM)
    finally:
        await nc.close()


@pytest.fixture(params=[1])
def chain(request, tmp_path: Path, nats_cluster, fresh_broker):
    cluster = nats_cluster(request.param)
    bridge = HqBridge.of(
        venue="V1",
        url=cluster.mqtt_url,
        username="V1",
        password=cluster.users["V1"],
        local_password="bridge-" + "b" * 20,
    )
    venue = Venue(tmp_path / "venue", fresh_broker(bridge=bridge))
    office = HeadOffice(tmp_path / "hq", cluster, tokens={"chain": ["*"]})
    yield cluster, venue, office
    office.stop()
    venue.close()


def retained_ack(cluster, venue: str) -> dict | None:
    """What a new subscriber to `hq/ack/{venue}` at head office gets retained at once."""
    got: list[bytes] = []
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"check-{venue}")
    client.username_pw_set(venue, cluster.users[venue])
    client.on_message = lambda _c, _u, m: got.append(m.payload) if m.retain else None
    node = cluster.nodes[0]
    client.connect(node.host, node.mqtt_port)
    client.loop_start()
    try:
        client.subscribe(f"hq/ack/{venue}", 1)
        wait_for(lambda: got, 30, "a retained acknowledgement")
    finally:
        client.disconnect()
        client.loop_stop()
    return json.loads(got[-1])


def test_head_office_holds_every_entry_once_and_the_hubs_headcount(chain) -> None:
    cluster, venue, office = chain
    office.start()
    venue.start_hub(sections=HQ_SECTION)
    for gate in ("D1", "E1", "X1"):
        venue.start_gate(gate)
    for ticket, bands in (("T1", (ADULT, CHILD)), ("T2", (ADULT_2, CHILD_2))):
        assert venue.scan("D1", ticket, "barcode") == "OK_BIND"
        for band in bands:
            assert venue.scan("D1", band) == "OK_BIND"
    venue.wait_bound(("E1",), (ADULT, CHILD, ADULT_2, CHILD_2))
    for band in (ADULT, CHILD, ADULT_2, CHILD_2):
        assert venue.scan("E1", band) == "OK_ENTRY"
    venue.wait_settled()
    wait_for(
        lambda: caught_up(venue, office),
        timeout=60,
        what="head office caught up with the hub",
        log=lambda: office.tail() + venue.hub.tail(),
    )
    _, _, order = hub_chain(venue)
    assert hq_keys(office) == order  # every entry, once, in the hub's order
    assert office.api("/api/venues/V1")["inside"] == venue.truth() == 4

    # The hub restarted: head office's watermark was kept, nothing is sent again.
    duplicates = office.api("/api/venues/V1")["duplicates"]
    venue.start_hub(sections=HQ_SECTION)
    assert venue.scan("X1", ADULT_2) in ("OK_EXIT", "OK_EXIT_TEMP")
    assert venue.scan("X1", CHILD_2) == "OK_EXIT"
    venue.wait_settled()
    wait_for(
        lambda: caught_up(venue, office),
        timeout=60,
        what="caught up after the restart",
        log=lambda: office.tail() + venue.hub.tail(),
    )
    assert office.api("/api/venues/V1")["duplicates"] == duplicates
    assert hq_keys(office) == hub_chain(venue)[2]
    status = ask(str(venue.hub.socket), {"cmd": "status"})["head_office"]
    assert (status["venue"], status["behind"]) == ("V1", 0)
    assert status["acked"] == status["entries"] == len(hq_keys(office))
    assert retained_ack(cluster, "V1") == {"v": 1, "venue": "V1", "upto": status["acked"]}


def test_what_the_stream_lost_is_sent_again_from_the_watermark(chain) -> None:
    cluster, venue, office = chain
    office.start()
    venue.start_hub(sections=HQ_SECTION)
    venue.start_gate("D1")
    assert venue.scan("D1", "T1", "barcode") == "OK_BIND"
    assert venue.scan("D1", ADULT) == "OK_BIND"
    venue.wait_settled()
    wait_for(
        lambda: caught_up(venue, office),
        timeout=60,
        what="head office caught up",
        log=lambda: office.tail() + venue.hub.tail(),
    )

    office.stop()  # head office away: the hub's entries wait in the stream ...
    before = run(_stream_messages(cluster))
    assert venue.scan("D1", CHILD) == "OK_BIND"
    assert venue.scan("D1", "T2", "barcode") == "OK_BIND"
    venue.wait_settled()
    wait_for(lambda: run(_stream_messages(cluster)) > before + 1, what="the stream holds them")
    run(_purge(cluster))  # ... and are lost there: only the hub still has them
    _, acked, _ = hub_chain(venue)
    assert acked < hub_chain(venue)[0]

    office.start()
    wait_for(
        lambda: caught_up(venue, office),
        timeout=90,
        what="the hub sent them again",
        log=lambda: office.tail() + venue.hub.tail(),
    )
    assert hq_keys(office) == hub_chain(venue)[2]
    said = venue.hub.log.read_text(errors="replace")
    assert "sending V1's entries again" in said and "no acknowledgement for 3 s" in said


@pytest.mark.parametrize("chain", [3], indirect=True)
def test_the_bridge_goes_to_another_node_when_its_node_dies(chain) -> None:
    cluster, venue, office = chain
    office.start()
    venue.start_hub(sections=HQ_SECTION)
    venue.start_gate("D1")
    assert venue.scan("D1", "T1", "barcode") == "OK_BIND"
    venue.wait_settled()
    wait_for(
        lambda: caught_up(venue, office),
        timeout=60,
        what="head office caught up",
        log=lambda: office.tail() + venue.hub.tail(),
    )
    cluster.nodes[0].kill()  # the bridge's first address, the node it is connected to
    for band in (ADULT, CHILD):
        assert venue.scan("D1", band) == "OK_BIND"
    venue.wait_settled()
    wait_for(
        lambda: caught_up(venue, office),
        timeout=120,
        what="caught up through n2 or n3",
        log=lambda: office.tail() + venue.hub.tail() + cluster.logs(5),
    )
    cluster.nodes[0].start()
    cluster.wait_ready()
    assert venue.scan("D1", "T2", "barcode") == "OK_BIND"
    venue.wait_settled()
    wait_for(
        lambda: caught_up(venue, office),
        timeout=120,
        what="caught up with n1 back",
        log=lambda: office.tail() + venue.hub.tail(),
    )
    assert hq_keys(office) == hub_chain(venue)[2]
