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

from deploy.broker import Credentials
from deploy.broker_process import Broker
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
from gate.core.authority import MAX_BODY
from gate.core.hlc import Timestamp
from gate.link.codec import event_to_dict
from gate.link.peers import Peers
from gate.link.protocol import Entry, EventBatch, ProtocolError, Roster, Topics, dump, parse
from gate.link.vetting import body_size
from hub.fold.reconcile import VenueState
from hub.ingest.intake import Ingest
from hub.store.events import EventStore
from hub.store.quarantine import QUARANTINE_COPIES

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
    """A decision entry's body, as `ScanPath.scan` journals it."""
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
    broker = Broker(
        root / "broker", credentials=Credentials.generate((*GATES, "H1", "H2", "D2"))
    ).start()
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
        wait_for(  # the hub too: each test starts from the venue as every side holds it
            lambda: v.api("/api/headcount")["children"] == 2,
            timeout=60,
            what="the hub's 2 children inside",
            log=lambda: v.hub.tail() if v.hub else "",
        )
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
    from gate.control.client import ask

    answer = ask(str(v.gates[gate].socket), {"cmd": "allowlist", "lookup": uid})
    return dict(answer["lookup"].get("member") or {})


def gate_counters(v: Venue, gate: str) -> dict[str, int]:
    return dict(v.gate_status(gate)["counters"])


def hub_status(v: Venue) -> dict[str, Any]:
    from gate.control.client import ask

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
    wait_for(  # the hub's view of the venue follows its store (refreshed once a second)
        lambda: CHILD in {row["uid"] for row in venue.api("/api/sweep")},
        timeout=30,
        what=f"the hub's sweep listing {CHILD}",
        log=lambda: f"the sweep: {venue.api('/api/sweep')}",
    )
    wait_for(  # CHILD and SOLO_CHILD, both inside (the headcount is refreshed once a second)
        lambda: venue.api("/api/headcount")["children"] == 2,
        timeout=10,
        what=f"2 children inside; headcount: {venue.api('/api/headcount')}",
    )
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


def test_exit_and_entry_passwords_cannot_undo_a_decision_they_never_made(venue: Venue):
    """A passage record 'undoing' a grant nobody journalled: an exit's password sending the
    child to `exited`, an entry's sending it back to `bound`. Both must leave it counted."""
    before, children = counts(venue), venue.api("/api/headcount")["children"]
    x2, e2 = Forger(venue.broker, "X2"), Forger(venue.broker, "E2")
    try:
        out = MemberMoved("X2", NOW, CHILD, "T1", MemberState.EXITED)
        x2.send(
            x2.entry(
                "passage", {"decision_seq": 99999, "passed": False, "events": [event_to_dict(out)]}
            )
        )
        back = MemberMoved("E2", NOW, CHILD, "T1", MemberState.BOUND)
        e2.send(
            e2.entry("fire_alarm", {"on": False}),  # seq 1: held, but no decision
            e2.entry(
                "passage", {"decision_seq": 1, "passed": False, "events": [event_to_dict(back)]}
            ),
        )
        refused_everywhere(venue, "kind_cannot", before)
        refused_everywhere(venue, "decision_mismatch", before)
    finally:
        x2.client.close()
        e2.client.close()
    for gate in ("E1", "X1"):
        assert member(venue, gate, CHILD)["state"] == "inside"
    assert venue.api("/api/headcount")["children"] == children
    assert CHILD in {row["uid"] for row in venue.api("/api/sweep")}
    assert forged_findings(venue, "X2") and forged_findings(venue, "E2")


def test_an_entry_is_measured_in_bytes_not_characters(venue: Venue, h1: Forger):
    """6000 euro signs are 18000 bytes: over an allowlist entry's 16 KiB, though fewer
    characters."""
    before = counts(venue)
    h1.send(h1.entry("allowlist", {"version": 2, "source": "\u20ac" * 6000}))
    refused_everywhere(venue, "schema", before)


def retained_batches(v: Venue, gate: str) -> list[bytes]:
    """What a client subscribing now is handed on `gate`'s events topic as retained: a marker
    sent after subscribing (an empty message, which every consumer ignores) comes after it."""
    probe = MqttClient(v.broker, "X2", v.broker.credentials.password("X2"))
    try:
        assert not probe.connect().is_failure
        probe.subscribe(TOPICS.events(gate))
        probe.subscribe(TOPICS.events("X2"))
        probe.publish(TOPICS.events("X2"), b"")
        probe.wait_for_message(TOPICS.events("X2"))
        return [m.payload for m in probe.received(TOPICS.events(gate)) if m.retain and m.payload]
    finally:
        probe.close()


def size_mb(directory: Path, name: str) -> float:
    return sum(p.stat().st_size for p in directory.glob(name + "*")) / 1e6


def test_a_far_sequence_number_left_retained_leaves_no_gap_and_is_cleared(venue: Venue):
    far = venue.gate_status("E1")["journal"]["last_seq"] + 1_000_000
    venue.gates["E1"].stop()  # a login is one session (client id = username): E1's is free
    e1 = Forger(venue.broker, "E1")
    replays = e1.client
    try:
        replays.subscribe(TOPICS.replay("E1"))
        e1.send(e1.entry("fire_alarm", {"on": False}, seq=far), retain=True)
        wait_for(
            lambda: hub_status(venue)["refused"].get("seq_jump", 0) >= 1, timeout=30, what="jump"
        )
        seq_jumps = [f for f in venue.api("/api/findings") if f["kind"] == "seq_jump"]
        assert seq_jumps and seq_jumps[0]["gates"] == ["E1"], seq_jumps
        gates = venue.api("/api/gates")
        assert gates["E1"]["backlog"] < 1000, gates["E1"]
        time.sleep(2.5)  # the hub's tick would ask for a gap once a second
        assert replays.received(TOPICS.replay("E1")) == []

        assert retained_batches(venue, "E1"), "the probe sees what the attacker left"
        venue.start_gate("E2")  # a gate starting now is handed the retained batch: ignores it
        wait_for(
            lambda: gate_counters(venue, "E2").get("retained_ignored", 0) >= 1,
            timeout=30,
            what=f"E2 ignoring the retained batch; log: {venue.gates['E2'].tail()[-600:]}",
        )
        e1.client.close()
        venue.start_gate("E1")  # connecting, E1 clears its own events topic
        wait_for(lambda: venue.gate_status("E1")["link"]["connected"], timeout=30, what="E1")
        wait_for(lambda: not retained_batches(venue, "E1"), timeout=30, what="E1's topic clear")
    finally:
        e1.client.close()


def test_a_gate_keeps_the_venue_roster_for_a_restart_without_the_broker(venue: Venue):
    kept = json.loads((venue.root / "X1" / "state" / "roster.json").read_text())
    assert kept["gates"]["H1"] == "handheld" and kept["gates"]["X1"] == "exit"
    restarted = Peers(venue.root / "X1" / "state" / "roster.json")  # as a gate starting offline
    assert restarted.roster["H1"] == "handheld"


def test_a_roster_naming_an_unknown_role_is_refused() -> None:
    with pytest.raises(ProtocolError, match="not a gate id and a role"):
        parse(Roster, b'{"v": 1, "gates": {"H1": "superuser"}}')


def test_a_far_future_clock_is_refused_and_nothing_after_it_counts_as_late(venue: Venue):
    """A desk's password sends a harmless entry stamped in the year 10889: kept, it would be
    the newest entry at every gate and the hub for ever, each later one folded as late."""
    before = counts(venue)
    rebuilds = venue.gates["X1"].log.read_text(errors="replace").count("folding the day again")
    d2 = Forger(venue.broker, "D2")
    try:
        forged = d2.entry("fire_alarm", {"on": False})
        d2.send(forged.model_copy(update={"hlc": "ffffffffffff0000"}))
        refused_everywhere(venue, "clock_ahead", before)
    finally:
        d2.client.close()
    assert venue.scan("D1", "T2", "barcode") in ("OK_BIND", "DENY_ALREADY_BOUND")
    assert venue.scan("D1", ADULT_2) == "OK_BIND"  # a real entry after the forged one
    wait_for(lambda: member(venue, "X1", ADULT_2) != {}, timeout=30, what="X1 folds the binding")
    log = venue.gates["X1"].log.read_text(errors="replace")
    assert log.count("folding the day again") == rebuilds, log[-1500:]
    wait_for(lambda: not hub_status(venue)["stale"], timeout=30, what="the hub's state current")
    stubs = [f for f in venue.api("/api/findings") if f["gates"] == ["D2"]]
    assert stubs and "clock_ahead" in stubs[0]["detail"], stubs


def test_the_open_display_shows_a_forged_entry_without_what_the_sender_wrote(venue: Venue):
    """What a refusal's detail repeats is the sender's to choose (here a body key that sends
    the public elsewhere): staff read it on /api/findings, the open display says only who and
    why."""
    before = counts(venue)
    h2 = Forger(venue.broker, "H2")
    try:
        h2.send(h2.entry("fire_alarm", {"on": False, "refunds at evil.example": 1}))
        refused_everywhere(venue, "schema", before)
    finally:
        h2.client.close()
    found = [f for f in venue.api("/api/findings") if f["gates"] == ["H2"]]
    assert found and "evil.example" in found[0]["detail"], found  # staff see what was sent
    shown = [a for a in venue.api("/api/display")["alerts"] if a["kind"] == "forged_event"]
    assert any(a["text"].startswith("gate H2 sent what it may not (schema: ") for a in shown)
    assert not any("evil.example" in a["text"] for a in shown), shown


def test_a_gate_password_flooding_the_hub_is_cut_at_its_hourly_budget(tmp_path: Path):
    """Expiry entries at their largest, one after another: past the gate's budget for the
    hour, each is refused as `flood`: acknowledged, a stub stored, no copy of its body kept."""
    store = EventStore(tmp_path / "events.db")
    acks: list[bytes] = []
    ingest = Ingest(
        store,
        TOPICS,
        lambda topic, payload, qos, retain: acks.append(payload),
        budget_bytes=1 << 20,
        vet=lambda gate, entry: None,
    )
    at = NOW.isoformat()
    closed = [
        {"type": "PairingClosed", "gate": "X1", "at": at, "group": f"G{i:06d}", "direction": "exit"}
        for i in range(1800)
    ]
    body = {"events": closed}
    size = body_size(body)
    assert 150_000 < size <= MAX_BODY["expiry"]
    forger = Forger.__new__(Forger)  # entries only: no broker here
    forger.gate, forger.seq = "X1", 1
    for _ in range(20):
        batch = EventBatch(gate="X1", entries=[forger.entry("expiry", body)])
        ingest.on_message(TOPICS.events("X1"), dump(batch))
    assert store.acked("X1") == 20  # everything acknowledged: nothing waits
    taken = 20 - ingest.refused["flood"]
    assert taken * size <= 1 << 20 < (taken + 1) * size, ingest.refused
    flood = [q for q in store.quarantined() if q.reason == "flood"]
    assert len(flood) == ingest.refused["flood"] and all(q.size == size for q in flood)
    kept = store._db.execute("SELECT SUM(LENGTH(body)) FROM quarantine").fetchone()[0]
    assert kept == 0, "a flood keeps no copies"
    store.close()
    assert size_mb(tmp_path, "events.db") < 3
    findings = VenueState(EventStore(tmp_path / "events.db")).findings()
    assert any(f.kind == "forged_event" and f.reason == "flood" and f.critical for f in findings)


def test_the_quarantine_keeps_a_gates_first_refused_bodies_only(tmp_path: Path):
    store = EventStore(tmp_path / "events.db")
    refusal = "unexpected ['padding']"
    for seq in range(1, QUARANTINE_COPIES + 51):
        entry = Entry(
            seq=seq,
            nonce=f"n{seq:07d}",
            wall_ms=1,
            hlc=str(Timestamp(1)),
            kind="fire_alarm",
            body={"on": False, "padding": "x" * 500},
        )
        store.add_batches([store.prepare("H1", [entry], 1, {seq: ("schema", refusal)})])
    kept = store._db.execute("SELECT COUNT(*) FROM quarantine WHERE body != ''").fetchone()[0]
    assert kept == QUARANTINE_COPIES
    assert len(store.quarantined()) == QUARANTINE_COPIES + 50  # each still counted
    assert store.acked("H1") == QUARANTINE_COPIES + 50
    store.close()
