"""The daily report as tables: each section a title, a header row and rows, in print order,
as every rendering (`hub.views.reports.render`, `.workbook`, `.csvdir`) lays them out.

Cells keep their kind: numbers stay numbers, a moment is a `datetime` in the venue's zone, an
hour of the day a `time`; each rendering writes them its own way (a spreadsheet's real times,
text in CSV and HTML). Every code and role is shown by its label (`hub.views.labels`), and the
titles and headers are in the report's language; the manuals' two sheets keep their names,
Chinese with the English beside (`Words.both`).
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from gate.i18n import N_, words
from hub.views.labels import humanize, label
from hub.views.reports import technician_scans
from hub.views.reports.corrections import correction_section
from hub.views.reports.daily import DailyReport
from hub.views.reports.desk_actions import desk_actions_section
from hub.views.reports.deskday import deskday_sections, stock_totals
from hub.views.reports.families import families_section
from hub.views.reports.formats import shown_phone
from hub.views.reports.hours import hours_section
from hub.views.reports.outages import outage_sections
from hub.views.reports.sessions import sessions_section
from hub.views.reports.table import Section
from hub.views.reports.violations import HEADER, NOTE, TITLE, violation_rows
from hub.views.sweep import MemberRow

HEADCOUNT_SHEET = N_("Daily headcount")  # 《每日人数统计表》
MATERIALS_SHEET = N_("Daily materials")  # 《每日物资领用记录表》


def sections(report: DailyReport, *, staff: bool, language: str = "en") -> list[Section]:
    """The report's tables, in print order; guardian phones masked unless `staff`."""
    _ = words(language)
    tz = report.tz

    def t(at: datetime | None) -> datetime | None:
        return at.astimezone(tz) if at else None

    def yes(flag: bool) -> str:
        return _("yes") if flag else ""

    c, b = report.closing, report.bands
    exits = sum(h.exits_adults + h.exits_children for h in report.hours)
    reentries = sum(h.reentries_adults + h.reentries_children for h in report.hours)
    item, value, count = _("item"), _("value"), _("count")
    return [
        Section(
            _("Daily report"),
            (item, value),
            (
                (_("venue day"), report.day.isoformat()),
                (_("timezone"), report.timezone),
                (_("journal entries"), report.entries),
                (_("gates"), " ".join(report.gates)),
                (_("first entry"), t(report.first_at)),
                (_("last entry"), t(report.last_at)),
                (_("guardian phones"), _("shown (staff)") if staff else _("masked")),
            ),
        ),
        Section(
            _.both(HEADCOUNT_SHEET),
            (item, value),
            (
                (_("inside when the day began"), report.inside_at_start),
                (_("admitted adults (first entries)"), report.admitted_adults),
                (_("admitted children (first entries)"), report.admitted_children),
                (_("admitted in all"), report.admitted),
                (_("re-entries"), reentries),
                (_("exits"), exits),
                (_("peak inside"), report.peak),
                (_("peak reached at"), t(report.peak_at)),
                (_("inside at the end of the day"), c.inside),
                (_("adults inside at the end"), c.adults),
                (_("children inside at the end"), c.children),
                (_("children inside with no adult of their group"), c.unaccompanied_children),
                (_("groups inside at the end"), c.groups_inside),
            ),
        ),
        Section(
            _(TITLE),
            tuple(_(h) for h in HEADER),
            violation_rows(report.findings, t, language),
            note=_(NOTE),
        ),
        hours_section(report, language),
        Section(
            _.both(MATERIALS_SHEET),
            (item, count),
            (
                *(
                    (_("issued: {role} bands", role=label(role, language)), n)
                    for role, n in b.issued.items()
                ),
                (_("issued in all"), b.issued_total),
                (_("returned at a final exit"), b.returned),
                (_("handed back at a desk after a temporary exit"), len(b.handed_back)),
                (_("returned in all"), b.returned_total),
                (_("still out (bound, not returned)"), len(b.still_out)),
                (_("written off (lost or damaged)"), len(b.written_off)),
                *stock_totals(b, _),
            ),
        ),
        Section(
            _("Wristbands still out"),
            (_("band"), _("role"), _("group"), _("state"), _("last gate"), _("last seen")),
            tuple(
                (
                    r.uid,
                    label(r.role, language),
                    r.group,
                    label(r.state, language),
                    r.last_gate,
                    t(r.last_at),
                )
                for r in b.still_out
            ),
        ),
        Section(
            _.both(N_("Wristbands written off")),
            (_("band"), _("stock role"), _("reason")),
            tuple(
                (w.uid, label(w.role, language) if w.role else "", w.reason) for w in b.written_off
            ),
            note=_("bands revoked in the allowlist as lost or damaged"),
        ),
        Section(
            _("Children inside at closing"),
            (
                _("band"),
                _("role"),
                _("group"),
                _("no adult of the group inside"),
                _("group flagged"),
                _("adults of the group"),
                _("last gate"),
                _("last seen"),
                _("guardian phone"),
            ),
            tuple(
                (
                    r.uid,
                    label(r.role, language),
                    r.group,
                    yes(not r.adult_inside),
                    yes(r.children_unaccompanied),
                    "; ".join(_adult(a, tz, language) for a in r.adults),
                    r.last_gate,
                    t(r.last_at),
                    shown_phone(r.guardian_phone, staff),
                )
                for r in report.children_inside
            ),
        ),
        Section(
            _("Staff overrides"),
            (
                _("time"),
                _("gate"),
                _("staff badge"),
                _("staff"),
                _("refusal set aside"),
                _("band"),
                _("role"),
                _("group"),
                _("guardian phone"),
            ),
            tuple(
                (
                    t(o.at),
                    o.gate,
                    o.staff,
                    o.staff_name,
                    label(o.overrode, language) if o.overrode else "",
                    o.uid,
                    label(o.role, language) if o.role else "",
                    o.group,
                    shown_phone(o.guardian_phone, staff),
                )
                for o in report.overrides
            ),
        ),
        correction_section(report.corrections, t, _, lambda code: label(code, language)),
        Section(
            _("Refusals by reason"),
            (_("reason"), _("count"), _("gates")),
            tuple(
                (
                    label(d.code, language),
                    d.count,
                    " ".join(f"{g}:{n}" for g, n in d.gates.items()),
                )
                for d in report.denials
            ),
        ),
        Section(
            _(technician_scans.TITLE),
            tuple(_(heading) for heading in technician_scans.HEADER),
            technician_scans.technician_rows(
                report.test_scans, t, lambda code: label(code, language)
            ),
            note=_(technician_scans.NOTE),
        ),
        Section(
            _("Reconciliation findings"),
            (_("time"), _("finding"), _("gates"), _("band"), _("group"), _("detail")),
            tuple(
                (
                    t(f.at),
                    label(f.kind, language),
                    " ".join(f.gates),
                    f.uid or "",
                    f.group or "",
                    humanize(f.detail, language),
                )
                for f in report.findings
            ),
        ),
        *([sessions_section(report.sessions, _)] if report.sessions else []),
        *([families_section(report.incomplete, _)] if report.incomplete else []),
        *(
            [desk_actions_section(report.desk_actions, t, lambda c: label(c, language), _)]
            if report.desk_actions
            else []
        ),
        *outage_sections(list(report.incidents), list(report.drills), t, _, now_ms()),
        *deskday_sections(report.family_incidents, b, t, _, staff=staff, now_ms=now_ms()),
    ]


def now_ms() -> int:
    return int(time.time() * 1000)


def _adult(a: MemberRow, tz: ZoneInfo, language: str) -> str:
    """One adult of a child's group, in a cell: "A-1 Inside the venue (E1 10:02)"."""
    when = f" {a.last_at.astimezone(tz):%H:%M}" if a.last_at else ""
    return f"{a.uid} {label(a.state, language)} ({a.last_gate}{when})"
