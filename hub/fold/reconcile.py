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

Entries a gate stamped with a clock it then measured wrong are ordered where they happened on
the hub's clock (`hub.fold.clock_order`, from the gate's `clock` entries). The fold itself,
entry by entry, is `hub.fold.history`; what the store shows beside it (journals
reset, entries quarantined, clocks in the gates' statuses), `hub.fold.store_findings`.

An audit (`hub.fold.audit`) re-checks the rules over the history as it is folded. `findings()` lists
what a reconciliation found. Rule violations, critical (`hub.fold.findings.RULE_VIOLATIONS`):

    child_released_alone    a child let out with no adult of its group (or a solo child with
                            no staff-verified guardian pickup)
    child_temp_exit         a child let out temporarily
    child_admitted_alone    a child let in with no adult of its group inside or paired
    override_not_authorised a forced move no enrolled, unrevoked badge armed at that gate
    move_without_entry      a member let out that no gate let in
    impossible_move         a move no rule makes from the member's previous state
    pairing_without_adult   a pairing window opened with no adult let through (or by a pickup
                            code that is not its group's)

A pickup alert, critical (`hub.fold.audit_pickups`):

    pickup_not_authorised   a staff override tried (refused) or let through for a child whose
                            group has a not-authorised list

A band copied or rolled back, critical (`hub.fold.audit_counters`):

    band_cloned             a band's passage counter went backwards or came again with other
                            content: two bands with one UID, or a band restored from a copy

Warnings:

    double_entry            a member let in while already inside (two gates, partitioned)
    voucher_reused          a digital voucher used again (two gates, partitioned)
    hand_back_not_applied   a band handed back at a desk while its wearer, or a child of its
                            family, was inside (a desk that had not heard): folded to nothing
    exit_without_entry      a member let out while not inside
    child_released_by_override   a child let out by a staff override that set aside no pickup
    unverified_pickup       a child let out by an override of its guardian's pickup (no pickup
                            code read): this one finding, not child_released_by_override too
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

from gate.config import PERMISSIVE_POLICY
from gate.core import Allowlist, Policy, State, headcount
from gate.link.protocol import Headcount, HeadcountGate
from gate.store.journal import wall_clock_ms
from hub.fold.audit import RuleAudit
from hub.fold.clock_order import ClockOrder
from hub.fold.clocks import SKEW_LIMIT_MS, wall_time
from hub.fold.findings import Finding
from hub.fold.history import HistoryFold
from hub.fold.store_findings import conflict_findings, quarantine_findings, status_clock_findings
from hub.store.events import EventStore
from hub.store.records import StoredEntry

log = logging.getLogger(__name__)

MIN_INTERVAL_MS = 1000
SETTLE_MS = 500
MAX_DELAY_MS = 10_000


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
        guardian_phones: dict[str, str] | None = None,
    ) -> None:
        self.store = store
        # walk-ins' guardian phones in full, as the desks told the hub (`State.guardian_phones`)
        self.guardian_phones = guardian_phones if guardian_phones is not None else {}
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
        self._order = ClockOrder(store)
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
                    moved = self._order.learn(entry)  # a gate's clock put right: re-order
                    key = self._order.key(entry)
                    if entry.gate in self._held or key <= self._fold.last_key or moved:
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
            self._order = ClockOrder(self.store)
            fresh = self._new_fold()
            for entry in self._order.entries():
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

    def told_phone(self, group: str, phone: str) -> None:
        """A desk told the hub walk-in `group`'s guardian phone in full."""
        with self._read:
            self.guardian_phones[group] = phone

    def phones(self) -> dict[str, str]:
        """The walk-ins' guardian phones told so far (a copy, for a report)."""
        with self._read:
            return dict(self.guardian_phones)

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
        as_of = wall_time(last_ms or self.clock_ms())
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
        found += conflict_findings(self.store)
        found += status_clock_findings(self.store, self.skew_limit_ms)
        found += quarantine_findings(self.store)
        return sorted(found, key=lambda f: (f.at, f.kind, f.gates, f.uid or "", f.detail))

    # --- helpers --------------------------------------------------------------------------

    def _new_fold(self) -> HistoryFold:
        audit = RuleAudit(self.policy, self.store.get)
        state = State(allowlist=self._allowlist, guardian_phones=self.guardian_phones)
        return HistoryFold(state, self.store.get, self.skew_limit_ms, audit, self._order)
