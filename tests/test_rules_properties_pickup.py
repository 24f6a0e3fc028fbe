"""The child-safety property over random days with walk-in children, pickup codes and
not-authorised lists (`gate.core.guardians`), on `tests/test_rules_properties.py`'s days.

Besides the random families of those days: staff badge the desk and register walk-in children
(their bands bound next at the desk, as solo children), set and clear a not-authorised list,
and guardians show pickup codes at any gate: the solo child's, a walk-in's, the T-FAM2
family's ("all"), and one that matches nobody. Whatever happens, after every scan:

- a solo child reaches `exited` only through a pickup window of its own group opened by its
  code at that gate within the window, or by an override recorded as forced;
- a child (solo or not) of a group with a not-authorised list is never let out by an override;
- any other child leaves only with an adult, or a pickup code, of its (joined) family granted
  out at that gate within the window; and every property of the random days still holds.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rules_properties import (
    FAMILIES,
    GATE_MODE,
    GATES,
    POLICY,
    STAFF,
    START,
    WINDOW,
    Day,
    Move,
    credential,
    decide_or_join,
    desk_morning,
    jumps,
    snapshot,
)

from gate.core import (
    Code,
    Decision,
    Event,
    Intent,
    Kind,
    MemberMoved,
    MemberState,
    Mode,
    PickupCodeIssued,
    Role,
    Scan,
    State,
    advance,
    fold,
    register_child,
    set_not_authorised,
    staff_at_desk,
)
from gate.core.guardians import BARRED, next_walkin_group
from gate.core.rules import PICKUP_PREFIX

WALKIN_BANDS = ["04C2000A", "04C2000B"]  # children's stock, added for these days
CODES = {"P-SOLO": "T-SOLO", "P-FAM2": "T-FAM2", "P-WALK1": "", "P-WALK2": "", "P-NONE": ""}
ACTIONS = ["WALKIN", "NOTAUTH", "NOTAUTH2", "CLEAR", STAFF, *WALKIN_BANDS]
DESK_DAYS = [
    [STAFF, "NOTAUTH"],
    [STAFF, "NOTAUTH2"],
    [STAFF, "NOTAUTH2"],
    [STAFF, "CLEAR"],
    [STAFF, "WALKIN", WALKIN_BANDS[0]],
    [STAFF, "WALKIN", WALKIN_BANDS[1]],
]
OVERRIDES = [
    [STAFF, *WALKIN_BANDS],
    [STAFF, "04A10009"],
    [STAFF, "04A10006"],
]  # a badge, then a child alone
RIGHT = [("P-SOLO", ["04A10009"]), ("P-WALK1", WALKIN_BANDS[:1]), ("P-FAM2", FAMILIES[1])]


def digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def walkin_group(n: int) -> str:
    return f"W-D1-{POLICY.session_day(START):%Y%m%d}-{n}"


def pickup_scan(gate: str, mode: Mode, value: str) -> Scan:
    return Scan(gate, mode, Kind.BARCODE, PICKUP_PREFIX + digest(value), pickup=True)


@st.composite
def pickup_moves(draw: st.DrawFn) -> Move:
    """A guardian's code at a gate, then the family's or walk-in's people scanned there; or
    staff at the desk with a walk-in, a list, or a walk-in's band."""
    gate = draw(st.sampled_from(GATES))
    mode = draw(st.sampled_from([GATE_MODE[gate]] * 8 + list(Mode)))
    if draw(st.integers(0, 3)) == 0:
        values = draw(st.permutations(ACTIONS))[: draw(st.integers(1, 3))]
        if draw(st.booleans()):  # staff badge the desk, then act
            values = draw(st.sampled_from(DESK_DAYS))
        gate, mode = "D1", Mode.BIND
    else:
        gate = draw(st.sampled_from(["X1", "X2", "X1", "X2", gate]))  # codes: mostly at exits
        mode = draw(st.sampled_from([GATE_MODE[gate]] * 8 + list(Mode)))
        people = draw(st.sampled_from([*FAMILIES[:5], WALKIN_BANDS, *OVERRIDES]))
        shown = draw(st.sampled_from([None, *CODES]))  # sometimes no code at all
        values = [*([shown] if shown else []), *draw(st.permutations(people))]
        values = values[: draw(st.integers(1, len(values)))]
        if people in OVERRIDES and draw(st.booleans()):  # the badge, then the child
            values = people
        if draw(st.integers(0, 2)) == 0:  # a guardian with the right code, then the child
            shown, people = draw(st.sampled_from(RIGHT))
            gate, mode, values = draw(st.sampled_from(["X1", "X2"])), Mode.EXIT, [shown, *people]
    gaps = [draw(jumps), *(timedelta(seconds=draw(st.integers(0, 8))) for _ in values[1:])]
    intent = draw(st.sampled_from([Intent.FINAL] * 3 + [Intent.TEMPORARY]))
    return [(gap, scan_of(gate, mode, v, intent)) for gap, v in zip(gaps, values, strict=True)]


def scan_of(gate: str, mode: Mode, value: str, intent: Intent) -> Scan:
    if value in CODES:
        return pickup_scan(gate, mode, value)
    if value in ("WALKIN", "NOTAUTH", "NOTAUTH2", "CLEAR"):
        return Scan(gate, mode, Kind.BARCODE, value)
    return credential(gate, mode, value, intent)


mixed = st.lists(st.one_of(pickup_moves(), pickup_moves(), st.just([])), max_size=25).map(
    lambda moves: [s for m in moves for s in m]
)


class PickupDay(Day):
    def __init__(self) -> None:
        super().__init__()
        self.pickups: list[tuple[str, str, datetime]] = []  # gate, group, at of OK_PICKUP
        self.state.allowlist.bands.update(dict.fromkeys(WALKIN_BANDS, Role.CHILD))
        for code, group in CODES.items():  # codes given at the desk this morning
            if group:
                self.events.append(PickupCodeIssued("D1", START, group, digest(code)))
                fold(self.state, self.events[-1])

    def decide(self, scan: Scan) -> tuple[Decision, list[Event]]:
        state, now = self.state, self.now
        staff = staff_at_desk(state, "D1", now, POLICY)
        if scan.value == "WALKIN":
            n = next_walkin_group(state, "D1", now, POLICY).rsplit("-", 1)[1]
            decision, events = register_child(
                state, "D1", now, POLICY, "Li Na", "13800138000", staff
            )
            if decision.granted and f"P-WALK{n}" in CODES:  # the desk gives its code
                code = digest(f"P-WALK{n}")
                events = [*events, PickupCodeIssued("D1", now, walkin_group(int(n)), code)]
            return decision, events
        if scan.value in ("NOTAUTH", "NOTAUTH2", "CLEAR"):
            names = ("Zhang Wei",) if scan.value != "CLEAR" else ()
            group = "T-FAM2" if scan.value == "NOTAUTH2" else "T-SOLO"
            return set_not_authorised(state, "D1", now, POLICY, group, names, staff)
        return decide_or_join(state, scan, now)

    def opens_window(self, decision: Decision, scan: Scan) -> bool:
        if decision.code is Code.OK_PICKUP:
            self.pickups.append((scan.gate, decision.group or "", self.now))
            return True  # as an adult's would, for the family's children
        return super().opens_window(decision, scan)

    def check_child_safety(self, event: Event) -> None:
        if isinstance(event, MemberMoved) and event.forced:
            member = self.state.members[event.uid]
            listed = self.state.not_authorised.get(member.group)
            if member.role.is_child and event.state is not MemberState.INSIDE:
                assert not (listed and event.overrode in BARRED), "override of a listed child"
        if (
            isinstance(event, MemberMoved)
            and not event.forced
            and event.state is MemberState.EXITED
            and self.state.members[event.uid].role is Role.SOLO_CHILD
        ):
            assert any(
                (gate, group) == (event.gate, event.group) and at <= event.at <= at + WINDOW
                for gate, group, at in self.pickups
            ), "a solo child left without its own group's pickup code"
            return
        super().check_child_safety(event)


def morning() -> Move:
    """The desk's morning, then the solo child and the T-FAM2 family in, a walk-in child
    registered, bound and in, and T-FAM2's not-authorised list set: codes to match, a list
    to bar overrides."""
    inside = ["04A10009", "04A10002", "04A10006", "04B20001", "04A10007"]
    at_desk = [STAFF, "WALKIN", WALKIN_BANDS[0], STAFF, "NOTAUTH2"]
    day = desk_morning()
    day += [(timedelta(seconds=2), scan_of("D1", Mode.BIND, v, Intent.FINAL)) for v in at_desk]
    day += [(timedelta(seconds=2), Scan("E1", Mode.ENTRY, Kind.NFC, b)) for b in inside]
    return [*day, (timedelta(seconds=2), Scan("E1", Mode.ENTRY, Kind.NFC, WALKIN_BANDS[0]))]


def run_day(moves: Move) -> PickupDay:
    day = PickupDay()
    for jump, scan in morning() + moves:
        day.scan(jump, scan)
    return day


def full_snapshot(state: State) -> tuple[object, ...]:
    return (
        *snapshot(state),
        dict(state.guardians),
        dict(state.pickup_codes),
        dict(state.not_authorised),
        dict(state.pickup_asked),
        dict(state.wrong_codes),
        dict(state.lane_wrong_codes),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed)
def test_child_safety_holds_over_random_days_with_pickups_and_walk_ins(moves: Move) -> None:
    day = run_day(moves)
    replayed = State(allowlist=day.state.allowlist)
    for event in day.events:
        fold(replayed, event)
    assert full_snapshot(replayed) == full_snapshot(day.state)


def test_random_pickup_days_reach_the_codes_they_are_about() -> None:
    """Guard against a generator that never registers, matches or mismatches anything."""
    seen: set[Code] = set()
    solo_out = forced_barred = 0

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(mixed)
    def run(moves: Move) -> None:
        nonlocal solo_out, forced_barred
        day = PickupDay()
        for jump, scan in morning() + moves:
            day.now += jump
            day.events += advance(day.state, day.now, POLICY)
            decision, events = day.decide(scan)
            seen.add(decision.code)
            if decision.staff and not decision.granted:
                forced_barred += 1
            for event in events:
                if isinstance(event, MemberMoved) and event.state is MemberState.EXITED:
                    member = day.state.members[event.uid]
                    solo_out += member.role is Role.SOLO_CHILD and not event.forced
                fold(day.state, event)

    run()
    assert {Code.OK_REGISTERED, Code.OK_PICKUP, Code.DENY_PICKUP_MISMATCH} <= seen, sorted(seen)
    assert solo_out > 0, "no solo child ever left by its code"
    assert forced_barred > 0, "no override was ever barred by a list"
