"""The venue's one truth at the hub: every gate's journal folded in hybrid-clock order.

The gates here are `SimGate`s: the real rules core deciding, the real journal (`gate.store.journal`)
on disk, journalled exactly as `gate/daemon/scans.py` does (kinds `decision`, `expiry`, `passage`),
following each other's entries like the daemon's link (folding them, observing their hybrid
timestamps), and reading the wristband token a desk wrote when the band is not known. The hub
is the real `EventStore`, `Ingest` and `VenueState`; the network between them is `Net`, where a
gate can be cut off and come back with its backlog.

Ground truth is the same scans run through one shared state (as `gate simulate` does: every gate
online). When the partition causes no conflict, the hub must end exactly there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from gate.core import (
    Allowlist,
    BandBound,
    BandLearned,
    BandToken,
    Decision,
    Event,
    Intent,
    Kind,
    MemberMoved,
    MemberState,
    Mode,
    Policy,
    Role,
    Scan,
    State,
    Ticket,
    advance,
    decide,
    expire,
    fold,
    headcount,
    step,
)
from gate.core.hlc import ClockDriftError, Timestamp
from gate.link.codec import decision_to_dict, event_from_dict, event_to_dict
from gate.link.protocol import Ack, Entry, EventBatch, GateStatus, Topics, dump, parse
from gate.store.journal import Journal
from gate.tools.scanline import read_on_the_reader
from hub.fold.reconcile import VenueState
from hub.ingest.intake import Ingest
from hub.store.events import EventStore

DAY = date(2026, 7, 1)
T0 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
POLICY = Policy(timezone="Asia/Shanghai", open="09:00", close="18:00", capacity=500)
STAFF = "04EE0001"
TOPICS = Topics()


def ticket(code: str, adults: int, children: int, phone: str = "") -> Ticket:
    return Ticket(code, "family", adults, children, DAY, DAY, phone)


def venue_allowlist() -> Allowlist:
    tickets = [ticket(f"T-{x}", 1, 1) for x in "ABCDEFG"]
    tickets.append(ticket("T-SOLO", 0, 1, "13800138000"))
    bands = {f"04A0000{x}": Role.ADULT for x in "ABCDEFG"}
    bands |= {f"04C0000{x}": Role.CHILD for x in "ABCDEFGS"}
    return Allowlist(1, {t.code: t for t in tickets}, bands, {STAFF: "Wang Fang"}, {})


def family(x: str) -> tuple[str, str, str]:
    """(ticket, adult band, child band) of family `x`."""
    return f"T-{x}", f"04A0000{x}", f"04C0000{x}"


class Clock:
    """The true time of the venue, in ms; each gate reads it through its own offset."""

    def __init__(self, start: datetime = T0) -> None:
        self.ms = int(start.timestamp() * 1000)

    def at(self, minutes: float) -> None:
        """Move to `minutes` past T0 (never back)."""
        self.ms = max(self.ms, int(T0.timestamp() * 1000 + minutes * 60_000))

    def tick(self, ms: int = 1000) -> None:
        self.ms += ms


@dataclass
class Tokens:
    """The tokens the desks wrote onto the bands: what any gate's reader would verify."""

    allowlist: Allowlist
    on_band: dict[str, BandToken] = field(default_factory=dict)

    def written(self, bound: BandBound, group_adults: int, group_children: int) -> None:
        t = self.allowlist.tickets[bound.group]
        self.on_band[bound.uid] = BandToken(
            bound.group, bound.role, t.valid_from, t.valid_to, group_adults, group_children
        )


class SimGate:
    """A gate as gate/daemon/gate.py runs it, minus the hardware."""

    def __init__(
        self,
        tmp: Path,
        gate_id: str,
        mode: Mode,
        clock: Clock,
        tokens: Tokens,
        offset_ms: int = 0,
        journal_name: str | None = None,
    ) -> None:
        self.id, self.mode, self.clock, self.tokens = gate_id, mode, clock, tokens
        self.offset_ms = offset_ms
        self.journal = Journal(tmp / (journal_name or f"{gate_id}.db"), gate_id, wall=self.wall)
        self.state = State(allowlist=tokens.allowlist)
        self.staff = tokens.allowlist.staff  # badges held to the reader: read from a tag
        self.followed: set[tuple[str, int]] = set()
        self.last_seq = 0
        self.last_moves: list[tuple[MemberMoved, MemberState]] = []

    def wall(self) -> int:
        return self.clock.ms + self.offset_ms

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.wall() / 1000, UTC)

    def scan(self, value: str, kind: Kind = Kind.NFC, intent: Intent = Intent.FINAL) -> Decision:
        """ScanPath.scan: advance time, decide, journal, fold."""
        now = self.now()
        self.tick()
        token = self.tokens.on_band.get(value) if kind is Kind.NFC else None
        scan = read_on_the_reader(Scan(self.id, self.mode, kind, value, intent, token), self.staff)
        decision, events = decide(self.state, scan, now, POLICY)
        entry = self.journal.append(
            "decision",
            {
                "scan": {
                    "kind": kind.value,
                    "value": value,
                    "mode": self.mode.value,
                    "intent": intent.value,
                    "token": token is not None,
                    "tag": scan.tag,
                },
                "decision": decision_to_dict(decision),
                "events": [event_to_dict(e) for e in events],
            },
        )
        self.last_seq = entry.seq
        learned = {e.uid: e.state for e in events if isinstance(e, BandLearned)}
        self.last_moves = [
            (e, m.state if (m := self.state.members.get(e.uid)) else learned[e.uid])
            for e in events
            if isinstance(e, MemberMoved)
        ]
        for event in events:
            fold(self.state, event)
            if isinstance(event, BandBound):
                group = self.state.groups[event.group]
                self.tokens.written(event, group.adults, group.children)
        return decision

    def nobody_passed(self) -> list[Event]:
        """ScanPath.passage(passed=False) for the last grant: journal it and undo the moves."""
        now = self.now()
        events: list[Event] = [
            MemberMoved(m.gate, now, m.uid, m.group, earlier) for m, earlier in self.last_moves
        ]
        self.journal.append(
            "passage",
            {
                "decision_seq": self.last_seq,
                "passed": False,
                "events": [event_to_dict(e) for e in events],
            },
        )
        for event in events:
            fold(self.state, event)
        return events

    def tick(self) -> None:
        """ScanPath.advance_time: close this gate's pairing windows that are due."""
        events = expire(self.state, self.now(), POLICY, self.id)
        if events:
            self.journal.append("expiry", {"events": [event_to_dict(e) for e in events]})
            for event in events:
                fold(self.state, event)

    def follow(self, gate: str, entries: list[Entry]) -> None:
        """LinkFollower._follow: another gate's entries, folded once, their timestamps observed."""
        for entry in entries:
            if (gate, entry.seq) in self.followed:
                continue
            self.followed.add((gate, entry.seq))
            with contextlib.suppress(ClockDriftError):  # the daemon logs it, folds all the same
                self.journal.observe(Timestamp.parse(entry.hlc))
            for data in entry.body.get("events", ()):
                fold(self.state, event_from_dict(data))

    def unsent(self, after: int) -> list[Entry]:
        return [Entry.of(e) for e in self.journal.entries_after(after, limit=100_000)]

    def status(self) -> bytes:
        return dump(
            GateStatus(
                gate=self.id,
                online=True,
                role=self.mode.value,
                allowlist_version=self.state.allowlist.version,
                last_seq=self.journal.last_seq,
                acked=self.journal.acked,
                wall_ms=self.wall(),
                hlc=str(self.journal.hlc),
            )
        )


class Hub:
    """The hub's core over one store file: store, venue state, ingest."""

    def __init__(self, path: Path, clock: Clock, acks: dict[str, int]) -> None:
        self.clock = clock
        self.acks = acks
        self.store = EventStore(path)
        self.venue = VenueState(
            self.store, allowlist=venue_allowlist(), capacity=500, clock_ms=lambda: clock.ms
        )
        self.published: list[tuple[str, bytes, int, bool]] = []
        self.ingest = Ingest(
            self.store, TOPICS, self.publish, lambda: clock.ms, on_stored=self.venue.add
        )

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        self.published.append((topic, payload, qos, retain))
        if topic.startswith(TOPICS.ack("")):
            ack = parse(Ack, payload)
            self.acks[ack.gate] = ack.seq

    def close(self) -> None:
        self.store.close()


class Net:
    """Gates, the hub and the broker between them; a gate can be cut off and come back."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.clock = Clock()
        self.tokens = Tokens(venue_allowlist())
        self.gates: dict[str, SimGate] = {}
        self.offline: set[str] = set()
        self.sent: dict[str, int] = {}
        self.acks: dict[str, int] = {}
        self.hub = Hub(tmp / "hub.db", self.clock, self.acks)
        # ground truth: every scan through one shared state, as if always online
        self.truth = State(allowlist=venue_allowlist())

    def gate(self, gate_id: str, mode: Mode, offset_ms: int = 0) -> SimGate:
        g = SimGate(self.tmp, gate_id, mode, self.clock, self.tokens, offset_ms)
        self.gates[gate_id] = g
        self.sent[gate_id] = 0
        return g

    def scan(self, gate_id: str, value: str, **options: Any) -> Decision:
        g = self.gates[gate_id]
        kind = Kind.BARCODE if value.startswith("T-") else Kind.NFC
        decision = g.scan(value, kind, **options)
        token = self.tokens.on_band.get(value) if kind is Kind.NFC else None
        intent = options.get("intent", Intent.FINAL)
        scan = read_on_the_reader(Scan(gate_id, g.mode, kind, value, intent, token), g.staff)
        truth, _ = step(self.truth, scan, g.now(), POLICY)
        assert truth.code == decision.code, (value, gate_id, truth, decision)
        self.sync()
        self.clock.tick()
        return decision

    def sync(self) -> None:
        """Every online gate sends what the hub has not acknowledged; online gates follow."""
        for gid, g in self.gates.items():
            if gid in self.offline:
                continue
            self.acknowledge(g)
            entries = g.unsent(self.sent[gid])
            for i in range(0, len(entries), 200):
                batch = EventBatch(gate=gid, entries=entries[i : i + 200])
                self.hub.ingest.on_message(TOPICS.events(gid), dump(batch))
            if entries:
                self.sent[gid] = entries[-1].seq
                for other, peer in self.gates.items():
                    if other != gid and other not in self.offline:
                        peer.follow(gid, entries)
            self.acknowledge(g)

    def acknowledge(self, g: SimGate) -> None:
        """Link.acknowledged: an ack beyond this journal (the hub knew another one) is ignored."""
        seq = self.acks.get(g.id, 0)
        if g.journal.acked < seq <= g.journal.last_seq:
            g.journal.acknowledge(seq)

    def nobody_passed(self, gate_id: str) -> None:
        """The last grant at `gate_id` was not used: the gate undoes it, and so does the truth."""
        for event in self.gates[gate_id].nobody_passed():
            fold(self.truth, event)
        self.sync()

    def cut(self, gate_id: str) -> None:
        self.offline.add(gate_id)

    def reconnect(self, gate_id: str) -> None:
        """Back online: resend from the hub's watermark (the link's rewind), catch up on peers."""
        self.offline.discard(gate_id)
        self.sent[gate_id] = self.gates[gate_id].journal.acked
        g = self.gates[gate_id]
        for other, peer in self.gates.items():
            if other != gate_id:
                g.follow(other, peer.unsent(0))
        self.sync()

    def close_windows(self) -> None:
        """Every gate and the truth close the pairing windows due by now."""
        for g in self.gates.values():
            g.tick()
        advance(self.truth, datetime.fromtimestamp(self.clock.ms / 1000, UTC), POLICY)
        self.sync()


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    n = Net(tmp_path)
    yield n
    for g in n.gates.values():
        g.journal.close()
    n.hub.close()


def bind(net: Net, desk: str, *families: str) -> None:
    for x in families:
        code, adult, child = family(x)
        for value in (code, adult, child):
            assert net.scan(desk, value).code.value == "OK_BIND", value


def through(net: Net, gate: str, *families: str, intent: Intent = Intent.FINAL) -> None:
    """Adult first, then the child: the way families pass a gate."""
    for x in families:
        _, adult, child = family(x)
        for uid in (adult, child):
            decision = net.scan(gate, uid, intent=intent)
            assert decision.granted, (uid, decision)


def hub_states(net: Net) -> dict[str, MemberState]:
    with net.hub.venue.reading() as state:
        return {uid: m.state for uid, m in state.members.items()}


def kinds(venue: VenueState) -> list[str]:
    return [f.kind for f in venue.findings()]


# --- a gate cut off, then back with its backlog ---------------------------------------------------


def test_late_events_from_an_offline_gate_land_where_they_happened(net: Net):
    net.gate("D1", Mode.BIND)
    net.gate("E1", Mode.ENTRY)
    net.gate("E2", Mode.ENTRY)
    net.gate("X1", Mode.EXIT)
    bind(net, "D1", "A", "B", "C")
    net.clock.at(5)
    through(net, "E1", "A")
    net.clock.at(10)
    through(net, "E2", "B")

    net.cut("E2")  # 10:30 to 13:00: E2 decides alone, from its journal and the tokens
    net.clock.at(30)
    bind(net, "D1", "D")  # E2 never hears of D: it will read D's tokens
    net.clock.at(40)
    through(net, "E2", "C")
    net.clock.at(60)
    through(net, "E2", "D")
    net.clock.at(120)
    through(net, "X1", "A")
    net.clock.at(125)
    net.close_windows()

    venue = net.hub.venue
    before = venue.headcount()
    assert before.inside == 2  # B only: C and D are still in E2's journal
    net.clock.at(180)
    net.reconnect("E2")
    assert venue.stale
    net.clock.tick(venue.max_delay_ms)
    assert venue.refresh()
    assert not venue.stale

    truth = headcount(net.truth)
    after = venue.headcount()
    assert (after.inside, after.adults, after.children) == (6, 3, 3)
    assert (after.inside, after.adults, after.children, after.groups_inside) == (
        truth.inside,
        truth.adults,
        truth.children,
        truth.groups_inside,
    )
    assert hub_states(net) == {uid: m.state for uid, m in net.truth.members.items()}
    assert after.capacity == 500
    # C's entry at 10:40 sits between A's entry (10:05) and A's exit (12:00) in the venue's order
    order = [
        (e.gate, e.body["decision"]["value"])
        for e in net.hub.store.entries_in_hlc_order()
        if e.kind == "decision"
    ]
    _, adult_a, _ = family("A")
    _, adult_c, _ = family("C")
    assert order.index(("E1", adult_a)) < order.index(("E2", adult_c))
    assert order.index(("E2", adult_c)) < order.index(("X1", adult_a))
    assert kinds(venue) == []


def test_entries_folded_as_they_come_equal_a_rebuild(net: Net):
    net.gate("D1", Mode.BIND)
    net.gate("E1", Mode.ENTRY)
    net.gate("X1", Mode.EXIT)
    bind(net, "D1", "A", "B")
    through(net, "E1", "A", "B")
    net.clock.at(30)
    through(net, "X1", "A")
    net.clock.at(40)
    net.close_windows()
    venue = net.hub.venue
    assert venue.rebuilds == 1 and not venue.stale  # the one at start: nothing came late
    rebuilt = VenueState(net.hub.store, allowlist=venue_allowlist(), capacity=500)
    with venue.reading() as live, rebuilt.reading() as again:
        assert live == again
    assert venue.headcount() == rebuilt.headcount()


def test_a_restarted_hub_rebuilds_the_same_state_and_findings(net: Net, tmp_path: Path):
    findings_day(net)
    first = net.hub.venue
    first_findings = first.findings()
    assert {f.kind for f in first_findings} >= {
        "double_entry",
        "unverified_pickup",
        "grant_not_passed",
    }
    with first.reading() as state:
        before = (dict(state.members), dict(state.groups), state.inside)
    count = first.headcount()
    net.hub.close()

    store = EventStore(tmp_path / "hub.db")  # the hub process starts again
    try:
        again = VenueState(store, allowlist=venue_allowlist(), capacity=500)
        with again.reading() as state:
            assert (dict(state.members), dict(state.groups), state.inside) == before
        assert again.findings() == first_findings
        assert again.headcount() == count
    finally:
        store.close()
    net.hub.store = EventStore(tmp_path / "hub.db")  # for the fixture's close


def findings_day(net: Net) -> None:
    """A day with a double entry, a solo child released by override and a grant not used."""
    net.gate("D1", Mode.BIND)
    net.gate("E1", Mode.ENTRY)
    net.gate("E2", Mode.ENTRY)
    net.gate("X1", Mode.EXIT)
    bind(net, "D1", "A", "B")
    assert net.scan("D1", "T-SOLO").granted and net.scan("D1", "04C0000S").granted
    net.cut("E2")
    net.clock.at(5)
    through(net, "E1", "A")
    net.clock.at(7)
    _, adult_a, _ = family("A")
    net.gates["E2"].scan(adult_a)  # passed back over the fence: E2, cut off, lets it in again
    net.clock.at(8)
    through(net, "E1", "B")
    assert net.scan("E1", "04C0000S").granted
    net.clock.at(20)
    _, adult_b, _ = family("B")
    assert net.scan("X1", adult_b, intent=Intent.TEMPORARY).granted
    net.nobody_passed("X1")  # granted, but the sensor saw nobody go through
    net.clock.at(30)
    assert net.scan("X1", STAFF).code.value == "OK_STAFF"
    assert net.scan("X1", "04C0000S").code.value == "OK_OVERRIDE"
    net.clock.at(40)
    net.reconnect("E2")
    net.clock.tick(net.hub.venue.max_delay_ms)
    net.hub.venue.refresh()


# --- findings, one kind at a time -----------------------------------------------------------------


def test_a_double_entry_at_two_gates_while_partitioned_names_both(net: Net):
    net.gate("D1", Mode.BIND)
    net.gate("E1", Mode.ENTRY)
    net.gate("E2", Mode.ENTRY)
    bind(net, "D1", "A")
    net.cut("E2")
    net.clock.at(5)
    through(net, "E1", "A")
    net.clock.at(7)
    _, adult, _ = family("A")
    assert net.gates["E2"].scan(adult).code.value == "OK_ENTRY"  # E2 never heard of the entry
    net.clock.at(9)
    net.reconnect("E2")
    net.hub.venue.rebuild()
    (found,) = net.hub.venue.findings()
    assert (found.kind, found.gates, found.uid, found.group) == (
        "double_entry",
        ("E1", "E2"),
        adult,
        "T-A",
    )
    assert "E1 2026-07-01T02:05" in found.detail and "E2 2026-07-01T02:07" in found.detail
    assert found.at == datetime(2026, 7, 1, 2, 7, tzinfo=UTC)
    assert net.hub.venue.headcount().inside == 2  # counted once all the same


def test_an_exit_with_no_entry_is_found_until_the_entry_arrives(net: Net):
    net.gate("D1", Mode.BIND)
    net.gate("E2", Mode.ENTRY)
    net.gate("X1", Mode.EXIT)
    net.cut("E2")
    net.cut("X1")  # neither hears of anything: both read the tokens (X1: "inside", then out)
    bind(net, "D1", "A")
    net.clock.at(5)
    through(net, "E2", "A")
    net.clock.at(30)
    through(net, "X1", "A")
    net.clock.at(31)
    net.reconnect("X1")
    venue = net.hub.venue
    _, adult, child = family("A")
    found = [f for f in venue.findings() if f.kind == "exit_without_entry"]
    assert [(f.uid, f.gates) for f in found] == [(adult, ("D1", "X1")), (child, ("D1", "X1"))]
    assert "while bound" in found[0].detail

    net.reconnect("E2")  # the entries come in: the exits had their entries after all
    net.clock.tick(venue.max_delay_ms)
    assert venue.refresh()
    assert kinds(venue) == []
    assert venue.headcount().inside == 0


def test_a_solo_child_released_by_a_staff_override_is_one_unverified_pickup(net: Net):
    net.gate("D1", Mode.BIND)
    net.gate("E1", Mode.ENTRY)
    net.gate("X1", Mode.EXIT)
    assert net.scan("D1", "T-SOLO").granted and net.scan("D1", "04C0000S").granted
    assert net.scan("E1", "04C0000S").granted
    net.clock.at(60)
    assert net.scan("X1", "04C0000S").code.value == "DENY_GUARDIAN_PICKUP"
    assert net.scan("X1", STAFF).code.value == "OK_STAFF"
    assert net.scan("X1", "04C0000S").code.value == "OK_OVERRIDE"
    (found,) = net.hub.venue.findings()  # no pickup code read: one fact, one finding
    assert (found.kind, found.gates, found.uid, found.group) == (
        "unverified_pickup",
        ("X1",),
        "04C0000S",
        "T-SOLO",
    )
    assert STAFF in found.detail and "DENY_GUARDIAN_PICKUP" in found.detail
    assert "solo_child" in found.detail


def test_a_grant_nobody_went_through_is_found_with_its_decision(net: Net):
    net.gate("D1", Mode.BIND)
    net.gate("E1", Mode.ENTRY)
    bind(net, "D1", "A")
    net.clock.at(5)
    _, adult, _ = family("A")
    assert net.scan("E1", adult).granted
    net.nobody_passed("E1")
    (found,) = net.hub.venue.findings()
    assert (found.kind, found.gates, found.uid) == ("grant_not_passed", ("E1",), adult)
    assert "OK_ENTRY" in found.detail
    decision_seq = net.gates["E1"].last_seq
    assert ("E1", decision_seq) in found.entries
    assert net.hub.venue.headcount().inside == 0  # the move was undone


def test_gate_clocks_that_are_wrong_are_found(net: Net):
    net.gate("D1", Mode.BIND)
    net.gate("E1", Mode.ENTRY, offset_ms=10 * 60_000)  # ten minutes ahead
    never_set = net.gate("E2", Mode.ENTRY)
    never_set.offset_ms = -net.clock.ms + 3_600_000  # 1970, an hour after the epoch
    bind(net, "D1", "A", "B")
    net.clock.at(5)
    through(net, "E1", "A")
    never_set.scan(family("B")[1])
    net.sync()
    net.hub.ingest.on_message(TOPICS.status("E1"), net.gates["E1"].status())
    net.hub.venue.rebuild()  # E2's entries, stamped 1970, came late
    found = {(f.gates, f.detail) for f in net.hub.venue.findings() if f.kind == "clock"}
    assert {gates for gates, _ in found} == {("E1",), ("E2",)}
    e1 = sorted(detail for gates, detail in found if gates == ("E1",))
    assert "up to 600 s after the hub received them" in e1[0]
    assert "600 s ahead of the hub" in e1[1]
    (e2,) = [detail for gates, detail in found if gates == ("E2",)]
    assert "before 2025" in e2


def test_a_gate_whose_journal_was_reset_shows_conflicts_and_keeps_the_first_entries(
    net: Net, tmp_path: Path
):
    net.gate("D1", Mode.BIND)
    bind(net, "D1", "A")
    first = net.hub.store.entries_in_hlc_order()
    kept = {e.seq: e.nonce for e in first}
    net.gates["D1"].journal.close()
    # the gate's SD card was replaced: a new journal, seq 1 again
    fresh = SimGate(tmp_path, "D1", Mode.BIND, net.clock, net.tokens, journal_name="D1-new.db")
    net.gates["D1"] = fresh
    net.sent["D1"] = 0
    net.clock.at(20)
    fresh.scan("T-B", Kind.BARCODE)
    fresh.scan("04A0000B")
    net.sync()
    found = [f for f in net.hub.venue.findings() if f.kind == "journal_conflict"]
    assert [f.entries for f in found] == [(("D1", 1),), (("D1", 2),)]
    assert "reset" in found[0].detail
    assert {e.seq: e.nonce for e in net.hub.store.entries_in_hlc_order()} == kept
    assert net.hub.store.counts().conflicts == 2


def test_an_entry_whose_events_cannot_be_read_is_skipped_and_reported(net: Net):
    hub = net.hub
    bad = Entry(
        seq=1,
        nonce="0123456789abcdef",
        wall_ms=net.clock.ms,
        hlc=str(Timestamp(net.clock.ms)),
        kind="decision",
        body={"events": [{"type": "MemberTeleported", "uid": "04A0000A"}]},
    )
    hub.ingest.on_message(TOPICS.events("E9"), dump(EventBatch(gate="E9", entries=[bad])))
    assert hub.store.acked("E9") == 1  # stored and acknowledged: the gate must not resend forever
    (found,) = hub.venue.findings()
    assert (found.kind, found.gates, found.entries) == ("undecodable", ("E9",), (("E9", 1),))


def test_an_event_about_a_band_the_hub_never_saw_is_skipped_and_reported(net: Net):
    net.gate("D1", Mode.BIND)
    bind(net, "D1", "A")
    moved = MemberMoved("X9", net.gates["D1"].now(), "04FFFFFF", "T-Z", MemberState.EXITED)
    entry = Entry(
        seq=1,
        nonce="0123456789abcdef",
        wall_ms=net.clock.ms + 1000,
        hlc=str(Timestamp(net.clock.ms + 1000)),
        kind="decision",
        body={"events": [event_to_dict(moved)]},
    )
    net.hub.ingest.on_message(TOPICS.events("X9"), dump(EventBatch(gate="X9", entries=[entry])))
    (found,) = net.hub.venue.findings()
    assert (found.kind, found.uid) == ("unknown_reference", "04FFFFFF")
    assert net.hub.venue.headcount().inside == 0


# --- the rebuild's debounce -----------------------------------------------------------------------


def test_a_rebuild_waits_for_late_entries_to_settle_and_never_runs_too_often(net: Net):
    net.gate("D1", Mode.BIND)
    net.gate("E2", Mode.ENTRY)
    net.cut("E2")
    bind(net, "D1", "A", "B")
    net.clock.at(5)
    through(net, "E2", "A", "B")
    venue = net.hub.venue
    venue.settle_ms, venue.max_delay_ms, venue.min_interval_ms = 500, 5000, 1000
    net.clock.at(10)
    bind(net, "D1", "C")  # folded: it comes after everything so far
    net.reconnect("E2")
    assert venue.stale and not venue.refresh()  # late entries just came: wait for quiet
    net.clock.tick(499)
    assert not venue.refresh()
    net.clock.tick(1)
    assert venue.refresh() and not venue.stale
    assert venue.headcount().inside == 4


def test_a_stream_of_late_entries_is_rebuilt_at_the_latest_after_the_longest_delay(net: Net):
    store = net.hub.store
    venue = VenueState(store, clock_ms=lambda: net.clock.ms, settle_ms=500, max_delay_ms=3000)
    late = [
        Entry(
            seq=i,
            nonce=f"{i:016x}",
            wall_ms=net.clock.ms - 3_600_000 + i,
            hlc=str(Timestamp(net.clock.ms - 3_600_000 + i)),
            kind="expiry",
            body={"events": []},
        )
        for i in range(1, 40)
    ]
    ahead = Entry(
        seq=1,
        nonce="f" * 16,
        wall_ms=net.clock.ms,
        hlc=str(Timestamp(net.clock.ms)),
        kind="expiry",
        body={"events": []},
    )
    venue.add(store.add("E1", [ahead], net.clock.ms).stored)
    rebuilt_at = []
    for entry in late:  # one every 100 ms: never quiet for 500 ms
        venue.add(store.add("E2", [entry], net.clock.ms).stored)
        if venue.refresh():
            rebuilt_at.append(entry.seq)
        net.clock.tick(100)
    assert rebuilt_at == [31]  # 3 s after the first late entry
    assert venue.rebuilds == 2 and venue.stale  # the ones after it wait again


def test_a_slow_rebuild_keeps_the_next_one_at_least_twice_its_time_away(net: Net):
    store = net.hub.store
    venue = VenueState(store, clock_ms=lambda: net.clock.ms, settle_ms=0, min_interval_ms=100)
    slow = store.entries_in_hlc_order

    def taking_two_seconds(*args: Any, **kwargs: Any) -> Iterator[Any]:
        net.clock.tick(2000)
        return slow(*args, **kwargs)

    store.entries_in_hlc_order = taking_two_seconds  # type: ignore[method-assign]
    now = net.clock.ms
    first = Entry(seq=1, nonce="1" * 16, wall_ms=now, hlc=str(Timestamp(now)), kind="k", body={})
    late = Entry(seq=1, nonce="2" * 16, wall_ms=now, hlc=str(Timestamp(now - 1)), kind="k", body={})
    venue.add(store.add("E1", [first], now).stored)
    venue.add(store.add("E2", [late], now).stored)
    net.clock.tick(100)  # the rebuild at start counts too
    assert venue.refresh() and venue.last_rebuild_ms == 2000
    again = Entry(
        seq=2, nonce="3" * 16, wall_ms=now, hlc=str(Timestamp(now - 1, 1)), kind="k", body={}
    )
    venue.add(store.add("E2", [again], net.clock.ms).stored)
    net.clock.tick(3999)
    assert not venue.refresh()
    net.clock.tick(1)
    assert venue.refresh()
