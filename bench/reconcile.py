"""Replay and reconciliation after an 8-hour outage of 20 gates: ingest their ~100k journal
entries and rebuild the venue's state in hybrid-clock order, against `json.loads` of the same
payloads plus a bare SQLite insert of their entries, measured in the same run.

    python -m bench.reconcile [DIRECTORY]

The day: families bound at 6 desks, let in at 7 entry gates and out at 7 exit gates from 09:00
to 17:00, some adults stepping out and back in through other gates, solo children released by a
staff override, a few children scanned before their adult. The broker is down all day: each gate
decides alone, with the real rules core, from its own journal and the tokens on the bands, and
journals exactly as gate/daemon/scans.py does (decision, passage, expiry). The same scans also go
through one shared state, the ground truth the hub must reach.

Then the hub comes back and the 20 backlogs arrive one gate after another, in 200-entry
batches: each gate's entries are older than the last one folded, so the hub holds them and
rebuilds. Timed: every `Ingest.on_message` (parse, store with one synced commit per batch,
acknowledge) with the hub loop's `refresh` after each message, then the final rebuild. The
baseline does the least any ingest must: `json.loads` each payload and insert its entries into a
bare table, one synced commit per batch (same WAL, `synchronous=FULL`). Both write to
DIRECTORY (default: the repository's `var/`, on the disk the hub would use; not a tmpfs).
"""

from __future__ import annotations

import gc
import heapq
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import DAY, POLICY, TZ, report
from gate.core import (
    Allowlist,
    BandBound,
    BandToken,
    Code,
    Intent,
    Kind,
    MemberMoved,
    Mode,
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
from gate.core.hlc import HybridClock
from gate.link.codec import decision_to_dict, event_to_dict
from gate.link.protocol import MAX_BATCH, Entry, EventBatch, Topics, dump
from hub.fold.reconcile import VenueState
from hub.ingest.intake import Ingest
from hub.store.events import EventStore

DESKS = [f"D{i}" for i in range(1, 7)]
ENTRIES = [f"E{i}" for i in range(1, 8)]
EXITS = [f"X{i}" for i in range(1, 8)]
FAMILIES = 5800  # about 100k journal entries
OPEN = datetime(DAY.year, DAY.month, DAY.day, 9, 0, tzinfo=TZ)
END = OPEN + timedelta(hours=8)
WINDOW = timedelta(seconds=POLICY.pairing_window_s)
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "var"
# A gate that never saw an adult step out lets them back in as a first entry: same move.
_REENTRY = {Code.OK_ENTRY, Code.OK_REENTRY}


# --- the day, gate by gate ------------------------------------------------------------------------


class GateSim:
    """One gate, cut off all day: its own state, its own hybrid clock, its journal in memory."""

    def __init__(self, gate: str, mode: Mode, allowlist: Allowlist, rng: random.Random) -> None:
        self.id, self.mode = gate, mode
        self.state = State(allowlist=allowlist)
        self.offset_ms = rng.randint(-1500, 1500)  # NTP-synced clocks, not quite equal
        self.clock = HybridClock(lambda: 0)
        self.rng = rng
        self.entries: list[Entry] = []

    def append(self, kind: str, body: dict[str, Any], at: datetime) -> int:
        wall_ms = int(at.timestamp() * 1000) + self.offset_ms
        seq = len(self.entries) + 1
        self.entries.append(
            Entry(
                seq=seq,
                nonce=f"{self.rng.getrandbits(64):016x}",
                wall_ms=wall_ms,
                hlc=str(self.clock.tick(wall_ms)),
                kind=kind,
                body=body,
            )
        )
        return seq

    def tick(self, now: datetime) -> None:
        events = expire(self.state, now, POLICY, self.id)
        if events:
            self.append("expiry", {"events": [event_to_dict(e) for e in events]}, now)
            for event in events:
                fold(self.state, event)

    def scan(self, scan: Scan, now: datetime) -> Code:
        """The daemon's ScanPath.scan, then the passage sensor seeing the person through."""
        self.tick(now)
        decision, events = decide(self.state, scan, now, POLICY)
        seq = self.append(
            "decision",
            {
                "scan": {
                    "kind": scan.kind.value,
                    "value": scan.value,
                    "mode": scan.mode.value,
                    "intent": scan.intent.value,
                    "token": scan.token is not None,
                    "offline": scan.offline,
                },
                "decision": decision_to_dict(decision),
                "events": [event_to_dict(e) for e in events],
            },
            now,
        )
        for event in events:
            fold(self.state, event)
        moved = any(isinstance(e, MemberMoved) for e in events)
        if decision.granted and self.mode is not Mode.BIND and moved:
            passed = now + timedelta(milliseconds=1200)
            self.append("passage", {"decision_seq": seq, "passed": True, "events": []}, passed)
        return decision.code


@dataclass
class Day:
    allowlist: Allowlist
    gates: dict[str, GateSim]
    truth: State
    tokens: dict[str, BandToken] = field(default_factory=dict)
    schedule: list[tuple[datetime, int, str, str, Intent]] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    solo: int = 0
    entry_gates: list[str] = field(default_factory=lambda: list(ENTRIES))
    exit_gates: list[str] = field(default_factory=lambda: list(EXITS))

    planned: int = 0

    def plan(self, at: datetime, gate: str, value: str, intent: Intent = Intent.FINAL) -> None:
        self.planned += 1
        heapq.heappush(self.schedule, (at, self.planned, gate, value, intent))

    def run(self) -> None:
        """Every scan, in time order, at its gate and through the shared truth."""
        while self.schedule:
            at, _, gate_id, value, intent = heapq.heappop(self.schedule)
            if value == "tick":
                self.gates[gate_id].tick(at)
                advance(self.truth, at, POLICY)
                continue
            gate = self.gates[gate_id]
            kind = Kind.BARCODE if value.startswith("T") else Kind.NFC
            token = self.tokens.get(value) if kind is Kind.NFC else None
            scan = Scan(gate_id, gate.mode, kind, value, intent, token)
            code = gate.scan(scan, at)
            truth, events = step(self.truth, scan, at, POLICY)
            if code is not truth.code and {code, truth.code} != _REENTRY:
                raise AssertionError(f"{gate_id} {value} at {at}: gate {code}, truth {truth.code}")
            self.codes[code.value] += 1
            for event in events:
                if isinstance(event, BandBound):
                    t = self.allowlist.tickets[event.group]
                    self.tokens[event.uid] = BandToken(
                        t.code, event.role, t.valid_from, t.valid_to, t.adults, t.children
                    )
            if gate.mode is not Mode.BIND and code.granted:
                self.plan(at + WINDOW + timedelta(milliseconds=250), gate_id, "tick")
        for gate in self.gates.values():
            gate.tick(END)
        advance(self.truth, END, POLICY)


def make_day(
    families: int = FAMILIES,
    seed: int = 20260718,
    layout: tuple[int, int, int] = (len(DESKS), len(ENTRIES), len(EXITS)),
    members: int = 0,
) -> Day:
    """The day of `families` at the gates of `layout` (desks, entry gates, exit gates), the
    allowlist padded to `members` bands with tickets of families of four never seen that day."""
    rng = random.Random(seed)
    desk_ids = [f"D{i}" for i in range(1, layout[0] + 1)]
    entry_ids = [f"E{i}" for i in range(1, layout[1] + 1)]
    exit_ids = [f"X{i}" for i in range(1, layout[2] + 1)]
    tickets: dict[str, Ticket] = {}
    bands: dict[str, Role] = {}
    staff = {f"5A00{i:04X}": f"Exit staff {g}" for i, g in enumerate(exit_ids)}
    plans: list[tuple[str, list[str], list[str], bool]] = []
    for f in range(families):
        solo = rng.random() < 0.02
        n_adults = 0 if solo else rng.choice((1, 2, 2, 2, 3))
        n_children = 1 if solo else rng.choice((0, 1, 1, 2, 2, 3))
        code = f"T{f:07d}"
        phone = "13800138000" if solo else ""
        tickets[code] = Ticket(code, "family", n_adults, n_children, DAY, DAY, phone)
        a = [f"04{f:08X}A{i}" for i in range(n_adults)]
        c = [f"04{f:08X}C{i}" for i in range(n_children)]
        bands.update(dict.fromkeys(a, Role.ADULT) | dict.fromkeys(c, Role.CHILD))
        plans.append((code, a, c, solo))
    unused = max(0, members - len(bands) + 3) // 4
    for f in range(families, families + unused):
        code = f"T{f:07d}"
        tickets[code] = Ticket(code, "family", 2, 2, DAY, DAY, "")
        bands.update({f"04{f:08X}A{i}": Role.ADULT for i in range(2)})
        bands.update({f"04{f:08X}C{i}": Role.CHILD for i in range(2)})
    allowlist = Allowlist(1, tickets, bands, staff, {})
    gates = {g: GateSim(g, Mode.BIND, allowlist, rng) for g in desk_ids}
    gates |= {g: GateSim(g, Mode.ENTRY, allowlist, rng) for g in entry_ids}
    gates |= {g: GateSim(g, Mode.EXIT, allowlist, rng) for g in exit_ids}
    day = Day(allowlist, gates, State(allowlist=allowlist))
    day.entry_gates, day.exit_gates = entry_ids, exit_ids
    badge = {g: uid for uid, g in zip(staff, exit_ids, strict=True)}
    arrivals = sorted(OPEN + timedelta(seconds=rng.uniform(0, 7 * 3600)) for _ in plans)
    desk_free = dict.fromkeys(desk_ids, OPEN)
    for (code, adults, children, solo), arrival in zip(plans, arrivals, strict=True):
        desk = min(desk_ids, key=lambda d: (max(desk_free[d], arrival), d))  # the first free desk
        t = max(desk_free[desk], arrival)
        desk_free[desk] = t + timedelta(seconds=3 * (len(adults) + len(children)) + 6)
        day.solo += solo
        _family(day, rng, t, desk, code, adults, children, solo, badge)
    day.run()
    last = max(e.wall_ms for g in gates.values() for e in g.entries)
    if last > END.timestamp() * 1000 + 5000:
        raise AssertionError(f"the day runs past its 8 hours: last entry at {last}")
    return day


def _family(
    day: Day,
    rng: random.Random,
    t: datetime,
    desk: str,
    code: str,
    adults: list[str],
    children: list[str],
    solo: bool,
    badge: dict[str, str],
) -> None:
    """Plan one family's scans: bound at `desk` from `t`, in, maybe one adult out and back,
    out (unless still inside at the end)."""
    s = timedelta(seconds=1)
    day.plan(t, desk, code)
    for i, uid in enumerate(adults + children, start=1):
        day.plan(t + 3 * i * s, desk, uid)
    entry_gate, exit_gate = rng.choice(day.entry_gates), rng.choice(day.exit_gates)
    t += timedelta(seconds=rng.uniform(60, 600))
    for i, uid in enumerate(adults + children):
        day.plan(t + 3 * i * s, entry_gate, uid)
    leave = t + timedelta(seconds=rng.uniform(3600, 5 * 3600))
    out = t + (leave - t) * rng.uniform(0.2, 0.4)
    back = out + min(timedelta(minutes=rng.uniform(10, 30)), (leave - out) / 2)
    if len(adults) >= 2 and rng.random() < 0.15 and back < END - timedelta(minutes=5):
        # one adult steps out and comes back, through gates that never saw the family
        day.plan(
            out,
            rng.choice([g for g in day.exit_gates if g != exit_gate]),
            adults[-1],
            Intent.TEMPORARY,
        )
        day.plan(back, rng.choice([g for g in day.entry_gates if g != entry_gate]), adults[-1])
    if leave > END - timedelta(minutes=5):
        return  # still inside at the end of the outage
    if solo:  # the guardian waits outside: staff check, badge, then the child
        day.plan(leave, exit_gate, children[0])
        day.plan(leave + 30 * s, exit_gate, badge[exit_gate])
        day.plan(leave + 33 * s, exit_gate, children[0])
        return
    order = adults + children
    if children and rng.random() < 0.03:  # a child runs ahead, then comes back with its adult
        day.plan(leave - 5 * s, exit_gate, children[0])
    for i, uid in enumerate(order):
        day.plan(leave + 3 * i * s, exit_gate, uid)


# --- the hub, and the baseline --------------------------------------------------------------------


def payloads(day: Day, rng: random.Random) -> list[tuple[str, bytes]]:
    """The 20 backlogs, one gate after another (in no particular order), 200 entries a batch."""
    topics = Topics()
    order = list(day.gates)
    rng.shuffle(order)
    out = []
    for gate in order:
        entries = day.gates[gate].entries
        for i in range(0, len(entries), MAX_BATCH):
            batch = EventBatch(gate=gate, entries=entries[i : i + MAX_BATCH])
            out.append((topics.events(gate), dump(batch)))
    return out


def hub_run(
    directory: Path, messages: Iterable[tuple[str, bytes]], allowlist: Allowlist
) -> dict[str, Any]:
    store = EventStore(directory / "events.db")
    venue = VenueState(store, allowlist=allowlist, capacity=POLICY.capacity)
    acks: list[object] = []
    # the hub's real clock: the debounce runs as it would in the hub loop
    ingest = Ingest(store, Topics(), lambda *m: acks.append(m), on_stored=venue.add)
    gc.collect()
    start = time.perf_counter()
    for topic, payload in messages:
        ingest.on_message(topic, payload)
        venue.refresh()  # the hub loop between messages: debounced, rebuilds at most now and then
    ingested = time.perf_counter()
    rebuilds_during = venue.rebuilds - 1
    if venue.stale:
        venue.rebuild()  # what refresh does once the late entries have settled
    done = time.perf_counter()
    result = {
        "ingest_s": ingested - start,
        "rebuild_s": done - ingested,
        "total_s": done - start,
        "rebuilds_during_ingest": rebuilds_during,
        "headcount": venue.headcount(),
        "findings": Counter(f.kind for f in venue.findings()),
        "entries": store.counts().entries,
        "acks": len(acks),
        "rejected": sum(ingest.rejected.values()),
    }
    store.close()
    return result


def baseline_run(path: Path, messages: Iterable[tuple[str, bytes]]) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute(
        "CREATE TABLE entries (gate TEXT, seq INTEGER, nonce TEXT, hlc TEXT, wall_ms INTEGER, "
        "kind TEXT, body TEXT)"
    )
    gc.collect()
    start = time.perf_counter()
    for _, payload in messages:
        data = json.loads(payload)
        gate = data["gate"]
        rows = [
            (gate, e["seq"], e["nonce"], e["hlc"], e["wall_ms"], e["kind"], json.dumps(e["body"]))
            for e in data["entries"]
        ]
        db.execute("BEGIN")
        db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def main(directory: Path = DEFAULT_DIR, families: int = FAMILIES) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    day = make_day(families)
    generated_s = time.perf_counter() - started
    messages = payloads(day, random.Random(7))
    n_entries = sum(len(g.entries) for g in day.gates.values())
    n_events = sum(len(e.body.get("events", ())) for g in day.gates.values() for e in g.entries)
    with tempfile.TemporaryDirectory(dir=directory, prefix="bench-reconcile-") as tmp:
        baseline = baseline_run(Path(tmp) / "baseline.db", messages)
        ours = hub_run(Path(tmp), messages, day.allowlist)
    truth = headcount(day.truth)
    count = ours["headcount"]
    got = (count.inside, count.adults, count.children, count.groups_inside)
    want = (truth.inside, truth.adults, truth.children, truth.groups_inside)
    if got != want or ours["entries"] != n_entries or ours["rejected"]:
        raise AssertionError(f"hub {got} / {ours['entries']} entries, truth {want} / {n_entries}")
    name = f"reconcile ({n_entries} entries, {n_events} events, 20 gates, 8 h outage, {directory})"
    report(name, "ingest + rebuild", ours["total_s"], "s", baseline, "<= 20 s")
    report(name, "ingest (parse, store, ack)", ours["ingest_s"], "s", baseline)
    report(name, "final rebuild in HLC order", ours["rebuild_s"], "s", baseline)
    check = {
        "bench": name,
        "check": {
            "headcount": count.model_dump(exclude={"v", "gates"}),
            "matches_ground_truth": True,
            "findings": dict(ours["findings"]),
            "solo_children": day.solo,
            "rebuilds_during_ingest": ours["rebuilds_during_ingest"],
            "batches": len(messages),
            "decisions": dict(day.codes),
            "generated_s": round(generated_s, 1),
        },
    }
    print(json.dumps(check), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR)
