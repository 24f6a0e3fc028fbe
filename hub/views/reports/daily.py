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
as it goes. Times in the report are the hybrid timestamps' (a gate's clock, kept in order).

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
                       written off (band UIDs revoked with a reason saying lost or damaged)
    incidents          staff overrides, denials by code, the reconciliation's findings of the day,
                       children still inside when the day ended

A passage the gate undid (its sensor saw nobody go through) is not counted; an exit the closing
pairing window turned into a temporary one (an adult who left children inside) counts as an
exit, but the band is not counted returned.

`report_csv` and `report_html` render the same sections. Guardian phone numbers are kept whole
in the report and shown only when rendered for staff (`staff=True`); otherwise masked.
"""

from __future__ import annotations

import csv
import html
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gate.core import (
    Allowlist,
    BandBound,
    Event,
    Headcount,
    MemberMoved,
    MemberState,
    Role,
    State,
    fold,
    headcount,
    mask_phone,
)
from gate.core.hlc import MAX_COUNTER, Timestamp
from gate.link.codec import CodecError, event_from_dict
from gate.store.allowlist.validate import is_normal_uid
from hub.fold.findings import Finding
from hub.store.events import EventStore
from hub.store.records import StoredEntry
from hub.views.reports.violations import HEADER, NOTE, TITLE, violation_rows
from hub.views.sweep import SweepRow, closing_sweep

WRITE_OFF_WORDS = ("lost", "damaged", "broken", "丢", "遗失", "损", "坏")
_HOUR_S = 3600


# --- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HourRow:
    """One local hour of the day, from `start`."""

    start: datetime
    entries_adults: int = 0
    entries_children: int = 0
    reentries_adults: int = 0
    reentries_children: int = 0
    exits_adults: int = 0
    exits_children: int = 0
    inside_at_end: int = 0

    @property
    def entries(self) -> int:
        return self.entries_adults + self.entries_children


@dataclass(frozen=True, slots=True)
class BandRow:
    """A wristband bound and not returned."""

    uid: str
    role: Role
    group: str
    state: MemberState
    last_gate: str
    last_at: datetime


@dataclass(frozen=True, slots=True)
class WriteOff:
    """A band revoked as lost or damaged."""

    uid: str
    role: str  # the stock role, "" when the band is not in the stock list
    reason: str


@dataclass(frozen=True, slots=True)
class BandStock:
    issued: dict[str, int]  # bands bound during the day, by role
    returned: int  # bands taken back at a final exit during the day
    still_out: tuple[BandRow, ...]  # bound and not returned when the day ended
    written_off: tuple[WriteOff, ...]

    @property
    def issued_total(self) -> int:
        return sum(self.issued.values())


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
            "first_at": _iso(self.first_at, tz),
            "last_at": _iso(self.last_at, tz),
            "inside_at_start": self.inside_at_start,
            "admitted": {"adults": self.admitted_adults, "children": self.admitted_children},
            "peak": {"inside": self.peak, "at": _iso(self.peak_at, tz)},
            "closing": self.closing.as_dict(),
            "hours": [
                {
                    "start": _iso(h.start, tz),
                    "entries_adults": h.entries_adults,
                    "entries_children": h.entries_children,
                    "reentries_adults": h.reentries_adults,
                    "reentries_children": h.reentries_children,
                    "exits_adults": h.exits_adults,
                    "exits_children": h.exits_children,
                    "inside_at_end": h.inside_at_end,
                }
                for h in self.hours
            ],
            "wristbands": {
                "issued": dict(self.bands.issued),
                "issued_total": self.bands.issued_total,
                "returned": self.bands.returned,
                "still_out": [
                    {
                        "uid": b.uid,
                        "role": b.role.value,
                        "group": b.group,
                        "state": b.state.value,
                        "last_gate": b.last_gate,
                        "last_at": _iso(b.last_at, tz),
                    }
                    for b in self.bands.still_out
                ],
                "written_off": [
                    {"uid": w.uid, "role": w.role, "reason": w.reason}
                    for w in self.bands.written_off
                ],
            },
            "overrides": [
                {
                    "at": _iso(o.at, tz),
                    "gate": o.gate,
                    "staff": o.staff,
                    "staff_name": o.staff_name,
                    "overrode": o.overrode,
                    "uid": o.uid,
                    "role": o.role,
                    "group": o.group,
                    "guardian_phone": _shown(o.guardian_phone, staff),
                }
                for o in self.overrides
            ],
            "denials": {d.code: d.count for d in self.denials},
            "findings": [f.as_dict() for f in self.findings],
            "children_inside": [
                {**row.as_dict(tz), "guardian_phone": _shown(row.guardian_phone, staff)}
                for row in self.children_inside
            ],
            "skipped": self.skipped,
        }


# --- computing it -------------------------------------------------------------------------------


def daily_report(
    store: EventStore,
    day: date,
    tz: ZoneInfo,
    *,
    findings: Sequence[Finding] | None = None,
    allowlist: Allowlist | None = None,
) -> DailyReport:
    """The report of `day` (the venue's local date in `tz`) from the store's entries.

    `allowlist` (the hub's current one) gives staff names, guardian phones and the bands
    written off; `findings` (`VenueState.findings()`) are kept when they happened that day or
    rest on an entry of that day."""
    start_ms = _ms(datetime.combine(day, time(0), tzinfo=tz))
    end_ms = _ms(datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz))
    tally = _Tally(State(allowlist=allowlist or Allowlist()), tz)
    tally.undone = _undone(store, start_ms, end_ms)
    for entry in store.entries_in_hlc_order():
        ms = _hlc_ms(entry.hlc)
        if ms >= end_ms:
            break
        if ms < start_ms:
            tally.before(entry)
        else:
            tally.begin(start_ms)
            tally.during(entry, ms)
    tally.begin(start_ms)  # a day with no entries
    return tally.report(day, tz, findings or ())


@dataclass
class _Counts:
    entries: Counter[str] = field(default_factory=Counter)  # "adults" / "children"
    reentries: Counter[str] = field(default_factory=Counter)
    exits: Counter[str] = field(default_factory=Counter)
    inside_at_end: int | None = None


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
    inside_at_start: int | None = None
    peak: int = 0
    peak_ms: int | None = None
    undone: set[tuple[str, int]] = field(default_factory=set)  # grants nobody went through
    phantom: int = 0  # let in by such a grant, not undone yet
    phantom_of: dict[tuple[str, int], int] = field(default_factory=dict)
    hours: dict[int, _Counts] = field(default_factory=lambda: defaultdict(_Counts))
    counted: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # uid -> last move
    issued: Counter[str] = field(default_factory=Counter)
    returned: Counter[str] = field(default_factory=Counter)  # uid -> returns of the day
    overrides: list[OverrideRow] = field(default_factory=list)
    denials: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def before(self, entry: StoredEntry) -> None:
        """An entry of an earlier day: folded, not counted."""
        for event in _events(entry) or ():
            try:
                fold(self.state, event)
            except Exception:  # VenueState's findings say what could not be folded
                continue

    def begin(self, start_ms: int) -> None:
        """The day begins: whoever is inside is counted from its first moment."""
        if self.inside_at_start is None:
            self.inside_at_start = self.peak = self.state.inside
            self.peak_ms = start_ms if self.peak else None

    def during(self, entry: StoredEntry, ms: int) -> None:
        self.entries += 1
        self.gates.add(entry.gate)
        self.keys.add((entry.gate, entry.seq))
        self.first_ms = ms if self.first_ms is None else self.first_ms
        self.last_ms = ms
        hour = self._hour(ms)
        events = _events(entry)
        if events is None:
            self.skipped += 1
            return
        if entry.kind == "decision":
            self._decision(entry, ms)
        before = self.state.inside
        for event in events:
            prior = self.state.members.get(event.uid) if isinstance(event, MemberMoved) else None
            try:
                fold(self.state, event)
            except Exception:
                self.skipped += 1
                continue
            if isinstance(event, BandBound):
                self.issued[event.role.value] += 1
            elif isinstance(event, MemberMoved) and prior is not None:
                self._moved(entry.kind, event, prior.state, prior.role, hour)
        self._phantoms(entry, self.state.inside - before)
        inside = self.state.inside - self.phantom
        if inside > self.peak:
            self.peak, self.peak_ms = inside, ms
        self.hours[hour].inside_at_end = inside

    def _phantoms(self, entry: StoredEntry, change: int) -> None:
        """A grant nobody went through is undone by a later passage entry: until then the
        people it let in are not counted inside (the peak would count them)."""
        key = (entry.gate, entry.seq)
        if entry.kind == "decision" and key in self.undone:
            self.phantom += change
            self.phantom_of[key] = change
        elif entry.kind == "passage" and entry.body.get("passed") is False:
            seq = entry.body.get("decision_seq")
            self.phantom -= self.phantom_of.pop((entry.gate, seq), 0) if isinstance(seq, int) else 0

    def _hour(self, ms: int) -> int:
        """The start of the local hour of `ms`, in seconds since the epoch."""
        local = _time(ms).astimezone(self.tz)
        return int(local.replace(minute=0, second=0, microsecond=0).timestamp())

    def _moved(
        self, kind: str, event: MemberMoved, before: MemberState, role: Role, hour: int
    ) -> None:
        who = "adults" if role is Role.ADULT else "children"
        if kind == "decision":
            column = None
            if event.state is MemberState.INSIDE and before is MemberState.BOUND:
                column = "entries"
            elif event.state is MemberState.INSIDE and before is MemberState.TEMP_OUT:
                column = "reentries"
            elif event.state is not MemberState.INSIDE:
                column = "exits"
            if column is not None:
                getattr(self.hours[hour], column)[who] += 1
                self.counted[event.uid] = (hour, column, who)
        elif kind == "passage" and (undone := self.counted.pop(event.uid, None)):
            at, column, who = undone  # nobody went through: the move was undone
            getattr(self.hours[at], column)[who] -= 1
        if event.state is MemberState.EXITED and before is not MemberState.EXITED:
            self.returned[event.uid] += 1
        elif before is MemberState.EXITED and self.returned[event.uid] > 0:
            self.returned[event.uid] -= 1  # the exit became temporary, or was undone

    def _decision(self, entry: StoredEntry, ms: int) -> None:
        d = entry.body.get("decision")
        if not isinstance(d, dict):
            return
        code = str(d.get("code", ""))
        gate = str(d.get("gate") or entry.gate)
        if code.startswith("DENY_"):
            self.denials[code][gate] += 1
        elif code == "OK_OVERRIDE":
            badge, group = str(d.get("staff") or ""), str(d.get("group") or "")
            ticket = self.state.allowlist.tickets.get(group)
            self.overrides.append(
                OverrideRow(
                    at=_time(ms),
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

    def report(self, day: date, tz: ZoneInfo, findings: Iterable[Finding]) -> DailyReport:
        start_ms = _ms(datetime.combine(day, time(0), tzinfo=tz))
        end_ms = _ms(datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz))
        kept = tuple(
            f
            for f in findings
            if start_ms <= _ms(f.at) < end_ms or any(key in self.keys for key in f.entries)
        )
        return DailyReport(
            day=day,
            timezone=str(tz),
            entries=self.entries,
            gates=tuple(sorted(self.gates)),
            first_at=_time(self.first_ms) if self.first_ms is not None else None,
            last_at=_time(self.last_ms) if self.last_ms is not None else None,
            inside_at_start=self.inside_at_start or 0,
            hours=self._hour_rows(tz),
            peak=self.peak,
            peak_at=_time(self.peak_ms) if self.peak_ms is not None else None,
            closing=headcount(self.state),
            bands=BandStock(
                issued={role: self.issued[role] for role in sorted(self.issued)},
                returned=sum(self.returned.values()),
                still_out=self._still_out(),
                written_off=self._written_off(),
            ),
            overrides=tuple(self.overrides),
            denials=tuple(
                DenialRow(code, sum(gates.values()), dict(sorted(gates.items())))
                for code, gates in sorted(self.denials.items())
            ),
            findings=kept,
            children_inside=tuple(closing_sweep(self.state, staff=True)),
            skipped=self.skipped,
        )

    def _hour_rows(self, tz: ZoneInfo) -> tuple[HourRow, ...]:
        if not self.hours:
            return ()
        rows, inside = [], self.inside_at_start or 0
        for start in range(min(self.hours), max(self.hours) + 1, _HOUR_S):
            c = self.hours.get(start) or _Counts()
            if c.inside_at_end is not None:
                inside = c.inside_at_end
            rows.append(
                HourRow(
                    datetime.fromtimestamp(start, tz),
                    c.entries["adults"],
                    c.entries["children"],
                    c.reentries["adults"],
                    c.reentries["children"],
                    c.exits["adults"],
                    c.exits["children"],
                    inside,
                )
            )
        return tuple(rows)

    def _still_out(self) -> tuple[BandRow, ...]:
        rows = (
            BandRow(m.uid, m.role, m.group, m.state, m.last_gate, m.last_at)
            for m in self.state.members.values()
            if m.state is not MemberState.EXITED
        )
        return tuple(sorted(rows, key=lambda b: (b.state.value, b.group, b.uid)))

    def _written_off(self) -> tuple[WriteOff, ...]:
        a = self.state.allowlist
        found = []
        for value, reason in sorted(a.revoked.items()):
            band = value in a.bands or value in self.state.members
            if not band and (value in a.tickets or not is_normal_uid(value)):
                continue
            if any(word in reason.lower() for word in WRITE_OFF_WORDS):
                role = a.bands.get(value)
                found.append(WriteOff(value, role.value if role else "", reason))
        return tuple(found)


def _undone(store: EventStore, start_ms: int, end_ms: int) -> set[tuple[str, int]]:
    """The day's grants that a passage entry says nobody went through: (gate, seq)."""
    found = set()
    for entry in store.entries_in_hlc_order(
        after_hlc=str(Timestamp(max(start_ms - 1, 0), MAX_COUNTER))
    ):
        if _hlc_ms(entry.hlc) >= end_ms:
            break
        seq = entry.body.get("decision_seq")
        if entry.kind == "passage" and entry.body.get("passed") is False and isinstance(seq, int):
            found.add((entry.gate, seq))
    return found


def _events(entry: StoredEntry) -> list[Event] | None:
    raw = entry.body.get("events", [])
    if not isinstance(raw, list):
        return None
    try:
        return [event_from_dict(data) for data in raw]
    except CodecError:
        return None


# --- rendering ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Section:
    """One table of the report: a title, a header row and rows (numbers stay numbers)."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str | int, ...], ...]
    note: str = ""
    total: bool = False  # the last row sums the others


def sections(report: DailyReport, *, staff: bool) -> list[Section]:
    """The report's tables, in print order; guardian phones masked unless `staff`."""
    tz = report.tz

    def t(at: datetime | None) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if at else ""

    c, b = report.closing, report.bands
    out = [
        Section(
            "Daily report",
            ("item", "value"),
            (
                ("venue day", report.day.isoformat()),
                ("timezone", report.timezone),
                ("journal entries", report.entries),
                ("gates", " ".join(report.gates)),
                ("first entry", t(report.first_at)),
                ("last entry", t(report.last_at)),
                ("guardian phones", "shown (staff)" if staff else "masked"),
            ),
        ),
        Section(
            "Headcount",
            ("item", "value"),
            (
                ("inside when the day began", report.inside_at_start),
                ("admitted adults (first entries)", report.admitted_adults),
                ("admitted children (first entries)", report.admitted_children),
                ("admitted in all", report.admitted),
                (
                    "re-entries",
                    sum(h.reentries_adults + h.reentries_children for h in report.hours),
                ),
                ("exits", sum(h.exits_adults + h.exits_children for h in report.hours)),
                ("peak inside", report.peak),
                ("peak reached at", t(report.peak_at)),
                ("inside at the end of the day", c.inside),
                ("adults inside at the end", c.adults),
                ("children inside at the end", c.children),
                ("children inside with no adult of their group", c.unaccompanied_children),
                ("groups inside at the end", c.groups_inside),
            ),
        ),
        Section(TITLE, HEADER, violation_rows(report.findings, t), note=NOTE),
        _hours_section(report),
        Section(
            "Wristbands",
            ("item", "count"),
            (
                *((f"issued: {role} bands", n) for role, n in b.issued.items()),
                ("issued in all", b.issued_total),
                ("returned at a final exit", b.returned),
                ("still out (bound, not returned)", len(b.still_out)),
                ("written off (lost or damaged)", len(b.written_off)),
            ),
        ),
        Section(
            "Wristbands still out",
            ("band", "role", "group", "state", "last gate", "last seen"),
            tuple(
                (r.uid, r.role.value, r.group, r.state.value, r.last_gate, t(r.last_at))
                for r in b.still_out
            ),
        ),
        Section(
            "Wristbands written off",
            ("band", "stock role", "reason"),
            tuple((w.uid, w.role, w.reason) for w in b.written_off),
            note="bands revoked in the allowlist as lost or damaged",
        ),
        Section(
            "Children inside at the end of the day",
            (
                "band",
                "role",
                "group",
                "no adult of the group inside",
                "group flagged",
                "adults of the group",
                "last gate",
                "last seen",
                "guardian phone",
            ),
            tuple(
                (
                    r.uid,
                    r.role.value,
                    r.group,
                    "yes" if not r.adult_inside else "",
                    "yes" if r.children_unaccompanied else "",
                    "; ".join(
                        f"{a.uid} {a.state.value} ({a.last_gate} {t(a.last_at)})" for a in r.adults
                    ),
                    r.last_gate,
                    t(r.last_at),
                    _shown(r.guardian_phone, staff),
                )
                for r in report.children_inside
            ),
        ),
        Section(
            "Staff overrides",
            (
                "time",
                "gate",
                "staff badge",
                "staff",
                "code overridden",
                "band",
                "role",
                "group",
                "guardian phone",
            ),
            tuple(
                (
                    t(o.at),
                    o.gate,
                    o.staff,
                    o.staff_name,
                    o.overrode,
                    o.uid,
                    o.role,
                    o.group,
                    _shown(o.guardian_phone, staff),
                )
                for o in report.overrides
            ),
        ),
        Section(
            "Denials by code",
            ("code", "count", "gates"),
            tuple(
                (d.code, d.count, " ".join(f"{g}:{n}" for g, n in d.gates.items()))
                for d in report.denials
            ),
        ),
        Section(
            "Reconciliation findings",
            ("time", "kind", "gates", "band", "group", "detail"),
            tuple(
                (t(f.at), f.kind, " ".join(f.gates), f.uid or "", f.group or "", f.detail)
                for f in report.findings
            ),
        ),
    ]
    return out


def _hours_section(report: DailyReport) -> Section:
    rows: list[tuple[str | int, ...]] = []
    for h in report.hours:
        end = h.start + timedelta(hours=1)
        rows.append(
            (
                f"{h.start:%H:%M}-{end:%H:%M}",
                h.entries_adults,
                h.entries_children,
                h.entries,
                h.reentries_adults,
                h.reentries_children,
                h.exits_adults,
                h.exits_children,
                h.inside_at_end,
            )
        )
    if rows:
        totals = [sum(int(r[i]) for r in rows) for i in range(1, 8)]
        rows.append(("total", *totals, report.closing.inside))
    return Section(
        "Entries per hour",
        (
            "hour",
            "entries: adults",
            "entries: children",
            "entries: all",
            "re-entries: adults",
            "re-entries: children",
            "exits: adults",
            "exits: children",
            "inside at the end of the hour",
        ),
        tuple(rows),
        note="entries are first entries; re-entries come back from a temporary exit",
        total=bool(rows),
    )


def report_csv(report: DailyReport, *, staff: bool) -> str:
    """The report as one CSV file: each section a title row, a header row and its rows, then a
    blank row. Guardian phones masked unless `staff`."""
    out = io.StringIO()
    writer = csv.writer(out)
    for section in sections(report, staff=staff):
        writer.writerow([section.title] + ([section.note] if section.note else []))
        writer.writerow(section.header)
        for row in section.rows:
            writer.writerow([_cell(v) for v in row])
        if not section.rows:
            writer.writerow(["(none)"])
        writer.writerow([])
    return out.getvalue()


def _cell(value: str | int) -> str | int:
    """A text cell a spreadsheet would run as a formula is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


_CSS = """
body { font: 10.5pt/1.35 system-ui, "Segoe UI", "Noto Sans", "PingFang SC", sans-serif;
       color: #111; margin: 2em; }
h1 { font-size: 16pt; margin: 0 0 .2em; }
h2 { font-size: 12.5pt; margin: 1.4em 0 .3em; }
p.note { margin: 0 0 .3em; color: #444; font-size: 9.5pt; }
table { border-collapse: collapse; margin-bottom: .8em; }
th, td { border: 1px solid #888; padding: .15em .5em; text-align: left; vertical-align: top; }
th { background: #eee; }
td:first-child { white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; }
td.none { color: #666; font-style: italic; }
@media print {
  @page { size: A4; margin: 12mm; }
  body { margin: 0; font-size: 9pt; }
  h2 { break-after: avoid; }
  tr { break-inside: avoid; }
  thead { display: table-header-group; }
  th { background: none; }
}
"""


def report_html(report: DailyReport, *, staff: bool) -> str:
    """The report as a printable, self-contained HTML page (no external assets). Guardian
    phones masked unless `staff`."""
    e = html.escape
    title = f"Daily report {report.day.isoformat()}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(title)} ({e(report.timezone)})</h1>",
    ]
    for i, section in enumerate(sections(report, staff=staff)):
        if i:
            parts.append(f"<h2>{e(section.title)}</h2>")
        if section.note:
            parts.append(f'<p class="note">{e(section.note)}</p>')
        parts.append("<table>")
        parts.append("<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in section.header))
        parts.append("</tr></thead><tbody>")
        for n, row in enumerate(section.rows, 1):
            total = ' class="total"' if section.total and n == len(section.rows) else ""
            cells = "".join(
                f'<td class="n">{v}</td>' if isinstance(v, int) else f"<td>{e(v)}</td>" for v in row
            )
            parts.append(f"<tr{total}>{cells}</tr>")
        if not section.rows:
            parts.append(f'<tr><td class="none" colspan="{len(section.header)}">none</td></tr>')
        parts.append("</tbody></table>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


# --- helpers ------------------------------------------------------------------------------------


def _shown(phone: str, staff: bool) -> str:
    return phone if staff else mask_phone(phone)


def _hlc_ms(hlc: str) -> int:
    try:
        return Timestamp.parse(hlc).wall_ms
    except ValueError:
        return 0


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _iso(at: datetime | None, tz: ZoneInfo) -> str | None:
    return at.astimezone(tz).isoformat(timespec="seconds") if at else None
