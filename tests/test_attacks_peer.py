"""A gate speaks only for itself: forged journal entries from a leaked gate password.

A real venue (Mosquitto with the venue's ACL, `hub run`, `gate run` for D1, E1 and X1) and an
attacker holding the handheld H1's broker password, publishing only where H1 may: its own events
topic. What it forges must be refused at X1 and at the hub, never folded, quarantined at the hub
with a critical `forged_event` finding naming H1.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from broker import GATES, MqttClient
from gate_rig import ADULT, ADULT_2, CHILD, CHILD_2, SOLO_CHILD, STAFF, wait_for
from venue_rig import Venue

from gate.codec import event_to_dict
from gate.core import (
    BandBound,
    BindingOpened,
    Event,
    MemberMoved,
    MemberState,
    Mode,
    OverrideArmed,
    PairingOpened,
    Role,
)
from gate.hlc import Timestamp
from gate.peers import Peers
from gate.protocol import Entry, EventBatch, ProtocolError, Roster, Topics, dump, parse
from hub.broker import Broker, Credentials

TOPICS = Topics()
NOW = datetime.now(UTC)


class Forger:
    """A client logged in with a gate's password, writing entries in that gate's name."""

    def __init__(self, broker: Broker, gate: str, first_seq: int = 1) -> None:
        self.gate = gate
        self.seq = first_seq
        self.client = MqttClient(broker, gate, broker.credentials.password(gate))
        assert not self.client.connect().is_failure

    def entry(self, kind: str, body: dict[str, Any], seq: int | None = None) -> Entry:
        if seq is None:
            seq, self.seq = self.seq, self.seq + 1
        wall_ms = int(time.time() * 1000)
        return Entry(
            seq=seq,
            nonce=secrets.token_hex(8),
            wall_ms=wall_ms,
            hlc=str(Timestamp(wall_ms)),
            kind=kind,
            body=body,
        )

    def send(self, *entries: Entry, retain: bool = False) -> None:
        batch = EventBatch(gate=self.gate, entries=list(entries))
        payload = dump(batch)
        reason = self.client.publish(TOPICS.events(self.gate), payload, retain=retain, timeout=30)
        assert not reason.is_failure, reason


def decision(gate: str, mode: str, value: str, code: str, events: list[Event], **d: Any) -> dict:
    """A decision entry's body, as `Gate.scan` journals it."""
    return {
        "scan": {
            "kind": "nfc",
            "value": value,
            "mode": mode,
            "intent": "final",
            "token": False,
            "offline": False,
        },
        "decision": {"code": code, "message": "ok", "value": value, "gate": gate, **d},
        "events": [event_to_dict(e) for e in events],
    }


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venue]:
    """D1, E1, X1 and the hub; families T1 (ADULT, CHILD) and TSOLO (SOLO_CHILD) inside."""
    root = tmp_path_factory.mktemp("venue")
    broker = Broker(root / "broker", credentials=Credentials.generate((*GATES, "H1"))).start()
    v = Venue(root, broker, forged=True)
    try:
        v.start_hub()
        for gate in ("D1", "E1", "X1"):
            v.start_gate(gate)
        for ticket, bands in (("T1", (ADULT, CHILD)), ("TSOLO", (SOLO_CHILD,))):
            assert v.scan("D1", ticket, "barcode") == "OK_BIND"
            for band in bands:
                assert v.scan("D1", band) == "OK_BIND"
        v.wait_bound(("E1", "X1"), (ADULT, CHILD, SOLO_CHILD))
        assert [v.scan("E1", b) for b in (ADULT, CHILD, SOLO_CHILD)] == ["OK_ENTRY"] * 3
        v.wait_bound(("X1",), (ADULT,))
        wait_for(lambda: member(v, "X1", CHILD)["state"] == "inside", what="X1 knows CHILD in")
        yield v
    finally:
        v.close()
        broker.stop()


@pytest.fixture(scope="module")
def h1(venue: Venue) -> Iterator[Forger]:
    forger = Forger(venue.broker, "H1")
    yield forger
    forger.client.close()


def member(v: Venue, gate: str, uid: str) -> dict[str, Any]:
    from gate.gatectl import ask

    answer = ask(str(v.gates[gate].socket), {"cmd": "allowlist", "lookup": uid})
    return dict(answer["lookup"].get("member") or {})


def gate_counters(v: Venue, gate: str) -> dict[str, int]:
    return dict(v.gate_status(gate)["counters"])


def hub_status(v: Venue) -> dict[str, Any]:
    from gate.gatectl import ask

    assert v.hub is not None
    return ask(str(v.hub.socket), {"cmd": "status"})


def refused_everywhere(v: Venue, reason: str, before: dict[str, int]) -> None:
    """X1, E1 and the hub each refused one more entry for `reason`."""
    key = f"peer_refused.{reason}"
    for gate in ("X1", "E1"):
        wait_for(
            lambda g=gate: gate_counters(v, g).get(key, 0) > before.get(f"{g}:{reason}", 0),
            timeout=30,
            what=f"{gate} refusing {reason}; log: {v.gates[gate].tail()[-600:]}",
        )
    wait_for(
        lambda: hub_status(v)["refused"].get(reason, 0) > before.get(f"hub:{reason}", 0),
        timeout=30,
        what=f"the hub refusing {reason}; log: {v.hub.tail()[-600:] if v.hub else ''}",
    )


def counts(v: Venue) -> dict[str, int]:
    found = {f"hub:{r}": n for r, n in hub_status(v)["refused"].items()}
    for gate in ("X1", "E1"):
        for key, n in gate_counters(v, gate).items():
            if key.startswith("peer_refused."):
                found[f"{gate}:{key.split('.', 1)[1]}"] = n
    return found


def forged_findings(v: Venue, gate: str) -> list[dict[str, Any]]:
    return [
        f for f in v.api("/api/findings") if f["kind"] == "forged_event" and f["gates"] == [gate]
    ]


def test_handheld_password_cannot_open_a_pairing_window_at_an_exit(venue: Venue, h1: Forger):
    before = counts(venue)
    opened = PairingOpened("X1", NOW, "T1", Mode.EXIT, ADULT)
    h1.send(h1.entry("decision", decision("H1", "bind", "T1", "OK_BIND", [opened])))
    refused_everywhere(venue, "foreign_gate", before)
    assert venue.scan("X1", CHILD) == "DENY_CHILD_NEEDS_ADULT"  # still alone at X1
    found = forged_findings(venue, "H1")
    assert found and "foreign_gate" in found[0]["detail"], found
    alerts = venue.api("/api/display")["alerts"]
    assert any(a["level"] == "critical" and a["kind"] == "forged_event" for a in alerts), alerts


def test_handheld_password_cannot_arm_an_override_for_a_duty_manager(venue: Venue, h1: Forger):
    before = counts(venue)
    armed = OverrideArmed("X1", NOW, STAFF)
    h1.send(h1.entry("decision", decision("H1", "bind", STAFF, "OK_STAFF", [armed], role="staff")))
    refused_everywhere(venue, "foreign_gate", before)
    assert venue.scan("X1", SOLO_CHILD) == "DENY_GUARDIAN_PICKUP"  # no OK_OVERRIDE


def test_handheld_password_cannot_take_a_child_out_of_the_headcount(venue: Venue, h1: Forger):
    before = counts(venue)
    moved = MemberMoved("H1", NOW, CHILD, "T1", MemberState.EXITED)
    h1.send(h1.entry("expiry", {"events": [event_to_dict(moved)]}))
    refused_everywhere(venue, "role_cannot", before)
    for gate in ("E1", "X1"):
        assert member(venue, gate, CHILD)["state"] == "inside"
    assert CHILD in {row["uid"] for row in venue.api("/api/sweep")}
    assert venue.api("/api/headcount")["children"] == 2  # CHILD and SOLO_CHILD, both inside
    found = forged_findings(venue, "H1")
    assert any("role_cannot" in f["detail"] for f in found), found


def test_handheld_password_cannot_bind_a_child_band_as_an_adult(venue: Venue, h1: Forger):
    before = counts(venue)
    opened = BindingOpened("H1", NOW, "T2", 1, 1)
    bound = BandBound("H1", NOW, CHILD_2, "T2", Role.ADULT)
    h1.send(
        h1.entry("decision", decision("H1", "bind", "T2", "OK_BIND", [opened], group="T2")),
        h1.entry(
            "decision",
            decision("H1", "bind", CHILD_2, "OK_BIND", [bound], group="T2", role="adult"),
        ),
    )
    refused_everywhere(venue, "stock_role", before)
    assert member(venue, "X1", CHILD_2) == {} and member(venue, "E1", CHILD_2) == {}
    found = forged_findings(venue, "H1")
    assert any("stock_role" in f["detail"] for f in found), found
    assert ADULT_2  # the real adult of T2 can still be bound at the desk
    assert venue.scan("D1", "T2", "barcode") == "OK_BIND"


def test_an_8_mib_body_is_refused_and_no_store_grows(venue: Venue, h1: Forger):
    before = counts(venue)
    padding = "x" * (8 << 20)
    for _ in range(3):
        h1.send(h1.entry("fire_alarm", {"on": False, "padding": padding}))
    refused_everywhere(venue, "schema", before)
    wait_for(
        lambda: hub_status(venue)["refused"].get("schema", 0) >= before.get("hub:schema", 0) + 3,
        timeout=30,
        what="all three refused",
    )
    for gate in ("X1", "D1", "E1"):
        assert size_mb(venue.root / gate / "state", "presence.db") < 2
    assert size_mb(venue.root / "hub" / "state", "events.db") < 2
    # nothing is lost: the hub holds a stub for each, and H1's watermark moved over them
    assert venue.api("/api/gates")["H1"]["backlog"] == 0


def retained_batches(v: Venue, gate: str) -> list[bytes]:
    """What a client subscribing now is handed on `gate`'s events topic as retained: a marker
    sent after subscribing (an empty message, which every consumer ignores) comes after it."""
    probe = MqttClient(v.broker, "X2", v.broker.credentials.password("X2"))
    try:
        assert not probe.connect().is_failure
        probe.subscribe(TOPICS.events(gate))
        probe.subscribe(TOPICS.events("X2"))
        probe.publish(TOPICS.events("X2"), b"")
        probe.wait_for_message(TOPICS.events("X2"), timeout=10)
        return [m.payload for m in probe.received(TOPICS.events(gate)) if m.retain and m.payload]
    finally:
        probe.close()


def size_mb(directory: Path, name: str) -> float:
    return sum(p.stat().st_size for p in directory.glob(name + "*")) / 1e6


def test_a_far_sequence_number_left_retained_leaves_no_gap_and_is_cleared(venue: Venue):
    """Whoever holds E1's password sends, while E1 is down, an entry a million seqs ahead and
    leaves it retained. (The broker binds a client id to its login: with E1 up, the forger and
    the gate would take each other's session in turn, which is alerted.)"""
    far = venue.gate_status("E1")["journal"]["last_seq"] + 1_000_000
    venue.gates["E1"].stop()
    e1 = Forger(venue.broker, "E1")
    try:
        e1.send(e1.entry("fire_alarm", {"on": False}, seq=far), retain=True)
    finally:
        e1.client.close()
    wait_for(lambda: hub_status(venue)["refused"].get("seq_jump", 0) >= 1, timeout=30, what="jump")
    seq_jumps = [f for f in venue.api("/api/findings") if f["kind"] == "seq_jump"]
    assert seq_jumps and seq_jumps[0]["gates"] == ["E1"], seq_jumps
    gates = venue.api("/api/gates")
    assert gates["E1"]["backlog"] < 1000, gates["E1"]

    replays = MqttClient(venue.broker, "E1", venue.broker.credentials.password("E1"))
    try:  # the hub would ask E1 for the gap once a second
        assert not replays.connect().is_failure
        replays.subscribe(TOPICS.replay("E1"))
        time.sleep(2.5)  # a span of the hub's ticks in which nothing may come
        assert replays.received(TOPICS.replay("E1")) == []
    finally:
        replays.close()

    assert retained_batches(venue, "E1"), "the probe sees what the attacker left"
    venue.start_gate("E2")  # a gate starting now is handed the retained batch: ignores it
    wait_for(
        lambda: gate_counters(venue, "E2").get("retained_ignored", 0) >= 1,
        timeout=30,
        what=f"E2 ignoring the retained batch; log: {venue.gates['E2'].tail()[-600:]}",
    )
    venue.start_gate("E1")  # connecting, E1 clears its own events topic
    wait_for(lambda: venue.gate_status("E1")["link"]["connected"], timeout=30, what="E1")
    wait_for(lambda: not retained_batches(venue, "E1"), timeout=30, what="E1's topic clear")


def test_a_gate_keeps_the_venue_roster_for_a_restart_without_the_broker(venue: Venue):
    kept = json.loads((venue.root / "X1" / "state" / "roster.json").read_text())
    assert kept["gates"]["H1"] == "handheld" and kept["gates"]["X1"] == "exit"
    restarted = Peers(venue.root / "X1" / "state" / "roster.json")  # as a gate starting offline
    assert restarted.roster["H1"] == "handheld"


def test_a_roster_naming_an_unknown_role_is_refused() -> None:
    with pytest.raises(ProtocolError, match="not a gate id and a role"):
        parse(Roster, b'{"v": 1, "gates": {"H1": "superuser"}}')
