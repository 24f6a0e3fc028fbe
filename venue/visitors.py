"""The visitors: families moved through a compressed day, and the simulator's own ground truth.

Each family is a thread that follows its plan (`plan.Family`): bound at the desk (the ticket on
the scanner, then each band on the reader, which writes the band's token), in at its entry gate
adults first, its story if it has one, out at its exit gate adults first (a solo child with a
staff badge: the guardian pickup). It queues at the gates' `Lane`s like everybody else.

`Truth` is the simulator's book of who is inside, kept only from the answers the gates gave,
never from the hub. In the middle of the day the broker is cut off for `outage_s` seconds while
the gates keep working; afterwards, and again at closing, the venue pauses for a *checkpoint*:
the pairing windows close, every gate's journal reaches the hub, and the hub's headcount is set
beside the ground truth.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Any

from venue.lanes import CHECKED, Answer, Bands, How, Lane, Pause, Stopped, Tap
from venue.plan import (
    CLOSES,
    LAST_ARRIVAL,
    MINUTE,
    OPENS,
    OUTAGE_AT,
    PAIRING_WINDOW_S,
    Family,
    Plan,
    Story,
    hhmm,
)
from venue.processes import DemoError, Venue

DESK_S_PER_BAND = 0.6  # a band on the desk's reader, written and read back (nfcpy's udp: link)
DESK_S_PER_TICKET = 0.15
WALK = 3 * MINUTE  # from the desk to the entry gate, in day time
SETTLED_AFTER_OUTAGE_S = 5.0  # the gates have caught up with each other this soon after
PROGRESS_EVERY_S = 5.0
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


# --- ground truth ---------------------------------------------------------------------------------


class Where(StrEnum):
    BOUND = "bound"
    INSIDE = "inside"
    OUT = "out"  # left for good, or for a while


INTO = {"OK_ENTRY", "OK_REENTRY", "OK_OVERRIDE"}  # at an entry gate
OUT_OF = {"OK_EXIT", "OK_TEMP_EXIT", "OK_OVERRIDE"}  # at an exit gate


@dataclass(frozen=True)
class Count:
    inside: int
    adults: int
    children: int
    unaccompanied: int

    @classmethod
    def of_hub(cls, headcount: dict[str, Any]) -> Count:
        return cls(
            int(headcount["inside"]),
            int(headcount["adults"]),
            int(headcount["children"]),
            int(headcount["unaccompanied_children"]),
        )

    def __str__(self) -> str:
        return (
            f"{self.inside} inside ({self.adults} adults, {self.children} children, "
            f"{self.unaccompanied} unaccompanied)"
        )


class Truth:
    """Who is where, from the gates' decisions alone, with the rules' one piece of hindsight:
    a group whose adults all went out while a child of theirs (not a solo child) stayed inside
    is flagged "children unaccompanied" until an adult is back in or no child is left."""

    def __init__(self, plan: Plan) -> None:
        self._lock = threading.Lock()
        self.group_of = {uid: f.ticket for f in plan.families for uid in f.bands}
        self.bands_of = {f.ticket: f.bands for f in plan.families}
        self.role: dict[str, str] = {}  # adult | child | solo_child, as the desk bound it
        self.where: dict[str, Where] = {}
        self.flagged: set[str] = set()

    def record(self, gate_role: str, a: Answer) -> None:
        """One answer of a gate of `gate_role` (entry, exit, desk, handheld)."""
        uid = a.tap.value
        group = self.group_of.get(uid)
        if a.tap.how is How.TICKET or group is None or not a.granted:
            return  # a ticket, the staff badge, a denial: nobody moved
        with self._lock:
            if a.code == "OK_BIND":
                self.role[uid], self.where[uid] = a.role or "child", Where.BOUND
            elif gate_role == "entry" and a.code in INTO:
                self.where[uid] = Where.INSIDE
            elif gate_role == "exit" and a.code in OUT_OF:
                self.where[uid] = Where.OUT
                adult = self.role.get(uid) == "adult"
                if adult and not self._adult_inside(group) and self._child_inside(group):
                    self.flagged.add(group)  # unless the children follow (then cleared below)
            if group in self.flagged and (
                self._adult_inside(group) or not self._child_inside(group)
            ):
                self.flagged.discard(group)

    def _inside(self, group: str, roles: tuple[str, ...]) -> bool:
        return any(
            self.where.get(uid) is Where.INSIDE and self.role.get(uid) in roles
            for uid in self.bands_of[group]
        )

    def _adult_inside(self, group: str) -> bool:
        return self._inside(group, ("adult",))

    def _child_inside(self, group: str) -> bool:
        return self._inside(group, ("child",))

    def bound(self, uid: str) -> bool:
        with self._lock:
            return uid in self.where

    def inside(self, uid: str) -> bool:
        with self._lock:
            return self.where.get(uid) is Where.INSIDE

    def inside_now(self) -> list[str]:
        with self._lock:
            return [uid for uid, where in self.where.items() if where is Where.INSIDE]

    def family(self, ticket: str) -> tuple[dict[str, bool], bool]:
        """Each band of a family: inside or not; and whether children of it are inside
        unaccompanied (the group flagged, a child inside)."""
        with self._lock:
            inside = {uid: self.where.get(uid) is Where.INSIDE for uid in self.bands_of[ticket]}
            return inside, ticket in self.flagged and self._child_inside(ticket)

    def count(self) -> Count:
        with self._lock:
            inside = [uid for uid, where in self.where.items() if where is Where.INSIDE]
            adults = sum(self.role[uid] == "adult" for uid in inside)
            alone = sum(
                self.role[uid] == "child" and self.group_of[uid] in self.flagged for uid in inside
            )
            return Count(len(inside), adults, len(inside) - adults, alone)


@dataclass
class Checkpoint:
    """The venue paused: the ground truth and the hub's headcount side by side."""

    name: str
    day_time: float
    truth: Count
    hub: Count | None  # None: the hub did not answer
    settled: bool  # every journal had reached the hub

    @property
    def agrees(self) -> bool:
        return self.settled and self.hub == self.truth

    def line(self) -> str:
        hub = str(self.hub) if self.hub is not None else "no answer"
        verdict = "hub == ground truth" if self.agrees else "hub != ground truth"
        if not self.settled:
            verdict += " (the journals had not all reached the hub)"
        return (
            f"checkpoint {self.name} ({hhmm(self.day_time)}): ground truth {self.truth}; "
            f"hub {hub}: {verdict}"
        )


# --- the simulation -----------------------------------------------------------------------------


@dataclass
class Simulation:
    venue: Venue
    plan: Plan
    outage_s: float
    speed: float
    say: Callable[[str], None]
    codes: Counter[str] = field(default_factory=Counter)
    surprises: Counter[str] = field(default_factory=Counter)  # "E2 DENY_..." not in the plan
    checks: list[tuple[str, str, bool]] = field(default_factory=list)  # uid, shown, as truth
    checkpoints: list[Checkpoint] = field(default_factory=list)
    outage: tuple[float, float] | None = None  # day times
    escorted: int = 0
    arrived: int = 0
    done: int = 0

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
        self._errors: list[BaseException] = []
        self._everyone_left = threading.Event()
        self._finished = threading.Event()  # the day is over: no more progress lines
        self._started = time.monotonic()

    # --- the day --------------------------------------------------------------------------------

    def run(self) -> None:
        """The whole day, on the calling thread; raises DemoError if any part of it failed."""
        for lane in self.lanes.values():
            lane.start()
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

    def _wait(self, day_time: float) -> None:
        self.clock.wait_until(day_time, self.stopping)

    def _when_connected(self) -> None:
        """Wait until the broker has been up a little while (the gates know of each other)."""
        while not (
            self.broker_up
            and time.monotonic() - self._up_since >= SETTLED_AFTER_OUTAGE_S
            and not self.pause.paused
        ):
            if self.stopping.wait(0.2):
                raise Stopped

    def _through(self, gate: str, taps: list[Tap], expected: set[str]) -> list[Answer]:
        """A job at `gate`; each answer goes into the ground truth and the tally as it comes."""
        role = self.venue.gates[gate].spec.role

        def seen(answer: Answer) -> None:
            self.truth.record(role, answer)
            with self._lock:
                self.codes[answer.code] += 1
                if answer.code not in expected:
                    self.surprises[f"{gate} {answer.code}"] += 1

        return self.lanes[gate].through(taps, seen)

    # --- one family ---------------------------------------------------------------------------

    def _visit(self, f: Family) -> None:
        try:
            bound = self._bind(f)
            if not bound:
                return
            self._wait(f.arrive + WALK)
            self._through(f.entry_gate, [Tap(uid) for uid in bound], {"OK_ENTRY"})
            if f.story is Story.TEMPORARY:
                self._temporary_exit(f)
            elif f.story is Story.LEAVES_FIRST:
                self._adult_leaves_first(f)
            elif f.story is Story.CHECKED:
                self._handheld_check(f)
            self._wait(f.leave)
            self._leave(f)
        finally:
            with self._lock:
                self.done += 1

    def _bind(self, f: Family) -> list[str]:
        """The ticket, then each band; a band whose token could not be written is tried again
        (the ticket first: meanwhile the desk may have opened another family's binding)."""
        ticket = Tap(f.ticket, How.TICKET)
        answers = self._through("D1", [ticket, *(Tap(uid) for uid in f.bands)], {"OK_BIND"})
        if not answers[0].granted:
            return []
        for _again in range(2):
            missing = [uid for uid in f.bands if not self.truth.bound(uid)]
            if not missing:
                break
            self._through("D1", [ticket, *(Tap(uid) for uid in missing)], {"OK_BIND"})
        return [uid for uid in f.bands if self.truth.bound(uid)]

    def _leave(self, f: Family) -> None:
        inside = [uid for uid in f.bands if self.truth.inside(uid)]
        if not inside:
            return
        if f.solo:  # denied (guardian pickup), the guardian is met, staff badge, out
            child = inside[0]
            staff = Tap(self.plan.staff_badge)
            taps = [Tap(child), staff, Tap(child)]
            self._through(f.exit_gate, taps, {"DENY_GUARDIAN_PICKUP", "OK_STAFF", "OK_OVERRIDE"})
        else:
            self._through(f.exit_gate, [Tap(uid) for uid in inside], {"OK_EXIT"})
        left_behind = [uid for uid in f.bands if self.truth.inside(uid)]
        if left_behind:
            self._escort(f.exit_gate, left_behind)

    def _escort(self, gate: str, uids: list[str]) -> None:
        """Staff walk people out together: the badge before each band (an override is
        journalled with the badge and the denial it set aside)."""
        badge = Tap(self.plan.staff_badge)
        taps = [tap for uid in uids for tap in (badge, Tap(uid))]
        self._through(gate, taps, {"OK_STAFF", "OK_OVERRIDE"})
        with self._lock:
            self.escorted += len(uids)

    def _temporary_exit(self, f: Family) -> None:
        self._wait(f.away_from)
        self._when_connected()
        adult = f.adults[-1]
        if not self.truth.inside(adult):
            return
        out = self._through(f.away_exit, [Tap(adult, How.TEMPORARY)], {"OK_TEMP_EXIT"})
        if out[0].code == "OK_TEMP_EXIT":
            self._wait(f.away_until)
            self._through(f.back_entry, [Tap(adult)], {"OK_REENTRY"})

    def _adult_leaves_first(self, f: Family) -> None:
        self._wait(f.away_from)
        adult = f.adults[0]
        if not self.truth.inside(adult):
            return
        out = self._through(f.away_exit, [Tap(adult)], {"OK_EXIT"})
        if not out[0].granted:
            return
        left_at = time.monotonic()
        self.say(
            f"{hhmm(self.clock.now())}  {f.ticket}: the adult leaves by {f.away_exit} alone, "
            f"{_children(len(f.children))} stay inside: flagged when the pairing window closes"
        )
        self._wait(f.away_until)
        while time.monotonic() < left_at + PAIRING_WINDOW_S + 4:  # seen flagged for a while
            if self.stopping.wait(0.2):
                raise Stopped
        self._when_connected()
        self._through(f.back_entry, [Tap(adult)], {"OK_REENTRY"})
        self.say(f"{hhmm(self.clock.now())}  {f.ticket}: the adult is back with the children")

    def _handheld_check(self, f: Family) -> None:
        self._wait(f.check_at)
        self._when_connected()
        if not self.truth.inside(f.checked):
            return
        answer = self._through("H1", [Tap(f.checked)], {CHECKED})[0]
        if answer.check is not None:
            shown = str(answer.check.get("state", "unknown"))
            with self._lock:
                self.checks.append((f.checked, shown, shown == "inside"))

    def _closing(self) -> None:
        left = self.truth.inside_now()
        if left:
            self.say(f"closing: {len(left)} people still inside are walked out by staff at X1")
            self._escort("X1", left)

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
        self.broker_up = False
        self.venue.broker_down()
        if self.stopping.wait(self.outage_s) or not self.venue.broker_back():
            return
        self.broker_up, self._up_since = True, time.monotonic()
        self.outage = (began, self.clock.now())
        self.say(f"{hhmm(self.clock.now())}  the broker is back: the gates send what they kept")
        self.checkpoint("after the outage")

    def checkpoint(self, name: str) -> None:
        """Pause the venue, let the windows close and the journals reach the hub, compare."""
        self.say(
            f"{hhmm(self.clock.now())}  checkpoint {name}: the venue pauses while every journal "
            "reaches the hub ..."
        )
        self.pause.hold(self.stopping)
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
                for line in self._differences():
                    self.say(f"  differs: {line}")
        finally:
            self.clock.resume()
            self.pause.release()

    def _differences(self, most: int = 12) -> list[str]:
        """The families on which the hub and the ground truth disagree, band by band."""
        found = []
        for f in self.plan.families:
            truth, alone = self.truth.family(f.ticket)
            hub = self.venue.lookup(f.ticket) or {}
            members = list(hub.get("members", ()))
            states = {m["uid"]: m["state"] for m in members}
            for uid, inside in truth.items():
                if inside != (states.get(uid) == "inside"):
                    where = "inside" if inside else "not inside"
                    found.append(
                        f"{f.ticket} {uid}: {where} by the ground truth, "
                        f"{states.get(uid, 'unknown')} at the hub"
                    )
            hub_alone = bool(hub.get("children_unaccompanied")) and any(
                m["role"] == "child" and m["state"] == "inside" for m in members
            )
            if alone != hub_alone:
                said, not_said = ("the ground truth", "the hub")[:: 1 if alone else -1]
                found.append(f"{f.ticket}: children unaccompanied by {said}, not by {not_said}")
            if len(found) >= most:
                break
        return found[:most]

    def _progress(self) -> None:
        while not self.stopping.wait(PROGRESS_EVERY_S):
            if self.pause.paused:
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
                f"broker {'up' if self.broker_up else 'DOWN'}  |  "
                f"desk queue {self.lanes['D1'].waiting}"
            )


def _children(n: int) -> str:
    return "1 child" if n == 1 else f"{n} children"
