"""The daily report as tables: each section a title, a header row and rows, in print order,
as the CSV and HTML renderings (`hub.views.reports.render`) lay them out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.views.reports import technician_scans
from hub.views.reports.daily import DailyReport
from hub.views.reports.formats import shown_phone
from hub.views.reports.violations import HEADER, NOTE, TITLE, violation_rows


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
                    shown_phone(r.guardian_phone, staff),
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
                    shown_phone(o.guardian_phone, staff),
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
            technician_scans.TITLE,
            technician_scans.HEADER,
            technician_scans.technician_rows(report.test_scans, t),
            note=technician_scans.NOTE,
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
