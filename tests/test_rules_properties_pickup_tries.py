"""Wrong pickup codes over random days (`gate.core.pickup_tries`), on
`tests/test_rules_properties_pickup.py`'s days: besides its codes, walk-ins and lists, bursts
of wrong codes at the exits, after a solo child's band or with no child shown, and the right
code after them. Whatever happens, after every scan:

- no pickup code opens a child's way out while the policy's number of wrong codes for that
  child (counted from the day's own events, at any exit gate) fall within its period, nor, with
  no child waiting at the lane, while as many fell there;
- every wrong code is counted once, for the child waiting at the lane or for the lane;
- the child-safety property of both days still holds, and replaying the day's events rebuilds
  the same state, the counts included.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rules_properties import POLICY, WINDOW, Move
from test_rules_properties_pickup import (
    CODES,
    PickupDay,
    full_snapshot,
    mixed,
    morning,
    pickup_scan,
)

from gate.core import (
    Code,
    Decision,
    Event,
    Intent,
    Kind,
    Mode,
    PickupAsked,
    PickupCodeRefused,
    Scan,
    State,
    advance,
    fold,
)

SOLO_BAND = "04A10009"  # the solo child of T-SOLO (P-SOLO its code), inside after the morning
PERIOD = timedelta(seconds=POLICY.pickup_code_lockout_s)


@st.composite
def bursts(draw: st.DrawFn) -> Move:
    """At an exit: the solo child's band (or not), wrong codes, then maybe its right code and
    its band again."""
    gate = draw(st.sampled_from(["X1", "X2"]))
    values: list[str] = [SOLO_BAND] if draw(st.booleans()) else []
    values += ["P-NONE"] * draw(st.integers(1, 4))
    if draw(st.booleans()):
        values += ["P-SOLO", SOLO_BAND]
    gaps = [timedelta(seconds=draw(st.integers(0, 700)))]
    gaps += [timedelta(seconds=draw(st.integers(0, 20))) for _ in values[1:]]
    return [(gap, _scan(gate, v)) for gap, v in zip(gaps, values, strict=True)]


def _scan(gate: str, value: str) -> Scan:
    if value in CODES:
        return pickup_scan(gate, Mode.EXIT, value)
    return Scan(gate, Mode.EXIT, Kind.NFC, value, Intent.FINAL)


days = st.lists(st.one_of(bursts(), bursts(), mixed), max_size=12).map(
    lambda moves: [s for m in moves for s in m]
)


class TriesDay(PickupDay):
    def decide(self, scan: Scan) -> tuple[Decision, list[Event]]:
        decision, events = super().decide(scan)
        if scan.pickup:
            self.check_tries(scan, decision, events)
        return decision, events

    def check_tries(self, scan: Scan, decision: Decision, events: list[Event]) -> None:
        child = self.waiting(scan.gate)
        if decision.code is Code.OK_PICKUP:
            group = decision.group or ""
            assert self.wrong(lambda e: e.group == group) < POLICY.pickup_code_tries, (
                f"a code opened {group}'s way out after too many wrong ones"
            )
            if child is None:
                at_lane = self.wrong(lambda e: e.group == "" and e.gate == scan.gate)
                assert at_lane < POLICY.pickup_code_tries, "a lane took codes after too many"
        if decision.code is Code.DENY_PICKUP_MISMATCH and scan.mode is Mode.EXIT:
            assert events == [PickupCodeRefused(scan.gate, self.now, child or "")]
        else:
            assert not any(isinstance(e, PickupCodeRefused) for e in events)

    def waiting(self, gate: str) -> str | None:
        """The solo child waiting at `gate` for its code, from the day's own events."""
        asked = [e for e in self.events if isinstance(e, PickupAsked) and e.gate == gate]
        last = asked[-1] if asked else None
        return last.group if last and last.at <= self.now <= last.at + WINDOW else None

    def wrong(self, which: object) -> int:
        since: datetime = self.now - PERIOD
        return sum(
            1
            for e in self.events
            if isinstance(e, PickupCodeRefused) and since < e.at <= self.now and which(e)  # type: ignore[operator]
        )


def run_day(moves: Move) -> TriesDay:
    day = TriesDay()
    for jump, scan in morning() + moves:
        day.scan(jump, scan)
    return day


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days)
def test_no_code_opens_a_way_out_after_too_many_wrong_ones(moves: Move) -> None:
    day = run_day(moves)
    replayed = State(allowlist=day.state.allowlist)
    for event in day.events:
        fold(replayed, event)
    assert full_snapshot(replayed) == full_snapshot(day.state)


def test_random_days_of_wrong_codes_reach_the_lock_and_its_end() -> None:
    """Guard against a generator that never locks a child, a lane, or lets one out after."""
    seen: set[Code] = set()
    out_after_lock = 0

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(days)
    def run(moves: Move) -> None:
        nonlocal out_after_lock
        day = TriesDay()
        locked = False
        for jump, scan in morning() + moves:
            day.now += jump
            day.events += advance(day.state, day.now, POLICY)
            decision, events = day.decide(scan)
            seen.add(decision.code)
            locked = locked or decision.code is Code.DENY_PICKUP_LOCKED
            out_after_lock += locked and decision.code is Code.OK_PICKUP
            for event in events:
                fold(day.state, event)
            day.events += events

    run()
    assert {Code.DENY_PICKUP_LOCKED, Code.DENY_PICKUP_MISMATCH, Code.OK_PICKUP} <= seen
    assert out_after_lock > 0, "no code ever worked again once its period was over"
