"""How a report cell reads as text (CSV, HTML, the terminal), and how wide it is on screen."""

from __future__ import annotations

import unicodedata
from datetime import datetime, time

from hub.views.reports.table import Cell


def text(value: Cell) -> str:
    """A moment as "2026-07-18 10:02:03" in the venue's zone, an hour as "10:00"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value)


def csv_safe(value: Cell) -> str | int:
    """A cell for CSV: a text a spreadsheet would run as a formula is written as text."""
    if isinstance(value, int):
        return value
    shown = text(value)
    if shown[:1] in ("=", "+", "-", "@"):
        return "'" + shown
    return shown


def width(shown: str) -> int:
    """Columns `shown` takes on a screen: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in shown)
