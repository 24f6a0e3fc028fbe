"""The console's channel to a desk (`hub/desk/{gate}`) at a real Mosquitto: only the hub writes
it, only that desk reads it; and the request as the desk reads it (`DeskRequest`), hostile until
proven otherwise.
"""

from __future__ import annotations

import json
import uuid

import pytest
from broker import MqttClient

from deploy.broker import write_acl
from gate.link.protocol import DeskRequest, ProtocolError, parse


def test_the_desk_alone_reads_the_requests_the_hub_writes_for_it(broker, mqtt_client) -> None:
    t, tok = broker.topics, uuid.uuid4().hex
    d1, e1 = mqtt_client("D1"), mqtt_client("E1")
    for reader in (d1, e1):
        reader.subscribe(f"{t.prefix}/#")
    hub: MqttClient = mqtt_client("hub")
    hub.subscribe(t.desk())
    hub.publish(t.desk("E1"), f"to E1 {tok}")  # no lane hears a console: it is no desk
    hub.publish(t.desk("D2"), f"to D2 {tok}")  # another desk's
    hub.publish(t.desk("D1"), f"to D1 {tok}")
    hub.publish(t.hub_status, f"marker {tok}")
    for reader in (d1, e1):
        reader.wait_for_message(t.hub_status, containing=f"marker {tok}")
    assert [m.topic for m in d1.received(t.desk(), containing=tok)] == [t.desk("D1")]
    assert e1.received(t.desk(), containing=tok) == []


@pytest.mark.parametrize("forger", ["D1", "E1"])
def test_no_gate_writes_a_desk_request(broker, mqtt_client, forger) -> None:
    t, tok = broker.topics, uuid.uuid4().hex
    hub = mqtt_client("hub")
    hub.subscribe(f"{t.prefix}/#")
    gate = mqtt_client(forger)
    gate.publish(t.desk("D1"), f"forged {tok}")
    gate.publish(t.status(forger), f"marker {tok}")
    hub.wait_for_message(t.status(forger), containing=f"marker {tok}")
    assert [m.topic for m in hub.received(containing=tok)] == [t.status(forger)]


def test_the_acl_gives_each_desk_of_the_roster_its_own_topic() -> None:
    acl = write_acl("v/1", {"D1": "desk", "H1": "handheld", "E1": "entry"})
    assert "user D1\n" in acl and "topic read v/1/hub/desk/D1\n" in acl
    assert "topic read v/1/hub/desk/H1\n" in acl
    assert "hub/desk/E1" not in acl and "pattern read v/1/hub/desk" not in acl


GOOD = {"v": 1, "gate": "D1", "request": "c0123", "action": "join", "sent_ms": 1}


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"v": 2}, id="another version"),
        pytest.param({"gate": "D1/#"}, id="a wildcard gate"),
        pytest.param({"request": "x" * 65}, id="request id too long"),
        pytest.param({"request": "a b"}, id="request id with a space"),
        pytest.param({"action": "Join"}, id="action not a name"),
        pytest.param({"action": "join;rm"}, id="action with punctuation"),
        pytest.param({"args": {"ticket": "x" * 257}}, id="argument too long"),
        pytest.param({"args": {f"a{'b' * i}": "x" for i in range(17)}}, id="too many arguments"),
        pytest.param({"args": {"names": ["x"] * 33}}, id="list too long"),
        pytest.param({"args": {"ticket": 7}}, id="argument not text"),
        pytest.param({"args": {"Ticket": "T1"}}, id="argument name not lower case"),
        pytest.param({"args": {"ticket": {"deep": "x"}}}, id="argument an object"),
        pytest.param({"sent_ms": -1}, id="negative time"),
        pytest.param({"extra": 1}, id="an unknown field"),
    ],
)
def test_a_request_that_is_not_one_is_refused_with_a_reason(changed: dict) -> None:
    with pytest.raises(ProtocolError):
        parse(DeskRequest, json.dumps(GOOD | changed).encode())


def test_a_request_as_the_hub_writes_it_is_read() -> None:
    args = {"ticket": "T1", "other": "T2", "names": ["Li Lei", "韩梅梅"]}
    asked = parse(DeskRequest, json.dumps(GOOD | {"args": args}).encode())
    assert asked.args == args and asked.action == "join"
