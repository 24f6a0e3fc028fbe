"""The daily sheet of one venue, as head office reads it from its copy of the hub's entries, and
the chain's total: the hub's own daily report (`hub.views.reports.daily`) for entries,
re-entries, exits, overrides and the peak, and one pass of its own for temporary exits and
groups flagged unaccompanied (children left inside with no adult of their group).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gate.core import GroupFlagged, MemberMoved, MemberState
from gate.link.codec import CodecError, events_of
from hub.fold.clock_order import ClockOrder
from hub.store.events import EventStore
from hub.views.reports.daily import daily_report

SHEET_FIELDS = (
    "entries",
    "exits",
    "temporary_exits",
    "reentries",
    "overrides",
    "unaccompanied_flags",
    "peak",
)


def venue_sheet(store: EventStore, day: date, tz: ZoneInfo) -> dict[str, Any]:
    """`day`'s figures of the venue whose entries `store` holds (`day` in `tz`, the venue's)."""
    report = daily_report(store, day, tz)
    temporary, flagged = _temporary_and_flagged(store, day, tz)
    exits = sum(h.exits_adults + h.exits_children for h in report.hours)
    return {
        "entries": report.admitted,
        "exits": exits,
        "temporary_exits": temporary,
        "reentries": sum(h.reentries_adults + h.reentries_children for h in report.hours),
        "overrides": len(report.overrides),
        "unaccompanied_flags": flagged,
        "peak": report.peak,
        "peak_at": report.peak_at.isoformat() if report.peak_at else None,
        "journal_entries": report.entries,
        "timezone": str(tz),
    }


def chain_total(sheets: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The chain's sum of venues' sheets (the peak summed: each venue's own peak)."""
    total = dict.fromkeys((*SHEET_FIELDS, "journal_entries"), 0)
    for sheet in sheets:
        for name in total:
            total[name] += int(sheet.get(name) or 0)
    return total


def _temporary_and_flagged(store: EventStore, day: date, tz: ZoneInfo) -> tuple[int, int]:
    start = int(datetime.combine(day, time(0), tzinfo=tz).timestamp() * 1000)
    end = int(datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).timestamp() * 1000)
    temporary = flagged = 0
    order = ClockOrder(store)
    for entry in order.entries():
        ms = order.ms(entry)
        if ms >= end:
            break
        if ms < start:
            continue
        try:
            events = events_of(entry.body)
        except CodecError:
            continue
        for event in events:
            if isinstance(event, MemberMoved) and event.state == MemberState.TEMP_OUT:
                temporary += 1
            elif isinstance(event, GroupFlagged):
                flagged += 1
    return temporary, flagged
