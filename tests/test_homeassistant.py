"""Home Assistant for real: the `homeassistant` broker user reads what the hub announces, the
headcount and who is online, on a real Mosquitto with the venue's ACL and a real `hub run`, and
may publish nothing and read nothing else. Discovery ids are the venue's own."""

from __future__ import annotations

import json
import uuid

import pytest
from paho.mqtt.enums import MQTTProtocolVersion
from venue_rig import Venue

from deploy.broker import HA_USER, write_acl
from gate.link.protocol import DEFAULT_PREFIX, HA_DISCOVERY, GateStatus, Topics, dump
from hub.views.homeassistant import discovery, venue_id

V5 = MQTTProtocolVersion.MQTTv5
NOT_AUTHORIZED = 135


def configs(topics: Topics, venue: str, gates: list[str]) -> dict[str, dict]:
    return {t: json.loads(p) for t, p in discovery(topics, venue, gates).items() if p}


def test_two_venues_never_share_an_id_and_a_chinese_name_gets_one():
    ids = {
        venue_id("Children's City", DEFAULT_PREFIX),
        venue_id("Children's City", "park2/v1"),  # one broker, two prefixes
        venue_id("Water Park", DEFAULT_PREFIX),
        venue_id("欢乐儿童城", DEFAULT_PREFIX),
        venue_id("快乐水世界", DEFAULT_PREFIX),
    }
    assert len(ids) == 5
    assert all(re_id.startswith("wristgate_") and re_id.isascii() for re_id in ids)
    assert venue_id("Children's City", DEFAULT_PREFIX).startswith("wristgate_children_s_city_")

    one, two = Topics(), Topics("park2/v1")
    first = configs(one, "Children's City", ["E1"])
    second = configs(two, "Children's City", ["E1"])
    assert not set(first) & set(second)
    assert not {c["unique_id"] for c in first.values()} & {c["unique_id"] for c in second.values()}


def test_gate_entities_go_unavailable_with_the_gates_status_and_connectivity_stays():
    t = Topics()
    vid = venue_id("Park", t.prefix)
    found = configs(t, "Park", ["X1"])
    online = found[f"{HA_DISCOVERY}/binary_sensor/{vid}/gate_X1_online/config"]
    assert online["state_topic"] == t.status("X1") and "availability_topic" not in online
    for what in ("backlog", "reader"):
        sensor = found[f"{HA_DISCOVERY}/sensor/{vid}/gate_X1_{what}/config"]
        assert sensor["availability_topic"] == t.status("X1")
        assert sensor["device"]["via_device"] == vid
    inside = found[f"{HA_DISCOVERY}/sensor/{vid}/inside/config"]
    assert inside["availability_topic"] == t.hub_status
    assert len({c["unique_id"] for c in found.values()}) == len(found)


def test_the_acl_gives_home_assistant_reads_only():
    block = write_acl().split(f"user {HA_USER}\n", 1)[1].split("\n\n", 1)[0]
    assert all(line.startswith(("topic read", "topic deny")) for line in block.splitlines())
    assert f"topic read {HA_DISCOVERY}/#" in block


@pytest.fixture
def venue(tmp_path, fresh_broker):
    v = Venue(tmp_path, fresh_broker())
    yield v
    v.close()


def test_home_assistant_sees_discovery_and_values_as_its_own_user_and_nothing_else(
    venue, mqtt_client
):
    t = venue.broker.topics
    venue.start_hub()
    venue.start_gate("D1")
    vid = venue_id("wristgate venue", t.prefix)  # the rig's hub keeps the default name
    ha = mqtt_client(HA_USER, broker=venue.broker, protocol=V5)
    for topic_filter in (
        f"{HA_DISCOVERY}/#",
        t.headcount,
        t.hub_status,
        t.status("+"),
        t.events("+"),  # refused at delivery: band UIDs
        f"{t.allowlist}/#",
        t.allowlist,
        t.roster,
        t.ack("+"),
    ):
        ha.subscribe(topic_filter)

    inside = json.loads(
        ha.wait_for_message(f"{HA_DISCOVERY}/sensor/{vid}/inside/config", 15).payload
    )
    assert (inside["state_topic"], inside["unique_id"]) == (t.headcount, f"{vid}_inside")
    backlog = json.loads(
        ha.wait_for_message(f"{HA_DISCOVERY}/sensor/{vid}/gate_D1_backlog/config", 15).payload
    )
    assert backlog["availability_topic"] == t.status("D1")
    hub_online = json.loads(ha.wait_for_message(t.hub_status, 15).payload)
    assert hub_online["online"] is True
    assert "inside" in json.loads(ha.wait_for_message(t.headcount, 15).payload)
    d1 = json.loads(ha.wait_for_message(t.status("D1"), 15, containing=b'"online":true').payload)
    assert d1["gate"] == "D1"

    # a gate's events reach another gate, but not Home Assistant: E1 sees D1's bind, then says
    # so on its own status, which Home Assistant reads after anything sent before it
    e1 = mqtt_client("E1", broker=venue.broker)
    e1.subscribe(t.events("+"))
    assert venue.scan("D1", "T1", "barcode") == "OK_BIND"
    e1.wait_for_message(t.events("D1"), 15)
    marker = uuid.uuid4().hex
    e1.publish(t.status("E1"), dump(GateStatus(gate="E1", online=False, hlc=None, reader=marker)))
    ha.wait_for_message(t.status("E1"), 15, containing=marker)
    topics = {m.topic for m in ha.messages}
    assert not {x for x in topics if x.endswith("/events")}, topics
    assert not {x for x in topics if "/allowlist" in x or x.startswith(f"{t.prefix}/hub/ack")}
    assert t.roster not in topics

    for topic in (t.headcount, t.hub_status, f"{HA_DISCOVERY}/status", t.status(HA_USER)):
        assert ha.publish(topic, b"{}").value == NOT_AUTHORIZED, topic
    refused = f"{HA_DISCOVERY}/sensor/{vid}/inside/config"
    assert ha.publish(refused, b"", retain=True).value == NOT_AUTHORIZED

    # the gate leaves: its status (the will, or its goodbye) says offline
    venue.gates["D1"].stop()
    ha.wait_for_message(t.status("D1"), 15, containing=b'"online":false')
