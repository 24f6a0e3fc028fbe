"""Today's headcount curve for the wall display: how many were inside when the day's first
hour began and at the end of each hour since, the hour under way ending now — folded from the
hub's store as the daily report is (`hub.views.reports.daily`), and kept a minute, so a room of
displays asking costs one fold a minute.

    {"day": "2026-07-18", "timezone": "Asia/Shanghai", "peak": 708,
     "points": [{"at": "2026-07-18T09:00:00+08:00", "inside": 0}, ...]}

Counts only, no person: open on the venue LAN like /api/headcount.
"""

from __future__ import annotations

import threading
import time as clock
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from hub.views.reports.daily import DailyReport
from hub.views.reports.hours import curve_points

KEEP_S = 60.0


def curve(report: DailyReport, now: datetime | None = None) -> dict[str, Any]:
    """The report's headcount by hour as points; none later than `now` (the hour under way)."""
    tz = report.tz
    points = curve_points(report)
    if now is not None and points and points[-1][0] > now:
        points[-1] = (max(now, points[-2][0] if len(points) > 1 else now), points[-1][1])
    return {
        "day": report.day.isoformat(),
        "timezone": report.timezone,
        "peak": report.peak,
        "points": [{"at": at.astimezone(tz).isoformat(), "inside": n} for at, n in points],
    }


class TodayCurve:
    """The curve of today, computed at most once a `keep_s`, whoever asks."""

    def __init__(
        self,
        report: Callable[[], DailyReport],
        today: Callable[[], date],
        keep_s: float = KEEP_S,
    ) -> None:
        self._report, self._today, self._keep_s = report, today, keep_s
        self._lock = threading.Lock()
        self._made: tuple[float, date, dict[str, Any]] | None = None

    def __call__(self) -> dict[str, Any]:
        with self._lock:
            day, made = self._today(), self._made
            if made and clock.monotonic() - made[0] < self._keep_s and made[1] == day:
                return made[2]
            data = curve(self._report(), datetime.now(UTC))
            self._made = (clock.monotonic(), day, data)
            return data
