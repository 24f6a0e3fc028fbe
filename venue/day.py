"""The demo's day: the visitors (`venue.visitors`) through a compressed day on the gates'
emulated readers (`venue.lanes.ReaderHands`), a broker outage, and checkpoints that set the hub's
headcount beside the simulator's own ground truth.

Two clocks, never mixed: the *venue's clock* runs the day from 09:00 to 18:00 in minutes
(`venue.clock.DayClock`; families follow their plans by it, and the demo's lines show it as
"venue 12:30"); *real time* is the wall clock the gates, the hub and its display keep, and the
progress lines show the real time elapsed as "real 2:05". The outage lasts `outage_s` real
seconds, whatever the venue's clock does meanwhile.

In the middle of the day the broker is cut off while the gates keep working; afterwards, and
again at closing, the venue pauses for a *checkpoint*: the pairing windows close, every gate's
journal reaches the hub, and the hub's headcount is set beside the ground truth.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from venue.clock import DayClock, day_rate
from venue.daemon import DemoError
from venue.hands import Stopped
from venue.lanes import ReaderHands
from venue.plan import OUTAGE_AT, PAIRING_WINDOW_S, Plan
from venue.processes import Venue
from venue.truth import Checkpoint, Count, differences
from venue.visitors import Visitors

PROGRESS_EVERY_S = 5.0
SETTLED_AFTER_OUTAGE_S = 5.0  # the gates have caught up with each other this soon after
MOST_WORKERS = 64


def real_elapsed(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"real {minutes}:{seconds:02d}"


@dataclass
class Simulation:
    venue: Venue
    plan: Plan
    outage_s: float
    speed: float
    say: Callable[[str], None]
    checkpoints: list[Checkpoint] = field(default_factory=list)
    outage: tuple[float, float] | None = None  # venue times

    def __post_init__(self) -> None:
        self.stopping = self.venue.stopping
        self.hands = ReaderHands(self.venue)
        self.clock = DayClock(day_rate(self.plan, self.speed))
        self.visitors = Visitors(
            self.plan,
            self.hands,
            self.clock,
            self.stopping,
            self.say,
            workers=min(len(self.plan.families), MOST_WORKERS),
            calm=self._calm,
        )
        self.truth = self.visitors.truth
        self.tally = self.visitors.tally
        self.broker_up = True
        self._up_since = time.monotonic()
        self._lock = threading.Lock()
        self._finished = threading.Event()  # the day is over: no more progress lines
        self._started = time.monotonic()

    # --- the day --------------------------------------------------------------------------------

    def run(self) -> None:
        """The whole day, on the calling thread; raises DemoError if any part of it failed."""
        self.hands.open()
        self._thread(self._progress, "progress")
        try:
            outage = self._thread(self._outage, "outage")
            self.visitors.start()
            while not self.visitors.finished.wait(0.2):
                self._raise_errors()
            self.visitors.stop()
            self._join(outage)
            self._raise_errors()
            self._closing()
            self.checkpoint("at closing")
            self._raise_errors()
        finally:
            self._finished.set()

    def _calm(self) -> bool:
        """The broker has been up a little while (the gates know of each other), no checkpoint."""
        return (
            self.broker_up
            and time.monotonic() - self._up_since >= SETTLED_AFTER_OUTAGE_S
            and not self.hands.pause.paused
        )

    def _thread(self, target: Callable[[], None], name: str) -> threading.Thread:
        def guarded() -> None:
            try:
                target()
            except Stopped:
                return  # the demo is stopping: not a failure
            except BaseException as exc:  # a failure anywhere stops the whole demo
                with self._lock:
                    self.visitors.errors.append(exc)
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
            errors = list(self.visitors.errors)
        if errors:
            error = errors[0]
            raise error if isinstance(error, DemoError) else DemoError(f"{error!r}") from error
        if self.stopping.is_set():
            raise Stopped

    def _closing(self) -> None:
        left = self.truth.inside_now()
        if left:
            self.say(
                f"{self.visitors.when()}  closing: {len(left)} people still inside are walked "
                "out by staff at X1"
            )
            self.visitors.escort("X1", left)

    # --- the broker outage, checkpoints, progress --------------------------------------------

    def _outage(self) -> None:
        while self.clock.now() < OUTAGE_AT and not self.visitors.finished.is_set():
            if self.stopping.wait(0.2):
                return
        if self.outage_s <= 0:
            self.checkpoint("at midday")
            return
        began = self.clock.now()
        self.say(
            f"{self.visitors.when()}  the broker goes down for {self.outage_s:g} s of real time: "
            "every gate goes on alone, from its own journal and the bands' tokens"
        )
        self.broker_up = False
        self.venue.broker_down()
        if self.stopping.wait(self.outage_s) or not self.venue.broker_back():
            return
        self.broker_up, self._up_since = True, time.monotonic()
        self.outage = (began, self.clock.now())
        self.say(f"{self.visitors.when()}  the broker is back: the gates send what they kept")
        self.checkpoint("after the outage")

    def checkpoint(self, name: str) -> None:
        """Pause the venue, let the windows close and the journals reach the hub, compare."""
        self.say(
            f"{self.visitors.when()}  checkpoint {name}: the venue pauses while every journal "
            "reaches the hub ..."
        )
        pause = self.hands.pause
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
            if self.hands.pause.paused:
                continue
            hub = self.venue.hub_headcount()
            if self._finished.is_set():
                return
            v = self.visitors
            self.say(
                f"[{real_elapsed(time.monotonic() - self._started)} | {v.when()}]  "
                f"families {v.done}/{len(self.plan.families)} done, {v.here} here  |  "
                f"inside {len(self.truth.inside_now())} (hub {hub['inside'] if hub else '?'})  |  "
                f"broker {'up' if self.broker_up else 'DOWN'}  |  "
                f"desk queue {self.hands.waiting('D1')}"
            )
