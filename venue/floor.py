"""The venue's floor as the demo's visitors meet it: a lane at every gate, the day's clock, the
ground truth and the tally of what the gates answered."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from venue.clock import DayClock, day_rate
from venue.lanes import Answer, Bands, Lane, Pause, Stopped, Tap
from venue.plan import Plan
from venue.processes import Venue
from venue.truth import Truth

SETTLED_AFTER_OUTAGE_S = 5.0  # the gates have caught up with each other this soon after


@dataclass
class Floor:
    venue: Venue
    plan: Plan
    speed: float
    codes: Counter[str] = field(default_factory=Counter)
    surprises: Counter[str] = field(default_factory=Counter)  # "E2 DENY_..." not in the plan
    checks: list[tuple[str, str, bool]] = field(default_factory=list)  # uid, shown, as truth
    escorted: int = 0

    def __post_init__(self) -> None:
        self.stopping = self.venue.stopping
        self.pause = Pause()
        bands = Bands()
        self.lanes = {
            gid: Lane(gate, bands, self.pause, self.stopping)
            for gid, gate in self.venue.gates.items()
        }
        self.truth = Truth(self.plan)
        self.clock = DayClock(day_rate(self.plan, self.speed))
        self.broker_up = True
        self._up_since = time.monotonic()
        self._lock = threading.Lock()

    def open(self) -> None:
        """Every lane starts serving."""
        for lane in self.lanes.values():
            lane.start()

    def broker_went_down(self) -> None:
        self.broker_up = False

    def broker_came_back(self) -> None:
        self.broker_up, self._up_since = True, time.monotonic()

    def wait(self, day_time: float) -> None:
        """Until the day reaches `day_time`; `Stopped` if the demo stops meanwhile."""
        self.clock.wait_until(day_time, self.stopping)

    def when_connected(self) -> None:
        """Wait until the broker has been up a little while (the gates know of each other)."""
        while not (
            self.broker_up
            and time.monotonic() - self._up_since >= SETTLED_AFTER_OUTAGE_S
            and not self.pause.paused
        ):
            if self.stopping.wait(0.2):
                raise Stopped

    def through(self, gate: str, taps: list[Tap], expected: set[str]) -> list[Answer]:
        """A job at `gate`; each answer goes into the ground truth and the tally as it comes."""
        role = self.venue.gates[gate].spec.role

        def seen(answer: Answer) -> None:
            self.truth.record(role, answer)
            with self._lock:
                self.codes[answer.code] += 1
                if answer.code not in expected:
                    self.surprises[f"{gate} {answer.code}"] += 1

        return self.lanes[gate].through(taps, seen)

    def escort(self, gate: str, uids: list[str]) -> None:
        """Staff walk people out together: the badge before each band (an override is
        journalled with the badge and the denial it set aside)."""
        badge = Tap(self.plan.staff_badge)
        taps = [tap for uid in uids for tap in (badge, Tap(uid))]
        self.through(gate, taps, {"OK_STAFF", "OK_OVERRIDE"})
        with self._lock:
            self.escorted += len(uids)

    def checked(self, uid: str, shown: str) -> None:
        """A handheld showed the band `uid` as `shown`."""
        with self._lock:
            self.checks.append((uid, shown, shown == "inside"))
