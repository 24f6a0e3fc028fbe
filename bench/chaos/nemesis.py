"""The faults, on a schedule: a shuffled list of every fault asked for, one every `interval_s`
or so. Kills are instant (the supervisor starts the daemon again); the other faults last a few
seconds and end by themselves, while the next ones go on, so faults overlap as they do in life.

    gate_kill       SIGKILL of a random gate that is serving (any moment: mid-scan, mid-commit,
                    mid-publish); one still starting after its last kill is left to start and
                    the kill comes later
    hub_kill        SIGKILL of the hub, started again up to 2 s later
    broker_outage   Mosquitto stopped for 1-5 s, then started on the same port and data
    partition       one gate's relay to the broker cut for 2-8 s
    clock_jump      E2's wall clock set back 1-3 hours (a Pi booted with an old clock), or
                    ahead 1-4 s (a bad NTP step), then put right 3-10 s later
    disk_full       X2's state disk filled for 2-6 s
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from bench.chaos.proxy import Relays
from venue.daemon import DemoError
from venue.faults import Supervisor
from venue.processes import Venue

FAULTS = ("gate_kill", "hub_kill", "broker_outage", "partition", "clock_jump", "disk_full")
LINKED_GATES = ("D1", "E1", "E2", "X1", "X2")
CLOCK_GATE = "E2"  # runs on a wall clock the nemesis moves
DISK_GATE = "X2"  # keeps its state on a small disk the nemesis fills


@dataclass
class Span:
    """One fault injected: what, on which daemon (None: the venue's broker), from when to
    when (time.monotonic(); a kill lasts an instant, a lasting fault until it ended)."""

    fault: str
    target: str | None
    start: float
    end: float | None = None

    def covers(self, at: float, shadow_s: float) -> bool:
        """Under way at `at`, or ended less than `shadow_s` before it."""
        return self.start <= at and (self.end is None or at <= self.end + shadow_s)


@dataclass(frozen=True)
class Campaign:
    gate_kill: int
    hub_kill: int
    broker_outage: int
    partition: int
    clock_jump: int
    disk_full: int
    interval_s: float

    def asked(self) -> Counter[str]:
        return Counter({f: getattr(self, f) for f in FAULTS})


class Nemesis:
    def __init__(
        self,
        venue: Venue,
        supervisor: Supervisor,
        relays: Relays,
        campaign: Campaign,
        seed: int,
        say: Callable[[str], None],
    ) -> None:
        self.venue = venue
        self.supervisor = supervisor
        self.relays = relays
        self.campaign = campaign
        self.rng = random.Random(seed)
        self.say = say
        self.injected: Counter[str] = Counter()
        self.skipped: dict[str, str] = {}  # fault: why it could not be injected here
        self._ends: dict[str, threading.Timer] = {}  # lasting faults under way: their end
        self.spans: list[Span] = []  # every fault injected, for the checker's explanations
        self._open: dict[str, Span] = {}  # lasting faults under way: their span
        self._lock = threading.Lock()
        if venue.fittings.disk is None:
            self.skipped["disk_full"] = venue.fittings.disk_refused or "no small disk"

    def run(self, deadline: float) -> None:
        schedule = [f for f, n in self.campaign.asked().items() for _ in range(n)]
        schedule = [f for f in schedule if f not in self.skipped]
        self.rng.shuffle(schedule)
        done = 0
        while schedule and time.monotonic() < deadline:
            time.sleep(self.campaign.interval_s * self.rng.uniform(0.5, 1.5))
            fault = schedule.pop(0)
            if fault in self._ends:  # the same fault still lasts: later
                schedule.insert(min(len(schedule), 3), fault)
                continue
            if getattr(self, fault)() is False:  # a kill of a daemon that was down: later
                schedule.insert(min(len(schedule), 3), fault)
                continue
            self.injected[fault] += 1
            done += 1
            if done % 50 == 0:
                self.say(f"  {done} faults injected, {len(schedule)} to go")

    def heal(self) -> None:
        """End every lasting fault now."""
        with self._lock:
            ends = list(self._ends.items())
        for _, timer in ends:
            timer.cancel()
        for fault, _ in ends:
            self._end(fault)

    # --- the faults ---------------------------------------------------------------------------

    def gate_kill(self) -> bool:
        return self._kill("gate_kill", self.rng.choice(list(self.venue.gates)))

    def hub_kill(self) -> bool:
        return self._kill("hub_kill", "hub", hold_s=self.rng.uniform(0, 2))

    def _kill(self, fault: str, name: str, hold_s: float = 0.0) -> bool:
        """Kill `name` if it is serving (its control socket answers): a daemon still starting
        after the last kill is left to start, or on a loaded machine the venue would spend the
        campaign starting up and serve nobody. False: no kill made (the nemesis tries later)."""
        try:
            if not self.venue.daemons()[name].answers():
                return False
        except DemoError:  # it died meanwhile: the supervisor judges that
            return False
        at = time.monotonic()
        if not self.supervisor.kill(name, hold_s=hold_s):
            return False
        self.spans.append(Span(fault, name, at, time.monotonic() + hold_s))
        return True

    def broker_outage(self) -> None:
        self.venue.broker_down()
        self._lasting("broker_outage", self.rng.uniform(1, 5))

    def partition(self) -> None:
        gate = self.rng.choice(LINKED_GATES)
        self.relays[gate].cut()
        self._lasting("partition", self.rng.uniform(2, 8), gate)

    def clock_jump(self) -> None:
        if self.rng.random() < 0.5:
            self.venue.fittings.shift_clock(-self.rng.uniform(3600, 3 * 3600))
        else:
            self.venue.fittings.shift_clock(self.rng.uniform(1, 4))
        self._lasting("clock_jump", self.rng.uniform(3, 10), CLOCK_GATE)

    def disk_full(self) -> None:
        assert self.venue.fittings.disk is not None
        self.venue.fittings.disk.fill()
        self._lasting("disk_full", self.rng.uniform(2, 6), DISK_GATE)

    # --- lasting faults -------------------------------------------------------------------------

    def _lasting(self, fault: str, seconds: float, target: str | None = None) -> None:
        with self._lock:
            timer = threading.Timer(seconds, self._end, args=(fault,))
            self._ends[fault] = timer
            self._open[fault] = span = Span(fault, target, time.monotonic())
            self.spans.append(span)
        timer.start()

    def _end(self, fault: str) -> None:
        with self._lock:
            self._ends.pop(fault, None)
            span = self._open.pop(fault, None)
        if fault == "broker_outage":
            self.venue.broker_back()
        elif fault == "partition":
            for relay in self.relays.values():
                relay.heal()
        elif fault == "clock_jump":
            self.venue.fittings.shift_clock(0)
        elif fault == "disk_full" and self.venue.fittings.disk is not None:
            self.venue.fittings.disk.free()
        if span is not None:
            span.end = time.monotonic()  # healed
