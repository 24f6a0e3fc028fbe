"""The visitors: the plan's families moving through the venue, the demo's and the chaos
campaign's alike; only their `Hands` (how a scan is made) differ.

Each family follows its plan (`venue.family.FamilyDay`), which yields a `Wait` between moves. A
few worker threads serve whichever family's wait is over, the earliest in the day first, so
many families are in the venue at once and each gate serves one family at a time. Families
arrive at their plan's time, or (with `room`) as soon as fewer than `room` families are here,
their day moved to start then and each stay as long as planned however late it got in. Every
answer goes into the ground truth (`venue.truth.Truth`), the tally of answers, and what the
family believes about itself.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol

from venue.as_planned import Scanned
from venue.configs import GATES
from venue.family import Belief, FamilyDay, Wait
from venue.hands import Answer, Hands, Stopped, Tap
from venue.plan import Family, Plan, hhmm
from venue.truth import Truth

ROLES = {g.id: g.role for g in GATES}
Expected = set[str] | list[set[str]]  # the codes expected of every tap of a job, or of each


class Clock(Protocol):
    def now(self) -> float: ...


@dataclass
class Tally:
    """What the gates answered: codes, answers the plan did not expect, handheld checks."""

    codes: Counter[str] = field(default_factory=Counter)
    surprises: Counter[str] = field(default_factory=Counter)  # "E2 DENY_..." not in the plan
    checks: list[tuple[str, str, bool]] = field(default_factory=list)  # uid, shown, as truth
    escorted: int = 0
    scans: list[Scanned] = field(default_factory=list)  # every scan, in order, as expected
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, a: Answer) -> None:
        with self._lock:
            self.codes[a.code] += 1
            code = a.code if a.answered else None
            self.scans.append(Scanned(a.gate, a.tap.value, code, a.tap.expect, time.monotonic()))
            if a.tap.expect and a.code not in a.tap.expect:
                self.surprises[f"{a.gate} {a.code}"] += 1

    def checked(self, uid: str, shown: str) -> None:
        """A handheld showed the band `uid` as `shown`."""
        with self._lock:
            self.checks.append((uid, shown, shown == "inside"))

    def walked_out(self, people: int) -> None:
        with self._lock:
            self.escorted += people


@dataclass
class Visit:
    number: int
    family: Family
    steps: Iterator[Wait]  # the family's day
    wait: Wait


class Visitors:
    """The plan's families through the venue, on `workers` threads; `stopping` ends everything
    at once (the venue is stopping), `stop()` lets the moves under way finish."""

    def __init__(
        self,
        plan: Plan,
        hands: Hands,
        clock: Clock,
        stopping: threading.Event,
        say: Callable[[str], None],
        workers: int,
        room: int | None = None,
        calm: Callable[[], bool] = lambda: True,
    ) -> None:
        self.plan, self.hands, self.clock, self.stopping = plan, hands, clock, stopping
        self._say = say
        self.workers, self.room, self.calm = workers, room, calm
        self.truth = Truth(plan)
        self.tally = Tally()
        self._solo = {uid for f in plan.families if f.solo for uid in f.children}
        self.arrived = self.done = 0
        self.finished_families: set[str] = set()  # tickets of the families whose day is over
        self.errors: list[BaseException] = []
        self.finished = threading.Event()  # every family has left
        self._cond = threading.Condition()
        self._waiting: list[Visit] = []
        self._busy = 0
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- what the families do -------------------------------------------------------------------

    def say(self, line: str) -> None:
        self._say(line)

    def checked(self, uid: str, shown: str) -> None:
        self.tally.checked(uid, shown)

    def now(self) -> float:
        """The venue's clock: its day time."""
        return self.clock.now()

    def when(self) -> str:
        """The venue's clock, as the demo's lines show it."""
        return f"venue {hhmm(self.clock.now())}"

    def through(
        self, gate: str, taps: list[Tap], expected: Expected, belief: Belief | None = None
    ) -> list[Answer]:
        """A job at `gate`; `expected`: the codes the plan expects of every tap, or of each
        (a list), recorded with the tap. Each answer goes into the ground truth, the tally
        and `belief` as it comes (before the gate serves anyone else)."""
        role = ROLES[gate]
        each = expected if isinstance(expected, list) else [expected] * len(taps)
        taps = [replace(t, expect=frozenset(e)) for t, e in zip(taps, each, strict=True)]

        def seen(answer: Answer) -> None:
            self.truth.record(role, answer)
            self.tally.answer(answer)
            if belief is not None:
                belief.heard(role, answer)

        return self.hands.through(gate, taps, seen)

    def escort(self, gate: str, uids: list[str], belief: Belief | None = None) -> None:
        """Staff walk people out together: the badge before each band (an override is
        journalled with the badge and the denial it set aside)."""
        badge = Tap(self.plan.staff_badge)
        taps = [tap for uid in uids for tap in (badge, Tap(uid))]
        expected: list[set[str]] = []
        for uid in uids:  # a test scan of a badge arms no override: the rules say no again
            if self.hands.overrides:
                expected += [{"OK_STAFF"}, {"OK_OVERRIDE"}]
            else:  # a test scan is not a badge read from a tag
                alone = "DENY_GUARDIAN_PICKUP" if uid in self._solo else "OK_EXIT"
                expected += [{"DENY_BAD_TOKEN"}, {alone}]
        answers = self.through(gate, taps, expected, belief)
        self.tally.walked_out(sum(a.code == "OK_OVERRIDE" for a in answers))

    # --- running --------------------------------------------------------------------------------

    def start(self) -> Visitors:
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"visitors-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """No new move starts; the moves under way finish (their scans are answered or not)."""
        self._closing.set()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()

    @property
    def here(self) -> int:
        with self._cond:
            return self.arrived - self.done

    def _work(self) -> None:
        while not (self._closing.is_set() or self.stopping.is_set()):
            visit = self._take()
            if visit is None:
                continue
            going = True
            try:
                visit.wait = next(visit.steps)
            except StopIteration:
                going = False
            except Stopped:
                return
            except BaseException as exc:  # a failure anywhere stops the whole venue
                with self._cond:
                    self.errors.append(exc)
                self.stopping.set()
                return
            with self._cond:
                self._busy -= 1
                if going:
                    self._waiting.append(visit)
                else:
                    self.done += 1
                    self.finished_families.add(visit.family.ticket)
                self._cond.notify_all()

    def _take(self) -> Visit | None:
        with self._cond:
            self._arrive()
            now, real = self.clock.now(), time.monotonic()
            calm: bool | None = None
            ready = None
            for visit in self._waiting:
                wait = visit.wait
                if wait.day > now or wait.real > real:
                    continue
                if wait.calm:
                    calm = self.calm() if calm is None else calm
                    if not calm:
                        continue
                if ready is None or (wait.day, visit.number) < (ready.wait.day, ready.number):
                    ready = visit
            if ready is not None:
                self._waiting.remove(ready)
                self._busy += 1
                return ready
            if self.arrived == len(self.plan.families) and not self._waiting and not self._busy:
                self.finished.set()
            self._cond.wait(0.05)
            return None

    def _arrive(self) -> None:
        families = self.plan.families
        now = self.clock.now()
        while self.arrived < len(families):
            family = families[self.arrived]
            if self.room is None:
                if family.arrive > now:
                    return
                shift = 0.0
            else:
                if len(self._waiting) + self._busy >= self.room:
                    return
                shift = now - family.arrive
            self.arrived += 1
            steps = FamilyDay(family, self, shift, keeps_stay=self.room is not None).day()
            self._waiting.append(Visit(self.arrived, family, steps, Wait(day=now)))
