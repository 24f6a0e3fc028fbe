"""The daily report: the manuals' headcount sheet and materials sheet, from the hub's store.

Design §2: a daily headcount report of entries (《每日人数统计表》) and the wristband stock of the
day — issued, recovered at exit, damaged or lost written off (《每日物资领用记录表》, 报损记录) —
with the day's incidents beside them.

    report = daily_report(store, date(2026, 7, 18), policy.tz,
                          allowlist=hub_allowlist.current, findings=venue.findings())
    Path("day.csv").write_text(report_csv(report, staff=False))
    Path("day.html").write_text(report_html(report, staff=True))

The report folds the store's entries in the venue's order (hybrid timestamp, gate, seq) with
the gates' own `fold`: the history before the day silently, to know who was where when it
began, then the day's entries — those whose hybrid timestamp falls on `day` in `tz` — counting
as it goes. Times in the report are the hybrid timestamps' (a gate's clock, kept in order), put
right where a gate found its clock wrong (`hub.fold.clock_order`).

    rule violations    the day's critical findings, after the headcount: moves a gate
                       journalled that the rules do not allow (hub/views/reports/violations.py)
    entries per hour   first entries (OK_ENTRY, or an override letting in a member never in)
                       and re-entries (from a temporary exit), adults and children apart; exits
                       (final or temporary); who was inside when the hour ended
    peak               the most people inside at once, and when it was first reached (a grant
                       nobody went through, undone by its passage entry, never counts)
    admitted           first entries of the day, adults and children
    closing            the headcount after the day's last entry
    wristbands         issued (bound), returned (final exit), still out (bound, not returned),
                       written off (band UIDs revoked with a reason saying lost or damaged,
                       and lost bands replaced at a desk)
    corrections        bands replaced, unbound or re-issued at a desk, with the staff badge
                       (hub/views/reports/corrections.py)
    incidents          staff overrides, denials by code, the reconciliation's findings of the day,
                       children still inside when the day ended
    sessions           by session (场次) of the tickets, when any has one: first entries,
                       parents in after closing to collect, children left (reports/sessions.py)
    outages, faults    the day's incidents and drills (hub/views/reports/outages.py)
    lost children      lost children and separated families open that day, and each desk's
    band stock         stock by shift (hub/views/reports/deskday.py, stock.py)

A passage the gate undid (its sensor saw nobody go through) is not counted; an exit the closing
pairing window turned into a temporary one (an adult who left children inside) counts as an
exit, but the band is not counted returned.

`report_csv` and `report_html` (`hub.views.reports.render`) render the same sections
(`hub.views.reports.sections`). Guardian phone numbers are kept whole
in the report and shown only when rendered for staff (`staff=True`); otherwise masked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gate.core import (
    Allowlist,
    BandBound,
    BandReissued,
    BandReplaced,
    BandUnbound,
    BindingOpened,
    Event,
    Headcount,
    MemberMoved,
    State,
    fold,
    headcount,
)
from gate.core.families import Missing, incomplete
from gate.core.guardians import walkin_ticket
from gate.link.codec import CodecError, event_from_dict
from hub.fold.clock_order import ClockOrder
from hub.fold.findings import Finding
from hub.store.band_stock import StockRecord
from hub.store.events import EventStore
from hub.store.family_incidents import FamilyIncident
from hub.store.incidents import Drill, Incident
from hub.store.records import StoredEntry
from hub.views.reports.corrections import CorrectionRow, correction_row
from hub.views.reports.desk_actions import DeskActionRow, desk_action_row, hub_action_row
from hub.views.reports.deskday import desk_day, hub_revocations
from hub.views.reports.formats import epoch_ms, iso, shown_phone, utc_time
from hub.views.reports.headcount import HeadcountTally, HourRow, undone_grants
from hub.views.reports.materials import BandStock, BandTally
from hub.views.reports.outages import day_incidents
from hub.views.reports.sessions import SessionRow, SessionTally
from hub.views.reports.technician_scans import TechnicianScan, technician_scan
from hub.views.sweep import SweepRow, closing_sweep

# --- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OverrideRow:
    """A passage a staff badge forced, over the denial it set aside."""

    at: datetime
    gate: str
    staff: str  # the badge
    staff_name: str
    overrode: str  # the denial's code
    uid: str
    role: str
    group: str
    guardian_phone: str  # whole: masked when rendered for non-staff


@dataclass(frozen=True, slots=True)
class DenialRow:
    code: str
    count: int
    gates: dict[str, int]


@dataclass(frozen=True)
class DailyReport:
    day: date
    timezone: str
    entries: int  # journal entries of the day
    gates: tuple[str, ...]
    first_at: datetime | None
    last_at: datetime | None
    inside_at_start: int
    hours: tuple[HourRow, ...]
    peak: int
    peak_at: datetime | None
    closing: Headcount
    bands: BandStock
    overrides: tuple[OverrideRow, ...]
    denials: tuple[DenialRow, ...]
    findings: tuple[Finding, ...]
    children_inside: tuple[SweepRow, ...]  # at the end of the day; phones whole
    skipped: int = 0  # events of the day that could not be read or folded
    test_scans: tuple[TechnicianScan, ...] = ()  # a technician's, at gatectl: not visitors
    sessions: tuple[SessionRow, ...] = ()  # by session, when some ticket has one
    incidents: tuple[Incident, ...] = ()  # outages and faults (hub/views/reports/outages.py)
    drills: tuple[Drill, ...] = ()
    # families bound this day with a slot of their ticket still to bind at its end
    incomplete: tuple[Missing, ...] = ()
    desk_actions: tuple[DeskActionRow, ...] = ()  # authorised by a badge tapped at the desk
    corrections: tuple[CorrectionRow, ...] = ()  # at the desk (hub/views/reports/corrections.py)
    family_incidents: tuple[FamilyIncident, ...] = ()  # lost children, separated families

    @property
    def admitted_adults(self) -> int:
        return sum(h.entries_adults for h in self.hours)

    @property
    def admitted_children(self) -> int:
        return sum(h.entries_children for h in self.hours)

    @property
    def admitted(self) -> int:
        return self.admitted_adults + self.admitted_children

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def as_dict(self, *, staff: bool) -> dict[str, Any]:
        """The report as JSON-ready data; guardian phones masked unless `staff`."""
        tz = self.tz
        return {
            "day": self.day.isoformat(),
            "timezone": self.timezone,
            "entries": self.entries,
            "gates": list(self.gates),
            "first_at": iso(self.first_at, tz),
            "last_at": iso(self.last_at, tz),
            "inside_at_start": self.inside_at_start,
            "admitted": {"adults": self.admitted_adults, "children": self.admitted_children},
            "peak": {"inside": self.peak, "at": iso(self.peak_at, tz)},
            "closing": self.closing.as_dict(),
            "hours": [h.as_dict(tz) for h in self.hours],
            "wristbands": self.bands.as_dict(tz),
            "overrides": [
                {
                    "at": iso(o.at, tz),
                    "gate": o.gate,
                    "staff": o.staff,
                    "staff_name": o.staff_name,
                    "overrode": o.overrode,
                    "uid": o.uid,
                    "role": o.role,
                    "group": o.group,
                    "guardian_phone": shown_phone(o.guardian_phone, staff),
                }
                for o in self.overrides
            ],
            "denials": {d.code: d.count for d in self.denials},
            "findings": [f.as_dict() for f in self.findings],
            "children_inside": [
                {**row.as_dict(tz), "guardian_phone": shown_phone(row.guardian_phone, staff)}
                for row in self.children_inside
            ],
            "skipped": self.skipped,
            "test_scans": [
                {
                    "at": iso(r.at, tz),
                    "gate": r.gate,
                    "technician": r.technician,
                    "value": r.value,
                    "code": r.code,
                    "seq": r.seq,
                }
                for r in self.test_scans
            ],
            "sessions": [s.as_dict() for s in self.sessions],
            "incidents": [i.as_dict() for i in self.incidents],
            "drills": [d.as_dict() for d in self.drills],
            "incomplete": [m.as_dict() for m in self.incomplete],
            "desk_actions": [a.as_dict(lambda at: iso(at, tz)) for a in self.desk_actions],
            "corrections": [c.as_dict(tz) for c in self.corrections],
            "family_incidents": [i.as_dict() for i in self.family_incidents],
        }


# --- computing it -------------------------------------------------------------------------------


def daily_report(
    store: EventStore,
    day: date,
    tz: ZoneInfo,
    *,
    findings: Sequence[Finding] | None = None,
    allowlist: Allowlist | None = None,
    guardian_phones: Mapping[str, str] | None = None,
) -> DailyReport:
    """The report of `day` (the venue's local date in `tz`) from the store's entries.

    `allowlist` (the hub's current one) gives staff names, guardian phones and the bands
    written off; `findings` (`VenueState.findings()`) are kept when they happened that day or
    rest on an entry of that day. `guardian_phones`: walk-ins' guardian phones as the desks
    told the hub (`VenueState.guardian_phones`; the events hold them masked)."""
    start_ms = epoch_ms(datetime.combine(day, time(0), tzinfo=tz))
    end_ms = epoch_ms(datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz))
    phones = dict(guardian_phones or {})
    tally = _Tally(State(allowlist=allowlist or Allowlist(), guardian_phones=phones), tz)
    tally.headcount.undone = undone_grants(store, start_ms, end_ms)
    order = ClockOrder(store)  # entries a gate stamped with a wrong clock, where they happened
    for entry in order.entries():
        ms = order.ms(entry)
        if ms >= end_ms:
            break
        if ms < start_ms:
            tally.before(entry)
        else:
            tally.begin(start_ms)
            tally.during(entry, ms)
    tally.begin(start_ms)  # a day with no entries
    incidents, drills = day_incidents(store.path, start_ms, end_ms)
    families, records = desk_day(store.path, day, start_ms, end_ms)
    report = tally.report(day, tz, findings or (), records)
    at_hub = [hub_action_row(r) for r in hub_revocations(store.path, start_ms, end_ms)]
    return replace(
        report,
        desk_actions=tuple(sorted((*report.desk_actions, *at_hub), key=lambda a: a.at)),
        incidents=tuple(incidents),
        drills=tuple(drills),
        family_incidents=tuple(families),
    )


@dataclass
class _Tally:
    """The day folded entry by entry, and what the report counts as it goes."""

    state: State
    tz: ZoneInfo
    entries: int = 0
    skipped: int = 0
    gates: set[str] = field(default_factory=set)
    keys: set[tuple[str, int]] = field(default_factory=set)
    first_ms: int | None = None
    last_ms: int | None = None
    headcount: HeadcountTally = field(init=False)
    bands: BandTally = field(default_factory=BandTally)
    overrides: list[OverrideRow] = field(default_factory=list)
    denials: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    test_scans: list[TechnicianScan] = field(default_factory=list)
    sessions: SessionTally = field(default_factory=SessionTally)
    bound_today: set[str] = field(default_factory=set)  # groups a desk bound (to) this day
    desk_actions: list[DeskActionRow] = field(default_factory=list)
    corrections: list[CorrectionRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.headcount = HeadcountTally(self.tz)

    def before(self, entry: StoredEntry) -> None:
        """An entry of an earlier day: folded, not counted."""
        for event in _events(entry) or ():
            try:
                fold(self.state, event)
            except Exception:  # VenueState's findings say what could not be folded
                continue

    def begin(self, start_ms: int) -> None:
        """The day begins: whoever is inside is counted from its first moment."""
        self.headcount.begin(self.state.inside, start_ms)

    def during(self, entry: StoredEntry, ms: int) -> None:
        self.entries += 1
        self.gates.add(entry.gate)
        self.keys.add((entry.gate, entry.seq))
        self.first_ms = ms if self.first_ms is None else self.first_ms
        self.last_ms = ms
        hour = self.headcount.hour(ms)
        events = _events(entry)
        if events is None:
            self.skipped += 1
            return
        if entry.kind == "decision":
            self._decision(entry, ms)
        before = self.state.inside
        for event in events:
            prior = self.state.members.get(event.uid) if isinstance(event, MemberMoved) else None
            corrected = (
                correction_row(self.state, event)
                if isinstance(event, BandReplaced | BandUnbound | BandReissued)
                else None
            )
            try:
                fold(self.state, event)
            except Exception:
                self.skipped += 1
                continue
            if isinstance(event, BindingOpened):
                self.bound_today.add(event.group)
            if corrected is not None:
                self.corrections.append(replace(corrected, at=utc_time(ms)))
                self.bands.corrected(event, corrected.role)
            if isinstance(event, BandBound):
                self.bands.bound(event, ms)
                self.bound_today.add(event.group)
            elif isinstance(event, MemberMoved) and prior is not None:
                self.headcount.moved(entry.kind, event, prior.state, prior.role, hour)
                self.sessions.moved(self.state, entry.kind, event, prior.state)
                self.bands.moved(event, prior.state)
        inside = self.state.inside
        self.headcount.folded(entry, inside - before, inside, ms, hour)

    def _decision(self, entry: StoredEntry, ms: int) -> None:
        d = entry.body.get("decision")
        if not isinstance(d, dict):
            return
        code = str(d.get("code", ""))
        gate = str(d.get("gate") or entry.gate)
        staff = self.state.allowlist.staff
        if action := desk_action_row(entry.body, entry.gate, utc_time(ms), staff):
            self.desk_actions.append(action)  # a desk action, with the badge that authorised it
        elif tested := technician_scan(entry.body, entry.gate, entry.seq, utc_time(ms)):
            self.test_scans.append(tested)  # a technician's: listed apart, not a visitor's
        elif code.startswith("DENY_"):
            self.denials[code][gate] += 1
        elif code == "OK_COLLECT":
            self.sessions.decided(self.state, code, str(d.get("group") or ""))
        elif code == "OK_OVERRIDE":
            badge, group = str(d.get("staff") or ""), str(d.get("group") or "")
            ticket = self.state.allowlist.tickets.get(group) or walkin_ticket(self.state, group)
            self.overrides.append(
                OverrideRow(
                    at=utc_time(ms),
                    gate=gate,
                    staff=badge,
                    staff_name=self.state.allowlist.staff.get(badge, ""),
                    overrode=str(d.get("overrode") or ""),
                    uid=str(d.get("value") or ""),
                    role=str(d.get("role") or ""),
                    group=group,
                    guardian_phone=ticket.guardian_phone if ticket else "",
                )
            )

    def report(
        self,
        day: date,
        tz: ZoneInfo,
        findings: Iterable[Finding],
        records: Sequence[StockRecord] = (),
    ) -> DailyReport:
        start_ms = epoch_ms(datetime.combine(day, time(0), tzinfo=tz))
        end_ms = epoch_ms(datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz))
        kept = tuple(
            f
            for f in findings
            if start_ms <= epoch_ms(f.at) < end_ms or any(key in self.keys for key in f.entries)
        )
        count = self.headcount
        inside = tuple(closing_sweep(self.state, staff=True))
        return DailyReport(
            day=day,
            timezone=str(tz),
            entries=self.entries,
            gates=tuple(sorted(self.gates)),
            first_at=utc_time(self.first_ms) if self.first_ms is not None else None,
            last_at=utc_time(self.last_ms) if self.last_ms is not None else None,
            inside_at_start=count.inside_at_start or 0,
            hours=count.hour_rows(tz),
            peak=count.peak,
            peak_at=utc_time(count.peak_ms) if count.peak_ms is not None else None,
            closing=headcount(self.state),
            bands=self.bands.stock(self.state, records),
            overrides=tuple(self.overrides),
            denials=tuple(
                DenialRow(code, sum(gates.values()), dict(sorted(gates.items())))
                for code, gates in sorted(self.denials.items())
            ),
            findings=kept,
            children_inside=inside,
            skipped=self.skipped,
            test_scans=tuple(self.test_scans),
            sessions=self.sessions.rows(self.state, inside),
            incomplete=tuple(m for m in incomplete(self.state) if m.group in self.bound_today),
            desk_actions=tuple(self.desk_actions),
            corrections=tuple(self.corrections),
        )


def _events(entry: StoredEntry) -> list[Event] | None:
    raw = entry.body.get("events", [])
    if not isinstance(raw, list):
        return None
    try:
        return [event_from_dict(data) for data in raw]
    except CodecError:
        return None
