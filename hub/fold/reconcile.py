"""The venue's one truth: every gate's journalled events folded in hybrid-clock order.

The hub folds the events of all gates with the gates' own `gate.core.fold`, in the order of
their hybrid logical clocks (then gate and seq, to break ties). A gate that follows the others
observes their timestamps, so what it decided after hearing of a family sorts after it.

    venue = VenueState(store, allowlist=hub_allowlist.current, capacity=policy.capacity,
                       policy=policy)
    ingest = Ingest(store, topics, publish, on_stored=venue.add)
    ...                                    # the hub loop, every few hundred ms:
    venue.refresh()                        # rebuilds, debounced, after late entries
    publish(venue.headcount(ingest.headcount_gates()))

New entries usually come in order and are folded as they come (`add`). An entry older than the
last one folded (a gate back from an outage, with hours of backlog) cannot be folded in place:
the state is marked stale, that gate's later entries are held back with it, and `refresh`
rebuilds the whole state from the store in order once the late entries stop coming for
`settle_ms`, or at the latest `max_delay_ms` after the first; never sooner than
`min_interval_ms`, nor than twice the last rebuild's time, after the previous one. While
`stale` is true, the headcount and findings are provisional.

An audit (`hub.fold.audit`) re-checks the rules over the history as it is folded. `findings()` lists
what a reconciliation found. Rule violations, critical (`hub.fold.findings.RULE_VIOLATIONS`):

    child_released_alone    a child let out with no adult of its group (or a solo child with
                            no staff-verified guardian pickup)
    child_temp_exit         a child let out temporarily
    child_admitted_alone    a child let in with no adult of its group inside or paired
    override_not_authorised a forced move no enrolled, unrevoked badge armed at that gate
    move_without_entry      a member let out that no gate let in
    impossible_move         a move no rule makes from the member's previous state
    pairing_without_adult   a pairing window opened with no adult let through

Warnings:

    double_entry            a member let in while already inside (two gates, partitioned)
    exit_without_entry      a member let out while not inside
    child_released_by_override   a child or solo child let out by a staff override
    grant_not_passed        a grant nobody went through (the passage sensor saw no one)
    clock                   a gate's clock unset, ahead of the hub, or gone back
    journal_conflict        a (gate, seq) sent again with another nonce: the journal was reset
    undecodable             an entry whose events cannot be read (skipped)
    unknown_reference       an event naming a band or group the hub never saw bound (skipped)
    fire_alarm              exits were free: people left unscanned, the headcount runs high
    forged_event            a gate sent entries it may not write (quarantined, never folded):
                            one finding per gate and reason, critical
    seq_jump                a gate sent a seq far beyond its watermark (refused, not stored)

A restarted hub (a new VenueState over the same store) rebuilds the same state and findings.

Threads: `add`, `refresh` and `rebuild` run on the hub loop; `headcount`, `findings` and
`reading` may be called from any thread (they wait for a fold in progress, not a rebuild).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gate.config import PERMISSIVE_POLICY
from gate.core import Allowlist, Event, MemberMoved, Policy, State, fold, headcount
from gate.core.hlc import Timestamp
from gate.link.codec import CodecError, events_of
from gate.link.protocol import Headcount, HeadcountGate
from gate.store.journal import wall_clock_ms
from hub.fold.audit import RuleAudit
from hub.fold.findings import Finding
from hub.store.events import EventStore
from hub.store.records import StoredEntry

log = logging.getLogger(__name__)

SKEW_LIMIT_MS = 120_000  # a gate clock further than this from the hub's is wrong
CLOCK_FLOOR_MS = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)  # earlier: never set
MIN_INTERVAL_MS = 1000
SETTLE_MS = 500
MAX_DELAY_MS = 10_000
_START = ("", "", 0)
_LAST_MS = int(datetime(9999, 12, 31, tzinfo=UTC).timestamp() * 1000)

Key = tuple[str, str, int]


@dataclass
class _Clock:
    """What one gate's entries showed about its clock."""

    unset: int = 0
    unset_first: StoredEntry | None = None
    ahead: int = 0
    ahead_ms: int = 0
    ahead_first: StoredEntry | None = None
    back: int = 0
    back_ms: int = 0
    back_first: StoredEntry | None = None


@dataclass
class _Fold:
    """A State and the audit of the history folded into it, entry by entry, in order."""

    state: State
    lookup: Callable[[str, int], StoredEntry | None]
    skew_limit_ms: int
    audit: RuleAudit
    last_key: Key = _START
    last_hlc_ms: int | None = None
    entries: int = 0
    events: int = 0
    found: list[Finding] = field(default_factory=list)
    clocks: dict[str, _Clock] = field(default_factory=dict)

    def apply(self, entry: StoredEntry) -> None:
        self.last_key = entry.key
        self.entries += 1
        hlc_ms = _hlc_ms(entry.hlc)
        self.last_hlc_ms = hlc_ms
        self._check_clock(entry, hlc_ms)
        events = self._decode(entry)
        if events is None:
            return
        if entry.kind == "passage" and entry.body.get("passed") is False:
            self._not_passed(entry, events)
        elif entry.kind == "fire_alarm" and entry.body.get("on") is True:
            self._note(
                "fire_alarm",
                entry,
                "fire alarm: exits free, people left without scanning; the headcount runs high "
                "until the closing sweep",
            )
        checking = self.audit.begin(entry, events)
        for event in events:
            self.audit.check(self.state, checking, event)
            try:
                fold(self.state, event)
                self.events += 1
            except KeyError as exc:
                self._unknown(entry, event, f"names {exc} which the hub never saw")
            except Exception as exc:  # the audit must never stop the hub
                log.warning(
                    "entry %s/%d: %s cannot be folded: %r",
                    entry.gate,
                    entry.seq,
                    type(event).__name__,
                    exc,
                )
                self._unknown(entry, event, f"cannot be folded: {exc!r}")

    # --- what the history shows -----------------------------------------------------------

    def _not_passed(self, entry: StoredEntry, events: list[Event]) -> None:
        seq = entry.body.get("decision_seq")
        decision = self.lookup(entry.gate, seq) if isinstance(seq, int) else None
        code = "?"
        if decision is not None and isinstance(decision.body.get("decision"), dict):
            code = str(decision.body["decision"].get("code", "?"))
        moved = [e for e in events if isinstance(e, MemberMoved)]
        uids = ", ".join(e.uid for e in moved) or "nobody"
        refs = ((entry.gate, seq),) if isinstance(seq, int) else ()
        self.found.append(
            Finding(
                "grant_not_passed",
                (entry.gate,),
                moved[0].at if moved else _hlc_time(entry.hlc),
                f"{code} at {entry.gate} (journal entry {seq}) for {uids}: nobody went through, "
                "the move was undone",
                moved[0].uid if moved else None,
                moved[0].group if moved else None,
                (*refs, (entry.gate, entry.seq)),
            )
        )

    def _check_clock(self, entry: StoredEntry, hlc_ms: int) -> None:
        c = self.clocks.setdefault(entry.gate, _Clock())
        if entry.wall_ms < CLOCK_FLOOR_MS:
            c.unset += 1
            c.unset_first = c.unset_first or entry
            return
        ahead = entry.wall_ms - entry.received_ms  # written after the hub received it?
        if ahead > self.skew_limit_ms:
            c.ahead += 1
            c.ahead_ms = max(c.ahead_ms, ahead)
            c.ahead_first = c.ahead_first or entry
        back = hlc_ms - entry.wall_ms  # the gate's own order ran ahead of its wall clock
        if back > self.skew_limit_ms:
            c.back += 1
            c.back_ms = max(c.back_ms, back)
            c.back_first = c.back_first or entry

    def clock_findings(self) -> list[Finding]:
        found = []
        for gate, c in self.clocks.items():
            if c.unset_first is not None:
                first = c.unset_first
                found.append(
                    _entry_finding(
                        "clock",
                        first,
                        f"{c.unset} entries with the wall clock before 2025 "
                        f"({_wall(first.wall_ms)}): the clock was never set (no RTC, no NTP)",
                    )
                )
            if c.ahead_first is not None:
                found.append(
                    _entry_finding(
                        "clock",
                        c.ahead_first,
                        f"{c.ahead} entries stamped up to {c.ahead_ms / 1000:.0f} s after the "
                        "hub received them: the gate's clock runs ahead",
                    )
                )
            if c.back_first is not None:
                found.append(
                    _entry_finding(
                        "clock",
                        c.back_first,
                        f"{c.back} entries with the wall clock up to {c.back_ms / 1000:.0f} s "
                        f"behind the gate's own hybrid clock: its clock went back, or a peer's "
                        f"clock ahead dragged the hybrid clock of {gate} forward",
                    )
                )
        return found

    # --- helpers --------------------------------------------------------------------------

    def _decode(self, entry: StoredEntry) -> list[Event] | None:
        try:
            return events_of(entry.body)
        except CodecError as exc:
            self._note("undecodable", entry, f"{entry.kind} entry skipped: {exc}")
            return None

    def _unknown(self, entry: StoredEntry, event: Event, why: str) -> None:
        self.found.append(
            Finding(
                "unknown_reference",
                (entry.gate,),
                event.at,
                f"{type(event).__name__} at {entry.gate} {_t(event.at)} {why}: skipped",
                getattr(event, "uid", None),
                getattr(event, "group", None),
                ((entry.gate, entry.seq),),
            )
        )

    def _note(self, kind: str, entry: StoredEntry, detail: str) -> None:
        self.found.append(_entry_finding(kind, entry, detail))


class VenueState:
    """See the module's docstring. `clock_ms` is the hub's clock (injected in tests)."""

    def __init__(
        self,
        store: EventStore,
        *,
        allowlist: Allowlist | None = None,
        capacity: int | None = None,
        policy: Policy | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
        min_interval_ms: int = MIN_INTERVAL_MS,
        settle_ms: int = SETTLE_MS,
        max_delay_ms: int = MAX_DELAY_MS,
        skew_limit_ms: int = SKEW_LIMIT_MS,
    ) -> None:
        self.store = store
        self.capacity = capacity
        self.policy = policy or PERMISSIVE_POLICY  # the audit's pairing window
        self.clock_ms = clock_ms
        self.min_interval_ms = min_interval_ms
        self.settle_ms = settle_ms
        self.max_delay_ms = max_delay_ms
        self.skew_limit_ms = skew_limit_ms
        self.rebuilds = 0
        self.last_rebuild_ms = 0  # how long the last rebuild took
        self.late = 0  # entries that came after later ones were folded
        self._allowlist = allowlist or Allowlist()
        self._write = threading.RLock()  # add, refresh, rebuild: one at a time
        self._read = threading.Lock()  # the state while it is folded into or swapped
        self._held: set[str] = set()  # gates with entries waiting for the rebuild
        self._stale_since: int | None = None
        self._last_late_ms = 0
        self._rebuilt_ms: int | None = None
        self._fold = self._new_fold()
        self.rebuild()

    # --- feeding --------------------------------------------------------------------------

    def add(self, entries: Sequence[StoredEntry]) -> None:
        """Fold entries just stored, when they come after everything folded; otherwise hold
        them (and their gate's next ones) for the rebuild."""
        with self._write:
            now = self.clock_ms()
            with self._read:
                for entry in entries:
                    if entry.gate in self._held or entry.key <= self._fold.last_key:
                        self._held.add(entry.gate)
                        self.late += 1
                        self._last_late_ms = now
                        if self._stale_since is None:
                            self._stale_since = now
                            log.info(
                                "late entries from %s (from seq %d): rebuilding soon",
                                entry.gate,
                                entry.seq,
                            )
                        continue
                    self._fold.apply(entry)

    @property
    def stale(self) -> bool:
        """Entries are waiting for a rebuild: the headcount and findings are provisional."""
        return self._stale_since is not None

    def refresh(self) -> bool:
        """Rebuild if the state is stale and the debounce allows; True when it rebuilt."""
        with self._write:
            if self._stale_since is None:
                return False
            now = self.clock_ms()
            # at least twice the last rebuild's time between two: the loop rebuilds at most a
            # third of its time, however many backlogs come in one after another
            gap = max(self.min_interval_ms, 2 * self.last_rebuild_ms)
            if self._rebuilt_ms is not None and now - self._rebuilt_ms < gap:
                return False
            settled = now - self._last_late_ms >= self.settle_ms
            overdue = now - self._stale_since >= self.max_delay_ms
            if not (settled or overdue):
                return False
            self.rebuild()
            return True

    def rebuild(self) -> None:
        """Fold the whole store again, in order, into a new state; then swap it in."""
        with self._write:
            started = self.clock_ms()
            fresh = self._new_fold()
            for entry in self.store.entries_in_hlc_order():
                fresh.apply(entry)
            with self._read:
                self._fold = fresh
                self._held.clear()
                self._stale_since = None
            self._rebuilt_ms = self.clock_ms()
            self.last_rebuild_ms = self._rebuilt_ms - started
            self.rebuilds += 1
            log.info(
                "venue state rebuilt: %d entries, %d events, %d inside (%d ms)",
                fresh.entries,
                fresh.events,
                fresh.state.inside,
                self.last_rebuild_ms,
            )

    @property
    def allowlist(self) -> Allowlist:
        return self._allowlist

    @allowlist.setter
    def allowlist(self, allowlist: Allowlist) -> None:
        """The hub's allowlist changed (fold itself does not read it; lookups do)."""
        with self._read:
            self._allowlist = allowlist
            self._fold.state.allowlist = allowlist

    # --- reading --------------------------------------------------------------------------

    @contextlib.contextmanager
    def reading(self) -> Iterator[State]:
        """The folded state, held still while the block runs (for lookups and the sweep)."""
        with self._read:
            yield self._fold.state

    @property
    def folded(self) -> int:
        """Entries folded into the current state."""
        return self._fold.entries

    def headcount(self, gates: Mapping[str, HeadcountGate] | None = None) -> Headcount:
        """The venue's headcount, as of the last event folded (the hub's clock before any)."""
        with self._read:
            count = headcount(self._fold.state)
            last_ms = self._fold.last_hlc_ms
        as_of = _wall(last_ms or self.clock_ms())
        return Headcount(
            **count.as_dict(),
            capacity=self.capacity,
            as_of=as_of.isoformat(),
            gates=dict(gates or {}),
        )

    def findings(self) -> list[Finding]:
        """What the reconciliation found, oldest first (see the module's docstring)."""
        with self._read:
            fold = self._fold
            found = [*fold.found, *fold.audit.found, *fold.clock_findings()]
            if self._stale_since is None:  # held entries may explain them: after the rebuild
                found += fold.audit.pending_findings(self.store.gate_rows())
        found += self._conflicts() + self._status_clocks() + self._quarantined()
        return sorted(found, key=lambda f: (f.at, f.kind, f.gates, f.uid or "", f.detail))

    # --- helpers --------------------------------------------------------------------------

    def _new_fold(self) -> _Fold:
        audit = RuleAudit(self.policy, self.store.get)
        return _Fold(State(allowlist=self._allowlist), self.store.get, self.skew_limit_ms, audit)

    def _conflicts(self) -> list[Finding]:
        found = []
        for c in self.store.conflicts():
            found.append(
                Finding(
                    "journal_conflict",
                    (c.gate,),
                    _wall(c.refused.received_ms),
                    f"seq {c.seq} of {c.gate} came again with another nonce ({c.refused.kind} "
                    f"at {_t(_hlc_time(c.refused.hlc))}; kept the first, {c.kept.kind} at "
                    f"{_t(_hlc_time(c.kept.hlc))}): the gate's journal was reset or replaced",
                    entries=((c.gate, c.seq),),
                )
            )
        return found

    def _quarantined(self) -> list[Finding]:
        """One finding per gate and reason of the entries the ingest refused."""
        by: dict[tuple[str, str], list[Any]] = {}
        for q in self.store.quarantined():
            by.setdefault((q.gate, q.reason), []).append(q)
        found = []
        for (gate, reason), refused in by.items():
            first = refused[0]
            kind = "seq_jump" if reason == "seq_jump" else "forged_event"
            more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
            seqs = f"seq {first.seq}{more}"
            found.append(
                Finding(
                    kind,
                    (gate,),
                    _wall(first.received_ms),
                    f"gate {gate} sent what it may not ({reason}): {seqs}, quarantined, not "
                    f"counted; first: {first.kind} entry: {first.detail}",
                    entries=tuple((gate, q.seq) for q in refused[:20]),
                    reason=reason,
                    count=len(refused),
                )
            )
        return found

    def _status_clocks(self) -> list[Finding]:
        found = []
        for row in self.store.gate_rows():
            if row.skew_ms is None or row.status_ms is None:
                continue
            if abs(row.skew_ms) > self.skew_limit_ms:
                way = "ahead of" if row.skew_ms > 0 else "behind"
                found.append(
                    Finding(
                        "clock",
                        (row.gate,),
                        _wall(row.status_ms),
                        f"last status: the clock of {row.gate} is {abs(row.skew_ms) / 1000:.0f} s "
                        f"{way} the hub's",
                    )
                )
        return found


def _entry_finding(kind: str, entry: StoredEntry, detail: str) -> Finding:
    return Finding(
        kind, (entry.gate,), _hlc_time(entry.hlc), detail, entries=((entry.gate, entry.seq),)
    )


def _hlc_ms(hlc: str) -> int:
    try:
        return Timestamp.parse(hlc).wall_ms
    except ValueError:
        return 0


def _hlc_time(hlc: str) -> datetime:
    return _wall(_hlc_ms(hlc))


def _wall(ms: int) -> datetime:
    """A time in ms since the epoch, held within what a datetime can show."""
    return datetime.fromtimestamp(min(max(ms, 0), _LAST_MS) / 1000, UTC)


def _t(at: datetime) -> str:
    return at.isoformat(timespec="seconds")
