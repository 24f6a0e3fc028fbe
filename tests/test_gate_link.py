"""The gate's MQTT link against a real Mosquitto, with the test playing the hub.

The journal is the only outbox: entries reach the hub, are resent from the hub's watermark after
an outage, and a gate follows the other gates' events so presence holds across gates.
"""

from __future__ import annotations

import json
import queue

from gate_rig import ADULT, CHILD, GateRig, link_section, wait_for

from gate.link.client import Link, LinkSettings, LinkSubscribed
from gate.link.protocol import Ack, EventBatch, Topics, dump, parse

TOPICS = Topics()


def start(rigs, tmp_path, broker, gate_id, role, **link) -> GateRig:
    extra = link_section(broker, gate_id, tmp_path / "secrets", **link)
    rig = GateRig(tmp_path, gate_id, role, scanner=False, extra=extra)
    rigs.append(rig)
    return rig.start()


def scan(rig: GateRig, value: str, kind: str = "nfc") -> str:
    return str(rig.ask("scan", kind=kind, value=value)["decision"]["code"])


def entries_received(hub, gate: str) -> dict[int, dict]:
    seen: dict[int, dict] = {}
    for message in hub.received(TOPICS.events(gate)):
        if not message.payload:  # the gate clearing its topic of retained batches
            continue
        for entry in parse(EventBatch, message.payload).entries:
            seen[entry.seq] = entry.body
    return seen


def test_the_journal_reaches_the_hub_and_acknowledgements_advance_the_watermark(
    rigs, tmp_path, broker, mqtt_client
):
    hub = mqtt_client("hub")
    hub.subscribe(TOPICS.events("D1"))
    desk = start(rigs, tmp_path, broker, "D1", "desk")
    wait_for(lambda: desk.status()["journal"]["last_seq"] >= 0)
    assert scan(desk, "T1", "barcode") == "OK_BIND"
    assert scan(desk, ADULT) == "OK_BIND"
    last = desk.status()["journal"]["last_seq"]
    wait_for(lambda: set(range(1, last + 1)) <= set(entries_received(hub, "D1")), what="entries")
    hub.publish(TOPICS.ack("D1"), dump(Ack(gate="D1", seq=last)), retain=True)
    wait_for(lambda: desk.status()["journal"]["acked"] == last, what="watermark")
    assert desk.status()["journal"]["backlog"] == 0


def test_entries_journalled_while_the_broker_is_down_are_sent_when_it_is_back(
    tmp_path, rigs, fresh_broker, mqtt_client
):
    broker = fresh_broker()
    desk = start(rigs, tmp_path, broker, "D1", "desk", ack_timeout_s=1.0)
    wait_for(lambda: desk.status()["journal"]["last_seq"] >= 0)
    broker.stop()
    assert scan(desk, "T1", "barcode") == "OK_BIND"  # the gate works on, offline
    assert scan(desk, ADULT) == "OK_BIND"
    assert scan(desk, CHILD) == "OK_BIND"
    last = desk.status()["journal"]["last_seq"]
    broker.restart()
    hub = mqtt_client("hub", broker=broker)
    hub.subscribe(TOPICS.events("D1"))
    wait_for(
        lambda: set(range(1, last + 1)) <= set(entries_received(hub, "D1")),
        timeout=20,
        what="every entry after the outage",
    )


def test_a_gate_resends_from_the_watermark_when_the_hub_asks_for_a_replay(
    rigs, tmp_path, broker, mqtt_client
):
    hub = mqtt_client("hub")
    hub.subscribe(TOPICS.events("D1"))
    desk = start(rigs, tmp_path, broker, "D1", "desk")
    scan(desk, "T1", "barcode")
    wait_for(lambda: 1 in entries_received(hub, "D1"))
    hub.publish(TOPICS.replay("D1"), json.dumps({"v": 1, "gate": "D1", "after": 0}).encode())
    wait_for(lambda: len(hub.received(TOPICS.events("D1"))) >= 2, what="the replayed batch")


def test_a_family_let_in_at_one_gate_is_known_at_another_within_a_second(
    rigs, tmp_path, broker, mqtt_client
):
    entry = start(rigs, tmp_path, broker, "E1", "entry").linked()
    exit_gate = start(rigs, tmp_path, broker, "X1", "exit").linked()
    desk = start(rigs, tmp_path, broker, "D1", "desk")
    for value, kind in (("T1", "barcode"), (ADULT, "nfc"), (CHILD, "nfc")):
        assert scan(desk, value, kind) == "OK_BIND"
    for band in (ADULT, CHILD):  # the desk's bindings reached the entry gate
        wait_for(lambda b=band: "member" in entry.ask("allowlist", lookup=b)["lookup"])
    assert scan(entry, ADULT) == "OK_ENTRY"
    assert scan(entry, CHILD) == "OK_ENTRY"
    wait_for(lambda: exit_gate.status()["headcount"]["inside"] == 2, what="presence at X1")
    assert scan(exit_gate, CHILD) == "DENY_CHILD_NEEDS_ADULT"
    assert scan(exit_gate, ADULT) == "OK_EXIT"
    assert scan(exit_gate, CHILD) == "OK_EXIT"
    assert scan(entry, ADULT) != "OK_REENTRY"  # E1 learned the exit too: the band is returned


def test_malformed_payloads_on_the_gates_topics_are_counted_and_dropped(
    rigs, tmp_path, broker, mqtt_client
):
    desk = start(rigs, tmp_path, broker, "D1", "desk")
    hub = mqtt_client("hub")
    bad = [
        (TOPICS.ack("D1"), b"not json"),
        (TOPICS.ack("D1"), json.dumps({"v": 1, "gate": "D1", "seq": -4}).encode()),
        (TOPICS.replay("D1"), json.dumps({"v": 9, "gate": "D1", "after": 0}).encode()),
        (TOPICS.allowlist_full, json.dumps({"v": 1, "version": "many"}).encode()),
        (TOPICS.allowlist_full_delta, b"\xff\xfe"),
    ]
    for topic, payload in bad:
        hub.publish(topic, payload)
    wait_for(lambda: desk.status()["counters"].get("link_rejected", 0) >= len(bad))
    assert scan(desk, "T1", "barcode") == "OK_BIND"  # still serving


def test_an_allowlist_snapshot_from_the_hub_replaces_the_gates_own(
    rigs, tmp_path, broker, mqtt_client
):
    desk = start(rigs, tmp_path, broker, "D1", "desk")
    assert scan(desk, "T9", "barcode") == "DENY_UNKNOWN"
    hub = mqtt_client("hub")
    snapshot = {
        "v": 1,
        "version": 42,
        "tickets": [
            {
                "code": "T9",
                "adults": 1,
                "children": 0,
                "valid_from": "2020-01-01",
                "valid_to": "2099-01-01",
            }
        ],
        "bands": {ADULT: "adult"},
    }
    hub.publish(TOPICS.allowlist_full, json.dumps(snapshot).encode(), retain=True)  # a desk's
    wait_for(lambda: desk.ask("allowlist")["version"] == 42, what="snapshot applied")
    assert scan(desk, "T9", "barcode") == "OK_BIND"
    hub.publish(TOPICS.allowlist_full, b"", retain=True)  # clear the retained snapshot for others
    desk.stop()
    desk.start()
    assert desk.ask("allowlist")["version"] == 42  # kept on disk


def test_diag_names_an_unreachable_broker_and_the_backlog(rigs, tmp_path, fresh_broker):
    broker = fresh_broker()
    desk = start(rigs, tmp_path, broker, "D1", "desk")
    wait_for(lambda: desk.ask("diag")["checks"]["link"]["connected"], what="link up")
    broker.stop()
    scan(desk, "T1", "barcode")
    wait_for(lambda: not desk.ask("diag")["checks"]["link"]["connected"], what="link down")
    link = desk.ask("diag")["checks"]["link"]
    assert "unreachable" in link["problem"] and link["backlog"] >= 1


def test_a_gate_says_when_it_hears_its_peers(rigs, tmp_path, broker):
    gate = start(rigs, tmp_path, broker, "E1", "entry").linked()
    link = gate.status()["link"]
    assert link["subscribed"] and link["refused_topics"] == [] and "problem" not in link, link


def test_a_subscription_the_broker_refuses_keeps_the_gate_from_saying_it_hears_its_peers():
    """Mosquitto 2.0 grants a subscription its ACL denies and filters at delivery; a broker that
    checks on subscribe (Mosquitto's dynamic-security plugin, others) answers 0x87 instead. The
    link then names the topic, and never says it hears its peers."""
    link = Link(LinkSettings(port=1), "E1", queue.Queue())
    link.connected = True
    events, roster = TOPICS.events(), TOPICS.roster
    link.asked = {7: events, 8: roster}
    assert link.answered(LinkSubscribed(8, refused=False)) is None
    assert not link.subscribed  # one answer still to come
    assert link.answered(LinkSubscribed(7, refused=True)) == events
    assert link.refused == [events] and not link.subscribed
