"""One table of the daily report, as every rendering takes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

Cell = str | int | datetime | time | None  # a moment in the venue's zone; an hour of the day


@dataclass(frozen=True, slots=True)
class Section:
    """One table of the report: a title, a header row and rows (numbers stay numbers)."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""
    total: bool = False  # the last row sums the others
