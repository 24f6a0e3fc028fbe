"""A hub store of a real day: the example day's scans journalled by its gates, stored at the hub.

Each scan of `examples/children-city/scans.jsonl` is decided by the real rules core against one
shared state (every gate online, as `gate simulate` runs the day) and journalled in its gate's
own `gate.store.journal.Journal` exactly as `gate/daemon/scans.py` writes it: a `decision` entry per
scan,
an `expiry` entry when a gate's pairing windows close (journalled when they close, at the gate
whose window it was). Gates hear each other at once: before each append the gate observes the
latest hybrid timestamp of the venue, so the journals' order is the day's order. The journals'
entries then go to a real `EventStore`, in batches, as the hub's ingest stores them.

    day = run_day(tmp / "journals")
    store_day(day, tmp / "events.db")
    hub_toml = hub_state_dir(day, tmp / "hub")      # hub.toml, state/events.db, state/allowlist

    day, hub_toml = example_hub()                   # built once per test run, read only
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from gate.config import load_policy
from gate.core import Allowlist, Decision, Event, Policy, Scan, State, decide, expire, fold
from gate.core.hlc import ZERO
from gate.link.codec import decision_to_dict, event_to_dict
from gate.link.protocol import MAX_BATCH, Entry
from gate.store.allowlist import load_csv_dir
from gate.store.journal import Journal
from gate.tools.scanline import parse_scan_line, read_on_the_reader
from hub.ingest.allowlist import HubAllowlist
from hub.store.events import EventStore

ROOT = Path(__file__).resolve().parents[1]
DAY_DIR = ROOT / "examples" / "children-city"


@dataclass
class Day:
    """The day as the gates lived it: their journals and the ground truth kept alongside."""

    allowlist: Allowlist
    policy: Policy
    journals: dict[str, Path]
    state: State
    decisions: list[tuple[Scan, datetime, Decision]] = field(default_factory=list)
    peak: int = 0
    peak_at: datetime | None = None


class _Venue:
    """The gates' journals over one wall clock, each gate hearing the others at once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.now_ms = 0
        self.last = ZERO
        self.journals: dict[str, Journal] = {}

    def append(self, gate: str, kind: str, body: dict[str, object]) -> None:
        journal = self.journals.get(gate)
        if journal is None:
            path = self.directory / f"{gate}.db"
            journal = self.journals[gate] = Journal(path, gate, wall=lambda: self.now_ms)
        if self.last != ZERO:
            journal.observe(self.last)
        self.last = max(self.last, journal.append(kind, body).hlc)

    def close(self) -> dict[str, Path]:
        for journal in self.journals.values():
            journal.close()
        return {gate: j.path for gate, j in self.journals.items()}


def run_day(directory: Path, day_dir: Path = DAY_DIR, scans: Path | None = None) -> Day:
    """Journal the day's scans into `directory`/<gate>.db; the shared state is the truth."""
    directory.mkdir(parents=True, exist_ok=True)
    allowlist, errors = load_csv_dir(day_dir)
    assert not errors, errors
    policy = load_policy(day_dir / "policy.toml")
    state = State(allowlist=allowlist)
    venue = _Venue(directory)
    day = Day(allowlist, policy, {}, state)
    last: datetime | None = None
    for line in (scans or day_dir / "scans.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        scan, now = parse_scan_line(line)
        scan = read_on_the_reader(scan, allowlist.staff)
        _close_windows(state, venue, now, policy)
        venue.now_ms = _ms(now)
        decision, events = decide(state, scan, now, policy)
        venue.append(
            scan.gate,
            "decision",
            {
                "scan": {
                    "kind": scan.kind.value,
                    "value": scan.value,
                    "mode": scan.mode.value,
                    "intent": scan.intent.value,
                    "token": False,
                    "tag": scan.tag,
                    "offline": False,
                },
                "decision": decision_to_dict(decision),
                "events": [event_to_dict(e) for e in events],
            },
        )
        for event in events:
            fold(state, event)
        day.decisions.append((scan, now, decision))
        if state.inside > day.peak:
            day.peak, day.peak_at = state.inside, now
        last = now
    if last is not None:
        _close_windows(state, venue, last, policy)  # as `gate simulate` does after the last scan
    day.journals = venue.close()
    return day


def _close_windows(state: State, venue: _Venue, now: datetime, policy: Policy) -> None:
    """The pairing windows due by `now`, closed in turn as the gates' loops close them: each at
    its closing time, journalled by the gate whose window it was."""
    window = timedelta(seconds=policy.pairing_window_s)
    while due := [
        p.opened_at + window for p in state.pairings.values() if now > p.opened_at + window
    ]:
        at = min(min(due) + timedelta(milliseconds=1), now)
        events = expire(state, at, policy)
        by_gate: dict[str, list[Event]] = defaultdict(list)
        for event in events:
            by_gate[event.gate].append(event)
        venue.now_ms = _ms(at)
        for gate, gate_events in by_gate.items():
            venue.append(gate, "expiry", {"events": [event_to_dict(e) for e in gate_events]})
        for event in events:
            fold(state, event)


def store_day(day: Day, path: Path) -> Path:
    """Every gate's journal into a hub `EventStore` at `path`, in batches as the ingest takes
    them, each received half a second after its last entry was written."""
    with EventStore(path) as store:
        for gate, journal_path in sorted(day.journals.items()):
            with Journal.open_readonly(journal_path) as journal:
                entries = journal.entries_after(0, limit=1_000_000)
            for i in range(0, len(entries), MAX_BATCH):
                batch = [Entry.of(e) for e in entries[i : i + MAX_BATCH]]
                result = store.add(gate, batch, received_ms=batch[-1].wall_ms + 500)
                assert result.new == len(batch)
    return path


def hub_state_dir(day: Day, root: Path, day_dir: Path = DAY_DIR) -> Path:
    """A hub's directory as `hub run` leaves it: `hub.toml`, the state directory with the
    event store and the allowlist imported. Returns the path of `hub.toml`."""
    state_dir = root / "state"
    state_dir.mkdir(parents=True, exist_ok=True)
    store_day(day, state_dir / "events.db")
    with HubAllowlist(state_dir / "allowlist") as allowlist:
        result = allowlist.import_dir(day_dir)
        assert not result.row_errors, result.row_errors
    config = root / "hub.toml"
    config.write_text(
        f'[hub]\nstate_dir = "{state_dir}"\npolicy = "{day_dir / "policy.toml"}"\n'
        f'control_socket = "{root / "hub.sock"}"\n'
    )
    return config


@functools.cache
def example_hub() -> tuple[Day, Path]:
    """The example day at a hub, built once per test run and shared by the test modules that
    only read it (journalling the day costs seconds). Returns the day and its `hub.toml`."""
    root = Path(tempfile.mkdtemp(prefix="wristgate-day-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    day = run_day(root / "journals")
    return day, hub_state_dir(day, root / "hub")


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
