"""One family's day, as its plan says (`plan.Family`): bound at the desk, in at its entry gate
adults first, its story if it has one (`plan.Story`), out at its exit gate adults first (a solo
child: the guardian pickup, a staff badge).

`FamilyDay.day()` makes the family's moves and yields a `Wait` between them: until the venue's
clock reaches a time of its plan, until some real seconds have passed, until the venue is calm.
The visitors (`venue.visitors.Visitors`) decide who moves next. What the family does depends on
what it believes about itself (`Belief`), kept from the gates' answers: a denial sets it right
(a scan whose answer was lost may have let a band in or out), a move with no answer is tried
again a few times, then the family gives up on it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from venue.hands import CHECKED, Answer, Hands, How, Tap
from venue.plan import MINUTE, PAIRING_WINDOW_S, Family, Plan, Story

WALK = 3 * MINUTE  # from the desk to the entry gate, in day time
TRIES = 3  # a move the gates did not answer (or not as hoped) is tried this often
AGAIN_S = 2.5  # real seconds before it is tried again (a killed gate is back by then)


@dataclass(frozen=True)
class Wait:
    """Until the venue's clock reaches `day`, `time.monotonic()` reaches `real`, and (if `calm`)
    the venue is calm (the demo: the broker has been up a while, no checkpoint under way)."""

    day: float = 0.0
    real: float = 0.0
    calm: bool = False


class Where(StrEnum):
    BOUND = "bound"  # bound, not inside
    INSIDE = "inside"
    AWAY = "away"  # out for a while
    GONE = "gone"  # left for good


@dataclass
class Belief:
    """Where the family believes each of its bands is, from the answers it got."""

    where: dict[str, Where] = field(default_factory=dict)

    def heard(self, gate_role: str, a: Answer) -> None:
        uid, code = a.tap.value, a.code
        if code in ("OK_BIND", "DENY_ALREADY_BOUND") and uid not in self.where:
            self.where[uid] = Where.BOUND
        elif code in ("OK_ENTRY", "OK_REENTRY", "OK_COLLECT", "DENY_ALREADY_INSIDE") or (
            gate_role == "entry" and code == "OK_OVERRIDE"
        ):
            self.where[uid] = Where.INSIDE
        elif code == "OK_TEMP_EXIT":
            self.where[uid] = Where.AWAY
        elif code in ("OK_EXIT", "DENY_ALREADY_EXITED") or (
            gate_role == "exit" and code == "OK_OVERRIDE"
        ):
            self.where[uid] = Where.GONE
        elif gate_role == "exit" and code in ("DENY_NOT_INSIDE", "DENY_UNKNOWN"):
            self.where[uid] = Where.BOUND

    def bound(self, uid: str) -> bool:
        return uid in self.where

    def inside(self, uid: str) -> bool:
        return self.where.get(uid) is Where.INSIDE

    def outside(self, uid: str) -> bool:
        """Bound, and not inside nor gone: may go in."""
        return self.where.get(uid) in (Where.BOUND, Where.AWAY)


class Floor(Protocol):
    """What a family meets in the venue (`venue.visitors.Visitors`)."""

    plan: Plan
    hands: Hands

    def say(self, line: str) -> None: ...

    def when(self) -> str: ...

    def now(self) -> float: ...

    def through(
        self,
        gate: str,
        taps: list[Tap],
        expected: set[str] | list[set[str]],
        belief: Belief | None = None,
    ) -> list[Answer]: ...

    def escort(self, gate: str, uids: list[str], belief: Belief | None = None) -> None: ...

    def checked(self, uid: str, shown: str) -> None: ...


class FamilyDay:
    """One family through its day; `shift`: day seconds its plan's times are moved by (a
    family let in when there is room, rather than at its plan's time). With `keeps_stay`, a
    family that got in late (a queue, a gate down) moves the rest of its plan by as much: it
    stays as long as its plan says, so no exit follows an entry sooner than the plan allows."""

    def __init__(
        self, family: Family, visitors: Floor, shift: float = 0.0, keeps_stay: bool = False
    ) -> None:
        self.f = family
        self.v = visitors
        self.shift = shift
        self.keeps_stay = keeps_stay
        self.belief = Belief()

    def _in_at(self, planned: float) -> None:
        """The family got in now, having planned to at `planned` (a time of its plan)."""
        if self.keeps_stay:
            self.shift = max(self.shift, self.v.now() - planned)

    def at(self, day_time: float, calm: bool = False, real: float = 0.0) -> Wait:
        return Wait(day_time + self.shift, real, calm)

    def through(
        self, gate: str, taps: list[Tap], expected: set[str] | list[set[str]]
    ) -> list[Answer]:
        return self.v.through(gate, taps, expected, self.belief)

    def day(self) -> Iterator[Wait]:
        f = self.f
        yield from self._bind()
        if not any(self.belief.bound(uid) for uid in f.bands):
            return
        yield self.at(f.arrive + WALK, real=time.monotonic() + self.v.hands.after_binding_s)
        yield from self._enter(f.entry_gate, {"OK_ENTRY"})
        self._in_at(f.arrive + WALK)
        if f.story is Story.TEMPORARY:
            yield from self._temporary_exit()
        elif f.story is Story.LEAVES_FIRST:
            yield from self._adult_leaves_first()
        elif f.story is Story.CHECKED:
            yield from self._handheld_check()
        elif f.story is Story.CHILD_ALONE:
            yield from self._child_tries_alone()
        yield self.at(f.leave)
        yield from self._leave()

    def _again(self) -> Wait:
        return Wait(real=time.monotonic() + AGAIN_S)

    def _bind(self) -> Iterator[Wait]:
        """The ticket, then each band; a band the desk did not bind is tried again (the ticket
        first: meanwhile the desk may have opened another family's binding)."""
        ticket = Tap(self.f.ticket, How.TICKET)
        for attempt in range(TRIES):
            missing = [uid for uid in self.f.bands if not self.belief.bound(uid)]
            if not missing:
                return
            if attempt:
                yield self._again()
            opened, *_ = self.through("D1", [ticket, *(Tap(uid) for uid in missing)], {"OK_BIND"})
            if opened.code == "DENY_BINDING":  # its bands were all bound (that answer was lost)
                for uid in missing:
                    self.belief.where.setdefault(uid, Where.BOUND)
            elif opened.answered and not opened.granted:
                return  # the desk refused the ticket: the family goes home

    def _enter(self, gate: str, expected: set[str], who: list[str] | None = None) -> Iterator[Wait]:
        for attempt in range(TRIES):
            outside = [uid for uid in (who or self.f.bands) if self.belief.outside(uid)]
            if not outside:
                return
            if attempt:
                yield self._again()
            self.through(gate, [Tap(uid) for uid in outside], expected)

    def _leave(self) -> Iterator[Wait]:
        f = self.f
        for attempt in range(TRIES):
            inside = [uid for uid in f.bands if self.belief.inside(uid)]
            if not inside:
                return
            if attempt:
                yield self._again()
            if f.solo:  # denied (guardian pickup), the guardian is met, staff badge, out
                child, staff = Tap(inside[0]), Tap(self.v.plan.staff_badge)
                # a test scan of a badge (the chaos campaign's hands) is no badge read from a
                # tag: refused, it arms no override, and the child is denied again
                if self.v.hands.overrides:
                    expected = [{"DENY_GUARDIAN_PICKUP"}, {"OK_STAFF"}, {"OK_OVERRIDE"}]
                else:
                    pickup = {"DENY_GUARDIAN_PICKUP"}
                    expected = [pickup, {"DENY_BAD_TOKEN"}, pickup]
                answers = self.through(f.exit_gate, [child, staff, child], expected)
            else:
                answers = self.through(f.exit_gate, [Tap(uid) for uid in inside], {"OK_EXIT"})
            if all(a.answered for a in answers):
                break
        left_behind = [uid for uid in f.bands if self.belief.inside(uid)]
        if left_behind:
            self.v.escort(f.exit_gate, left_behind, self.belief)

    def _temporary_exit(self) -> Iterator[Wait]:
        f = self.f
        yield self.at(f.away_from, calm=True)
        adult = f.adults[-1]
        if not self.belief.inside(adult):
            return
        out = self.through(f.away_exit, [Tap(adult, How.TEMPORARY)], {"OK_TEMP_EXIT"})
        if out[0].code == "OK_TEMP_EXIT":
            yield self.at(f.away_until)
            yield from self._enter(f.back_entry, {"OK_REENTRY"}, [adult])
            self._in_at(f.away_until)

    def _adult_leaves_first(self) -> Iterator[Wait]:
        f, say = self.f, self.v.say
        yield self.at(f.away_from)
        adult = f.adults[0]
        if not self.belief.inside(adult):
            return
        out = self.through(f.away_exit, [Tap(adult)], {"OK_EXIT"})
        if not out[0].granted:
            return
        say(
            f"{self.v.when()}  {f.ticket}: the adult leaves by {f.away_exit} alone, "
            f"{_children(len(f.children))} stay inside: flagged when the pairing window closes"
        )
        seen_flagged = time.monotonic() + PAIRING_WINDOW_S + 4  # flagged for a while
        yield self.at(f.away_until, calm=True, real=seen_flagged)
        back = self.through(f.back_entry, [Tap(adult)], {"OK_REENTRY"})
        self._in_at(f.away_until)
        if back[0].granted:
            say(f"{self.v.when()}  {f.ticket}: the adult is back with the children")

    def _handheld_check(self) -> Iterator[Wait]:
        f = self.f
        yield self.at(f.check_at, calm=True)
        if not self.belief.inside(f.checked):
            return
        answer = self.through("H1", [Tap(f.checked)], {CHECKED})[0]
        if answer.check is not None:
            self.v.checked(f.checked, str(answer.check.get("state", "unknown")))

    def _child_tries_alone(self) -> Iterator[Wait]:
        f = self.f
        yield self.at(f.away_from, calm=True)
        children = [uid for uid in f.children if self.belief.inside(uid)]
        if children:
            self.through(f.away_exit, [Tap(children[0])], {"DENY_CHILD_NEEDS_ADULT"})


def _children(n: int) -> str:
    return "1 child" if n == 1 else f"{n} children"
