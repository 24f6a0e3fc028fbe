"""The daily report's headcount sheet (《每日人数统计表》): entries, re-entries and exits per local
hour, adults and children apart, who was inside when each hour ended, and the peak.

A grant nobody went through is undone by its passage entry: until then the people it let in
are not counted inside, so it never makes the peak; a move it made is taken off its hour.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gate.core import MemberMoved, MemberState, Role
from gate.core.hlc import MAX_COUNTER, Timestamp
from hub.fold.clocks import wall_ms_of
from hub.store.events import EventStore
from hub.store.records import StoredEntry
from hub.views.reports.formats import iso, utc_time

_HOUR_S = 3600


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

    def as_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        return {
            "start": iso(self.start, tz),
            "entries_adults": self.entries_adults,
            "entries_children": self.entries_children,
            "reentries_adults": self.reentries_adults,
            "reentries_children": self.reentries_children,
            "exits_adults": self.exits_adults,
            "exits_children": self.exits_children,
            "inside_at_end": self.inside_at_end,
        }


@dataclass
class HourCounts:
    entries: Counter[str] = field(default_factory=Counter)  # "adults" / "children"
    reentries: Counter[str] = field(default_factory=Counter)
    exits: Counter[str] = field(default_factory=Counter)
    inside_at_end: int | None = None


@dataclass
class HeadcountTally:
    """The headcount sheet counted as the day is folded, entry by entry."""

    tz: ZoneInfo
    inside_at_start: int | None = None
    peak: int = 0
    peak_ms: int | None = None
    undone: set[tuple[str, int]] = field(default_factory=set)  # grants nobody went through
    phantom: int = 0  # let in by such a grant, not undone yet
    phantom_of: dict[tuple[str, int], int] = field(default_factory=dict)
    hours: dict[int, HourCounts] = field(default_factory=lambda: defaultdict(HourCounts))
    counted: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # uid -> last move

    def begin(self, inside: int, start_ms: int) -> None:
        """The day begins: whoever is inside is counted from its first moment."""
        if self.inside_at_start is None:
            self.inside_at_start = self.peak = inside
            self.peak_ms = start_ms if self.peak else None

    def hour(self, ms: int) -> int:
        """The start of the local hour of `ms`, in seconds since the epoch."""
        local = utc_time(ms).astimezone(self.tz)
        return int(local.replace(minute=0, second=0, microsecond=0).timestamp())

    def moved(
        self, kind: str, event: MemberMoved, before: MemberState, role: Role, hour: int
    ) -> None:
        """A member moved by an entry of `kind` during `hour`, from `before`."""
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

    def folded(self, entry: StoredEntry, change: int, inside: int, ms: int, hour: int) -> None:
        """An entry of the day folded at `ms`: it changed the state's count inside by
        `change`, to `inside`."""
        self._phantoms(entry, change)
        inside -= self.phantom
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

    def hour_rows(self, tz: ZoneInfo) -> tuple[HourRow, ...]:
        if not self.hours:
            return ()
        rows, inside = [], self.inside_at_start or 0
        for start in range(min(self.hours), max(self.hours) + 1, _HOUR_S):
            c = self.hours.get(start) or HourCounts()
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


def undone_grants(store: EventStore, start_ms: int, end_ms: int) -> set[tuple[str, int]]:
    """The day's grants that a passage entry says nobody went through: (gate, seq)."""
    found = set()
    for entry in store.entries_in_hlc_order(
        after_hlc=str(Timestamp(max(start_ms - 1, 0), MAX_COUNTER))
    ):
        if wall_ms_of(entry.hlc) >= end_ms:
            break
        seq = entry.body.get("decision_seq")
        if entry.kind == "passage" and entry.body.get("passed") is False and isinstance(seq, int):
            found.add((entry.gate, seq))
    return found
