"""The simulated venue's compressed day: how fast it runs, and the clock every visitor reads.

Day times are seconds since midnight of the venue's day (`venue.plan.hhmm` prints them); the day
from OPENS to CLOSES runs in minutes, and stands still while the venue pauses for a checkpoint.
"""

from __future__ import annotations

import threading
import time

from venue.hands import Stopped
from venue.plan import CLOSES, LAST_ARRIVAL, OPENS, Plan

DESK_S_PER_BAND = 0.6  # a band on the desk's reader, written and read back (nfcpy's udp: link)
DESK_S_PER_TICKET = 0.15
EVENING = 2.0  # after the last arrival the day runs this much faster


def day_rate(plan: Plan, speed: float) -> float:
    """Day seconds per real second: at speed 1 families arrive about as fast as the one desk
    binds them (a band takes about DESK_S_PER_BAND), so the desk's queue stays short."""
    desk_s = sum(DESK_S_PER_TICKET + DESK_S_PER_BAND * len(f.bands) for f in plan.families)
    return (LAST_ARRIVAL - OPENS) / max(desk_s, 15.0) * speed


class DayClock:
    """The venue's compressed day: `rate` day seconds pass per real second, EVENING times as
    many once the last family has arrived (the desk has nothing left to do). It stands still
    while paused (a checkpoint), so nobody's plan moves on meanwhile."""

    def __init__(self, rate: float, starts: float = OPENS) -> None:
        self.rate = rate
        self.starts = starts
        self._evening_real = (LAST_ARRIVAL - starts) / rate  # real seconds until the evening
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._paused_at: float | None = None
        self._paused_for = 0.0

    def _real(self) -> float:
        """Real seconds the day has run, pauses left out."""
        with self._lock:
            return (self._paused_at or time.monotonic()) - self._t0 - self._paused_for

    def _real_at(self, day_time: float) -> float:
        if day_time <= LAST_ARRIVAL:
            return (day_time - self.starts) / self.rate
        return self._evening_real + (day_time - LAST_ARRIVAL) / (self.rate * EVENING)

    def now(self) -> float:
        """The day time; it stays at closing time once there."""
        real = self._real()
        if real <= self._evening_real:
            return self.starts + real * self.rate
        return min(LAST_ARRIVAL + (real - self._evening_real) * self.rate * EVENING, CLOSES)

    def pause(self) -> None:
        with self._lock:
            if self._paused_at is None:
                self._paused_at = time.monotonic()

    def resume(self) -> None:
        with self._lock:
            if self._paused_at is not None:
                self._paused_for += time.monotonic() - self._paused_at
                self._paused_at = None

    def wait_until(self, day_time: float, stopping: threading.Event) -> None:
        """Sleep until the day reaches `day_time`; `Stopped` if the demo stops meanwhile."""
        while (left := self._real_at(day_time) - self._real()) > 0:
            if stopping.wait(min(left, 0.25)):
                raise Stopped


class SteadyClock:
    """A clock for a venue whose families come as there is room (the chaos campaign): `rate`
    day seconds per real second from `starts`, without end."""

    def __init__(self, rate: float, starts: float = OPENS) -> None:
        self.rate = rate
        self.starts = starts
        self._t0 = time.monotonic()

    def now(self) -> float:
        return self.starts + (time.monotonic() - self._t0) * self.rate
