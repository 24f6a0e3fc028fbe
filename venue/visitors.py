"""The demo's day: families moved through a compressed day, a broker outage, and checkpoints
that set the hub's headcount beside the simulator's own ground truth.

Each family is a thread that follows its plan (`plan.Family`; `families.FamilyDay`): bound at
the desk (the ticket on the scanner, then each band on the reader, which writes the band's
token), in at its entry gate adults first, its story if it has one, out at its exit gate adults
first (a solo child with a staff badge: the guardian pickup). It queues at the gates' `Lane`s
like everybody else (`floor.Floor`).

`Truth` (`truth.py`) is the simulator's book of who is inside, kept only from the answers the
gates gave, never from the hub. In the middle of the day the broker is cut off for `outage_s`
seconds while the gates keep working; afterwards, and again at closing, the venue pauses for a
*checkpoint*: the pairing windows close, every gate's journal reaches the hub, and the hub's
headcount is set beside the ground truth.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from venue.daemon import DemoError
from venue.families import FamilyDay
from venue.floor import Floor
from venue.lanes import Stopped
from venue.plan import OUTAGE_AT, PAIRING_WINDOW_S, Family, Plan, hhmm
from venue.processes import Venue
from venue.truth import Checkpoint, Count, differences

PROGRESS_EVERY_S = 5.0


@dataclass
class Simulation:
    venue: Venue
    plan: Plan
    outage_s: float
    speed: float
    say: Callable[[str], None]
    checkpoints: list[Checkpoint] = field(default_factory=list)
    outage: tuple[float, float] | None = None  # day times
    arrived: int = 0
    done: int = 0

    def __post_init__(self) -> None:
        self.stopping = self.venue.stopping
        self.floor = Floor(self.venue, self.plan, self.speed)
        self.clock = self.floor.clock
        self.truth = self.floor.truth
        self._lock = threading.Lock()
        self._errors: list[BaseException] = []
        self._everyone_left = threading.Event()
        self._finished = threading.Event()  # the day is over: no more progress lines
        self._started = time.monotonic()

    # --- the day --------------------------------------------------------------------------------

    def run(self) -> None:
        """The whole day, on the calling thread; raises DemoError if any part of it failed."""
        self.floor.open()
        self._thread(self._progress, "progress")
        try:
            outage = self._thread(self._outage, "outage")
            families = []
            for family in self.plan.families:
                self._wait_day(family.arrive)
                families.append(self._thread(partial(self._visit, family), family.ticket))
                self.arrived += 1
            for thread in families:
                self._join(thread)
            self._everyone_left.set()
            self._join(outage)
            self._raise_errors()
            self._closing()
            self.checkpoint("at closing")
            self._raise_errors()
        finally:
            self._finished.set()

    def _thread(self, target: Callable[[], None], name: str) -> threading.Thread:
        def guarded() -> None:
            try:
                target()
            except Stopped:
                return  # the demo is stopping: not a failure
            except BaseException as exc:  # a failure anywhere stops the whole demo
                with self._lock:
                    self._errors.append(exc)
                self.stopping.set()

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        thread.start()
        return thread

    def _join(self, thread: threading.Thread) -> None:
        while thread.is_alive():
            thread.join(0.2)
            self._raise_errors()

    def _raise_errors(self) -> None:
        with self._lock:
            errors = list(self._errors)
        if errors:
            error = errors[0]
            raise error if isinstance(error, DemoError) else DemoError(f"{error!r}") from error
        if self.stopping.is_set():
            raise Stopped

    def _wait_day(self, day_time: float) -> None:
        try:
            self.clock.wait_until(day_time, self.stopping)
        except Stopped:
            self._raise_errors()
            raise

    def _visit(self, f: Family) -> None:
        try:
            FamilyDay(self.floor, f, self.say).run()
        finally:
            with self._lock:
                self.done += 1

    def _closing(self) -> None:
        left = self.truth.inside_now()
        if left:
            self.say(f"closing: {len(left)} people still inside are walked out by staff at X1")
            self.floor.escort("X1", left)

    # --- the broker outage, checkpoints, progress --------------------------------------------

    def _outage(self) -> None:
        while self.clock.now() < OUTAGE_AT and not self._everyone_left.is_set():
            if self.stopping.wait(0.2):
                return
        if self.outage_s <= 0:
            self.checkpoint("at midday")
            return
        began = self.clock.now()
        self.say(
            f"{hhmm(began)}  the broker goes down for {self.outage_s:g} s: "
            "every gate goes on alone, from its own journal and the bands' tokens"
        )
        self.floor.broker_went_down()
        self.venue.broker_down()
        if self.stopping.wait(self.outage_s) or not self.venue.broker_back():
            return
        self.floor.broker_came_back()
        self.outage = (began, self.clock.now())
        self.say(f"{hhmm(self.clock.now())}  the broker is back: the gates send what they kept")
        self.checkpoint("after the outage")

    def checkpoint(self, name: str) -> None:
        """Pause the venue, let the windows close and the journals reach the hub, compare."""
        self.say(
            f"{hhmm(self.clock.now())}  checkpoint {name}: the venue pauses while every journal "
            "reaches the hub ..."
        )
        pause = self.floor.pause
        pause.hold(self.stopping)
        self.clock.pause()
        try:
            if self.stopping.wait(PAIRING_WINDOW_S + 1):  # open pairing windows close
                raise Stopped
            settled = self.venue.wait_settled()
            hub = self.venue.hub_headcount()
            point = Checkpoint(
                name,
                self.clock.now(),
                self.truth.count(),
                Count.of_hub(hub) if hub is not None else None,
                settled,
            )
            with self._lock:
                self.checkpoints.append(point)
            self.say(point.line())
            if settled and not point.agrees:
                for line in differences(self.plan, self.truth, self.venue.lookup):
                    self.say(f"  differs: {line}")
        finally:
            self.clock.resume()
            pause.release()

    def _progress(self) -> None:
        while not self.stopping.wait(PROGRESS_EVERY_S):
            if self.floor.pause.paused:
                continue
            hub = self.venue.hub_headcount()
            with self._lock:
                done, arrived = self.done, self.arrived
            elapsed = int(time.monotonic() - self._started)
            if self._finished.is_set():
                return
            self.say(
                f"[{elapsed // 60:2d}:{elapsed % 60:02d}] {hhmm(self.clock.now())}  "
                f"families {done}/{len(self.plan.families)} done, {arrived - done} here  |  "
                f"inside {len(self.truth.inside_now())} (hub {hub['inside'] if hub else '?'})  |  "
                f"broker {'up' if self.floor.broker_up else 'DOWN'}  |  "
                f"desk queue {self.floor.lanes['D1'].waiting}"
            )
