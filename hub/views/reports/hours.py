"""The daily report's headcount by hour: the table (entries, re-entries and exits per local
hour) and the points of its chart (who was inside when the day's first hour began and when
each hour ended), shared by every rendering and the display's curve of today."""

from __future__ import annotations

from datetime import datetime, timedelta

from gate.i18n import N_, words
from hub.views.reports.daily import DailyReport
from hub.views.reports.table import Cell, Section

HOURS_TITLE = N_("Headcount by hour")


def hours_section(report: DailyReport, language: str = "en") -> Section:
    _ = words(language)
    rows: list[tuple[Cell, ...]] = []
    for h in report.hours:
        rows.append(
            (
                h.start.time(),
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
        totals = [sum(_number(r[i]) for r in rows) for i in range(1, 8)]
        rows.append((_("total"), *totals, report.closing.inside))
    return Section(
        _(HOURS_TITLE),
        (
            _("hour from"),
            _("entries: adults"),
            _("entries: children"),
            _("entries: all"),
            _("re-entries: adults"),
            _("re-entries: children"),
            _("exits: adults"),
            _("exits: children"),
            _("inside at the end of the hour"),
        ),
        tuple(rows),
        note=_("entries are first entries; re-entries come back from a temporary exit"),
        total=bool(rows),
    )


def curve_points(report: DailyReport) -> list[tuple[datetime, int]]:
    """(moment, people inside): when the first hour began, then at each hour's end."""
    if not report.hours:
        return []
    first = report.hours[0].start
    points = [(first, report.inside_at_start)]
    points += [(h.start + timedelta(hours=1), h.inside_at_end) for h in report.hours]
    return points


def _number(cell: Cell) -> int:
    return cell if isinstance(cell, int) else 0
