"""What one family of the demo does with its day, on its own thread: bound at the desk, in at
its entry gate adults first, its story if it has one (`plan.Story`), out at its exit gate."""

from __future__ import annotations

import time
from collections.abc import Callable

from venue.floor import Floor
from venue.lanes import CHECKED, How, Stopped, Tap
from venue.plan import MINUTE, PAIRING_WINDOW_S, Family, Story, hhmm

WALK = 3 * MINUTE  # from the desk to the entry gate, in day time


class FamilyDay:
    """One family through its day; `run` returns once it has left (or could not be bound)."""

    def __init__(self, floor: Floor, family: Family, say: Callable[[str], None]) -> None:
        self.floor = floor
        self.f = family
        self.say = say
        self.truth = floor.truth

    def run(self) -> None:
        f, floor = self.f, self.floor
        bound = self._bind()
        if not bound:
            return
        floor.wait(f.arrive + WALK)
        floor.through(f.entry_gate, [Tap(uid) for uid in bound], {"OK_ENTRY"})
        if f.story is Story.TEMPORARY:
            self._temporary_exit()
        elif f.story is Story.LEAVES_FIRST:
            self._adult_leaves_first()
        elif f.story is Story.CHECKED:
            self._handheld_check()
        floor.wait(f.leave)
        self._leave()

    def _bind(self) -> list[str]:
        """The ticket, then each band; a band whose token could not be written is tried again
        (the ticket first: meanwhile the desk may have opened another family's binding)."""
        f = self.f
        ticket = Tap(f.ticket, How.TICKET)
        answers = self.floor.through("D1", [ticket, *(Tap(uid) for uid in f.bands)], {"OK_BIND"})
        if not answers[0].granted:
            return []
        for _again in range(2):
            missing = [uid for uid in f.bands if not self.truth.bound(uid)]
            if not missing:
                break
            self.floor.through("D1", [ticket, *(Tap(uid) for uid in missing)], {"OK_BIND"})
        return [uid for uid in f.bands if self.truth.bound(uid)]

    def _leave(self) -> None:
        f = self.f
        inside = [uid for uid in f.bands if self.truth.inside(uid)]
        if not inside:
            return
        if f.solo:  # denied (guardian pickup), the guardian is met, staff badge, out
            child = inside[0]
            staff = Tap(self.floor.plan.staff_badge)
            taps = [Tap(child), staff, Tap(child)]
            expected = {"DENY_GUARDIAN_PICKUP", "OK_STAFF", "OK_OVERRIDE"}
            self.floor.through(f.exit_gate, taps, expected)
        else:
            self.floor.through(f.exit_gate, [Tap(uid) for uid in inside], {"OK_EXIT"})
        left_behind = [uid for uid in f.bands if self.truth.inside(uid)]
        if left_behind:
            self.floor.escort(f.exit_gate, left_behind)

    def _temporary_exit(self) -> None:
        f, floor = self.f, self.floor
        floor.wait(f.away_from)
        floor.when_connected()
        adult = f.adults[-1]
        if not self.truth.inside(adult):
            return
        out = floor.through(f.away_exit, [Tap(adult, How.TEMPORARY)], {"OK_TEMP_EXIT"})
        if out[0].code == "OK_TEMP_EXIT":
            floor.wait(f.away_until)
            floor.through(f.back_entry, [Tap(adult)], {"OK_REENTRY"})

    def _adult_leaves_first(self) -> None:
        f, floor = self.f, self.floor
        floor.wait(f.away_from)
        adult = f.adults[0]
        if not self.truth.inside(adult):
            return
        out = floor.through(f.away_exit, [Tap(adult)], {"OK_EXIT"})
        if not out[0].granted:
            return
        left_at = time.monotonic()
        self.say(
            f"{hhmm(floor.clock.now())}  {f.ticket}: the adult leaves by {f.away_exit} alone, "
            f"{_children(len(f.children))} stay inside: flagged when the pairing window closes"
        )
        floor.wait(f.away_until)
        while time.monotonic() < left_at + PAIRING_WINDOW_S + 4:  # seen flagged for a while
            if floor.stopping.wait(0.2):
                raise Stopped
        floor.when_connected()
        floor.through(f.back_entry, [Tap(adult)], {"OK_REENTRY"})
        self.say(f"{hhmm(floor.clock.now())}  {f.ticket}: the adult is back with the children")

    def _handheld_check(self) -> None:
        f, floor = self.f, self.floor
        floor.wait(f.check_at)
        floor.when_connected()
        if not self.truth.inside(f.checked):
            return
        answer = floor.through("H1", [Tap(f.checked)], {CHECKED})[0]
        if answer.check is not None:
            floor.checked(f.checked, str(answer.check.get("state", "unknown")))


def _children(n: int) -> str:
    return "1 child" if n == 1 else f"{n} children"
