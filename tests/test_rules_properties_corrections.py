"""The child-safety property and the state's invariants over random days that include the desk's
corrections (`gate.core.corrections`): lost bands replaced, bands unbound and re-issued, and
bands handed back after a temporary exit (`gate.core.desk_stock`), at any moment, by a staff
badge tapped at the desk or not, among the random scans of `tests/test_rules_properties.py`
(its `Day`, strategies and checks, reused).

Besides what `Day` checks after every scan (no child out without an adult of its group or a
recorded override; the headcount; `decide` pure; a denial changes nothing), these hold:

- a correction is granted only with the staff badge armed at the desk, and names it;
- a band replaced as lost is never granted anything again, whatever it carries;
- a band unbound is granted nothing until it is bound again;
- a band handed back leaves no child of its family inside without an adult who holds a band;
- the slots bound of every group are its members' count; replaying the events rebuilds the
  same state, the revocations and unbindings included.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rules_properties import (
    BANDS,
    POLICY,
    STAFF,
    Day,
    Move,
    closing_evening,
    decide_or_join,
    desk_morning,
    family_moves,
    jumps,
    snapshot,
)

from gate.core import (
    Code,
    Decision,
    Event,
    Kind,
    MemberState,
    Mode,
    Role,
    Scan,
    State,
    advance,
    fold,
    hand_back_band,
    reissue_band,
    replace_band,
    staff_at_desk,
    unbind_band,
)
from gate.core.model import Refusal
from gate.core.rules import deny

SPARES = {"04A20001": Role.ADULT, "04A20002": Role.CHILD, "04A20003": Role.CHILD}
ACTIONS = ("replace", "unbind", "reissue", "hand_back")
FIX = "FIX"  # a scan value that stands for a correction typed at the desk


def correction(action: str, band: str, new: str = "") -> Scan:
    return Scan("D1", Mode.BIND, Kind.BARCODE, f"{FIX}:{action}:{band}:{new}")


@st.composite
def desk_corrections(draw: st.DrawFn) -> Move:
    """Staff at the desk (usually having tapped their badge there) correct one band."""
    action = draw(st.sampled_from(ACTIONS))
    band = draw(st.sampled_from(BANDS))
    new = draw(st.sampled_from([*SPARES, *SPARES, *SPARES, *BANDS])) if action == "replace" else ""
    moves: Move = []
    if draw(st.integers(0, 4)) > 0:
        moves.append((draw(jumps), Scan("D1", Mode.BIND, Kind.NFC, STAFF, tag=True)))
    gap = timedelta(seconds=draw(st.integers(0, 70)))
    moves.append((gap, correction(action, band, new)))
    if action != "unbind" and draw(st.booleans()):  # the band held to the desk's reader
        blank = Scan("D1", Mode.BIND, Kind.NFC, new or band, tag=True)
        moves.append((timedelta(seconds=2), blank))
    if draw(st.booleans()):  # the band corrected shown at a lane soon after (the lost one, found)
        gate = draw(st.sampled_from(["E1", "E2", "X1", "X2"]))
        mode = Mode.ENTRY if gate.startswith("E") else Mode.EXIT
        moves.append(
            (timedelta(seconds=draw(st.integers(1, 90))), Scan(gate, mode, Kind.NFC, band))
        )
    return moves


moves = st.one_of(family_moves(), family_moves(), desk_corrections())
days = st.lists(moves, max_size=30).map(lambda ms: [s for m in ms for s in m])


def decide_or_correct(state: State, scan: Scan, now: datetime) -> tuple[Decision, list[Event]]:
    if not scan.value.startswith(f"{FIX}:"):
        return decide_or_join(state, scan, now)
    _, action, band, new = scan.value.split(":")
    staff = staff_at_desk(state, "D1", now, POLICY)
    if isinstance(staff, Refusal):
        return deny(scan, staff.code, staff.message)
    if action == "replace":
        return replace_band(state, "D1", now, POLICY, band, new, staff)
    if action == "unbind":
        return unbind_band(state, "D1", now, POLICY, band, staff)
    if action == "hand_back":
        return hand_back_band(state, "D1", now, POLICY, band, "", staff)
    return reissue_band(state, "D1", now, POLICY, band, staff)


def full_snapshot(state: State) -> tuple[object, ...]:
    return (*snapshot(state), dict(state.revocations), dict(state.unbound))


class CorrectedDay(Day):
    def __init__(self) -> None:
        super().__init__()
        self.state.allowlist.bands.update(SPARES)
        self.seen: set[Code] = set()
        self.refused_after_correction: set[Code] = set()

    def scan(self, jump: timedelta, scan: Scan) -> None:
        if not scan.value.startswith(f"{FIX}:"):
            self.check_lost_and_unbound(jump, scan)
            super().scan(jump, scan)
            return
        self.now += jump
        self.events += advance(self.state, self.now, POLICY)
        before = full_snapshot(self.state)
        armed = staff_at_desk(self.state, "D1", self.now, POLICY)
        decision, events = decide_or_correct(self.state, scan, self.now)
        assert full_snapshot(self.state) == before, "a correction's decision changed the state"
        assert decide_or_correct(self.state, scan, self.now) == (decision, events)
        self.seen.add(decision.code)
        if not decision.granted:
            assert events == [], f"{decision.code} produced events"
        else:
            assert decision.code in (Code.OK_CORRECTED, Code.OK_REGISTERED)
            assert armed == STAFF == decision.staff
            assert events and all(getattr(e, "staff", STAFF) == STAFF for e in events)
        for event in events:
            self.check_child_safety(event)
            fold(self.state, event)
        self.events += events
        self.check_headcount()
        self.check_slots()
        if decision.granted and decision.code is Code.OK_REGISTERED and decision.group:
            self.check_children_keep_an_adult(decision.group)

    def check_lost_and_unbound(self, jump: timedelta, scan: Scan) -> None:
        """What the scan about to be made is decided, on a copy: never a grant for a band
        replaced as lost, nor, outside the desk, for a band unbound."""
        lost = scan.value in self.state.revocations
        unbound = scan.value in self.state.unbound and scan.mode is not Mode.BIND
        if not (lost or unbound):
            return
        probe, now = self.state.copy(), self.now + jump
        advance(probe, now, POLICY)
        decision, _ = decide_or_correct(probe, scan, now)
        assert not decision.granted, f"{scan.value} (lost {lost}) got {decision.code}"
        self.refused_after_correction.add(decision.code)

    def check_children_keep_an_adult(self, group: str) -> None:
        """After a band handed back: a child of the family inside has an adult with a band."""
        family = self.state.family_members(group)
        if any(m.role is Role.CHILD and m.state is MemberState.INSIDE for m in family):
            assert any(
                m.role is Role.ADULT and m.state in (MemberState.INSIDE, MemberState.TEMP_OUT)
                for m in family
            ), f"{group}: a band handed back left its children inside with no adult"

    def check_slots(self) -> None:
        for group in self.state.groups.values():
            members = self.state.members_of(group.id)
            adults = sum(m.role is Role.ADULT for m in members)
            assert group.bound_adults >= adults and group.bound_children >= len(members) - adults
            assert len(set(group.members)) == len(group.members), "a band twice in a group"


def replay(day: CorrectedDay) -> None:
    replayed = State(allowlist=day.state.allowlist)
    for event in day.events:
        fold(replayed, event)
    assert full_snapshot(replayed) == full_snapshot(day.state)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days)
def test_child_safety_and_invariants_hold_over_random_days_with_corrections(
    random_scans: Move,
) -> None:
    day = CorrectedDay()
    for jump, scan in desk_morning() + random_scans:
        day.scan(jump, scan)
    replay(day)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days)
def test_child_safety_holds_over_random_evenings_with_corrections(random_scans: Move) -> None:
    day = CorrectedDay()
    for jump, scan in closing_evening() + random_scans:
        day.scan(jump, scan)
    replay(day)


def test_random_days_with_corrections_grant_some_and_refuse_some() -> None:
    """Guard against a generator whose corrections are all refused (a vacuous property)."""
    seen: set[Code] = set()
    refused: set[Code] = set()

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(days)
    def run(random_scans: Move) -> None:
        day = CorrectedDay()
        for jump, scan in desk_morning() + random_scans:
            day.scan(jump, scan)
        seen.update(day.seen)
        refused.update(day.refused_after_correction)

    run()
    wanted = {Code.OK_CORRECTED, Code.OK_REGISTERED, Code.DENY_BINDING, Code.DENY_UNKNOWN}
    assert wanted <= seen, sorted(seen)
    assert {Code.DENY_REVOKED, Code.DENY_UNKNOWN} <= refused, sorted(refused)
