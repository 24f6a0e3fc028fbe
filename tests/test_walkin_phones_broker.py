"""A walk-in's guardian phone on the broker (deploy/broker.py's ACL, docs/desk.md): a desk of
the roster writes its own `gate/{desk}/guardian`, the hub alone reads it; no other gate reads
it, and no gate writes another's, nor an entry or exit gate its own."""

from __future__ import annotations

import uuid

from deploy.broker import write_acl
from gate.link.guardian_phone import guardian_topic


def test_the_desks_phones_reach_the_hub_and_no_gate(broker, mqtt_client) -> None:
    t, tok = broker.topics, uuid.uuid4().hex
    hub, e1, x1 = (mqtt_client(u) for u in ("hub", "E1", "X1"))
    for reader in (hub, e1, x1):
        reader.subscribe(f"{t.prefix}/#")
    d1 = mqtt_client("D1")
    d1.publish(guardian_topic(t, "D1"), f"phone {tok}")
    d1.publish(guardian_topic(t, "X1"), f"forged {tok}")  # another gate's
    e1.publish(guardian_topic(t, "E1"), f"lane {tok}")  # an entry gate has none
    d1.publish(t.status("D1"), f"marker {tok}")
    for reader in (hub, e1, x1):
        reader.wait_for_message(t.status("D1"), containing=f"marker {tok}")
    assert [m.topic for m in hub.received(guardian_topic(t), tok)] == [guardian_topic(t, "D1")]
    for gate in (e1, x1):
        assert gate.received(guardian_topic(t), tok) == []


def test_the_acl_gives_each_desk_its_own_guardian_topic() -> None:
    acl = write_acl("v/1", {"D1": "desk", "H1": "handheld", "E1": "entry"})
    assert "topic write v/1/gate/D1/guardian\n" in acl
    assert "topic write v/1/gate/H1/guardian\n" in acl
    assert "gate/E1/guardian" not in acl and "pattern write v/1/gate/%u/guardian" not in acl
