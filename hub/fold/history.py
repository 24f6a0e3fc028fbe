"""The history folded: a State and the audit of it, entry by entry, in the venue's order, and
what the history itself shows (grants nobody went through, entries that cannot be read or
folded, fire alarms, the gates' clocks)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from gate.core import Event, MemberMoved, State, fold
from gate.link.codec import CodecError, events_of
from hub.fold.audit import RuleAudit
from hub.fold.clock_order import ClockOrder
from hub.fold.clocks import GateClock, hlc_time, iso_seconds, wall_ms_of, wall_time
from hub.fold.findings import Finding
from hub.store.records import StoredEntry

log = logging.getLogger("hub.fold.reconcile")  # the fold's log, under the name it has always had

_START = ("", "", 0)

Key = tuple[str, str, int]


@dataclass
class HistoryFold:
    """A State and the audit of the history folded into it, entry by entry, in order."""

    state: State
    lookup: Callable[[str, int], StoredEntry | None]
    skew_limit_ms: int
    audit: RuleAudit
    order: ClockOrder | None = None  # the gates' measured clocks (hub.fold.clock_order)
    last_key: Key = _START
    last_hlc_ms: int | None = None
    entries: int = 0
    events: int = 0
    found: list[Finding] = field(default_factory=list)
    clocks: dict[str, GateClock] = field(default_factory=dict)

    def apply(self, entry: StoredEntry) -> None:
        self.last_key = self.order.key(entry) if self.order else entry.key
        self.entries += 1
        hlc_ms = wall_ms_of(entry.hlc)
        self.last_hlc_ms = self.order.ms(entry) if self.order else hlc_ms
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
        checking = self.audit.begin(entry, events, self.state)
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
                moved[0].at if moved else hlc_time(entry.hlc),
                f"{code} at {entry.gate} (journal entry {seq}) for {uids}: nobody went through, "
                "the move was undone",
                moved[0].uid if moved else None,
                moved[0].group if moved else None,
                (*refs, (entry.gate, entry.seq)),
            )
        )

    def _check_clock(self, entry: StoredEntry, hlc_ms: int) -> None:
        self.clocks.setdefault(entry.gate, GateClock()).check(entry, hlc_ms, self.skew_limit_ms)

    def clock_findings(self) -> list[Finding]:
        found = []
        for gate, c in self.clocks.items():
            if c.unset_first is not None:
                first = c.unset_first
                found.append(
                    entry_finding(
                        "clock",
                        first,
                        f"{c.unset} entries with the wall clock before 2025 "
                        f"({wall_time(first.wall_ms)}): the clock was never set (no RTC, no NTP)",
                    )
                )
            if c.ahead_first is not None:
                found.append(
                    entry_finding(
                        "clock",
                        c.ahead_first,
                        f"{c.ahead} entries stamped up to {c.ahead_ms / 1000:.0f} s after the "
                        "hub received them: the gate's clock runs ahead",
                    )
                )
            if c.back_first is not None:
                found.append(
                    entry_finding(
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
                f"{type(event).__name__} at {entry.gate} {iso_seconds(event.at)} {why}: skipped",
                getattr(event, "uid", None),
                getattr(event, "group", None),
                ((entry.gate, entry.seq),),
            )
        )

    def _note(self, kind: str, entry: StoredEntry, detail: str) -> None:
        self.found.append(entry_finding(kind, entry, detail))


def entry_finding(kind: str, entry: StoredEntry, detail: str) -> Finding:
    return Finding(
        kind, (entry.gate,), hlc_time(entry.hlc), detail, entries=((entry.gate, entry.seq),)
    )
