"""The child-safety property and the state's invariants over random days that include what staff
record at the desk (`gate.core.desk_records`): bands and tickets revoked and restored, lost-child
incidents opened and closed, at any moment, by a staff badge tapped at the desk or not, among
the random scans of `tests/test_rules_properties.py` (its `Day`, strategies and checks, reused).

Besides what `Day` checks after every scan (no child out without an adult of its group or a
recorded override; the headcount; `decide` pure; a denial changes nothing), these hold:

- a record is granted only with the staff badge armed at the desk, and names it;
- a band or ticket revoked is granted nothing while it stays revoked (nor is a band of a ticket
  revoked let through a lane), and a restore makes it count again;
- replaying the events rebuilds the same state, revocations, restorations and incidents
  included.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rules_properties import (
    BANDS,
    POLICY,
    STAFF,
    TICKETS,
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
    Mode,
    Scan,
    State,
    advance,
    close_incident,
    fold,
    open_incident,
    restore_value,
    revoke_value,
    staff_at_desk,
)
from gate.core.model import Refusal
from gate.core.rules import deny

REC = "REC"  # a scan value that stands for a record typed at the desk
VALUES = [*BANDS, *TICKETS, STAFF]
ACTIONS = ("revoke", "restore", "open", "close")


def record(action: str, value: str) -> Scan:
    return Scan("D1", Mode.BIND, Kind.BARCODE, f"{REC}:{action}:{value}")


@st.composite
def desk_records(draw: st.DrawFn) -> Move:
    """Staff at the desk (usually having tapped their badge there) record one thing, and the
    value is soon shown at a lane."""
    action = draw(st.sampled_from(ACTIONS))
    value = draw(st.sampled_from(VALUES))
    moves: Move = []
    if draw(st.integers(0, 4)) > 0:
        moves.append((draw(jumps), Scan("D1", Mode.BIND, Kind.NFC, STAFF, tag=True)))
    moves.append((timedelta(seconds=draw(st.integers(0, 70))), record(action, value)))
    if value in BANDS and draw(st.booleans()):
        gate = draw(st.sampled_from(["E1", "E2", "X1", "X2"]))
        mode = Mode.ENTRY if gate.startswith("E") else Mode.EXIT
        moves.append(
            (timedelta(seconds=draw(st.integers(1, 90))), Scan(gate, mode, Kind.NFC, value))
        )
    return moves


moves = st.one_of(family_moves(), family_moves(), desk_records())
days = st.lists(moves, max_size=30).map(lambda ms: [s for m in ms for s in m])


def decide_or_record(state: State, scan: Scan, now: datetime) -> tuple[Decision, list[Event]]:
    if not scan.value.startswith(f"{REC}:"):
        return decide_or_join(state, scan, now)
    _, action, value = scan.value.split(":")
    staff = staff_at_desk(state, "D1", now, POLICY)
    if isinstance(staff, Refusal):
        return deny(scan, staff.code, staff.message)
    band, group = ("", value) if value in TICKETS else (value, "")
    if action == "revoke":
        return revoke_value(state, "D1", now, POLICY, value, "reported at the desk", staff)
    if action == "restore":
        return restore_value(state, "D1", now, POLICY, value, staff)
    if action == "open":
        return open_incident(state, "D1", now, POLICY, "lost_child", band, group, "", staff)
    return close_incident(state, "D1", now, POLICY, band, group, "found", staff)


def full_snapshot(state: State) -> tuple[object, ...]:
    return (
        *snapshot(state),
        dict(state.revocations),
        dict(state.desk_revoked),
        dict(state.restored),
        dict(state.incidents),
    )


class RecordedDay(Day):
    def __init__(self) -> None:
        super().__init__()
        self.seen: set[Code] = set()
        self.refused_revoked: set[Code] = set()

    def decide(self, scan: Scan) -> tuple[Decision, list[Event]]:
        """The core's answer, kept: `Day.scan` decides twice (the same answer) before folding."""
        decided = decide_or_record(self.state, scan, self.now)
        self.last = decided[0]
        return decided

    def scan(self, jump: timedelta, scan: Scan) -> None:
        if scan.value.startswith(f"{REC}:"):
            armed = staff_at_desk(self.state, "D1", self.now + jump, POLICY)
            super().scan(jump, scan)
            decision = self.last
            self.seen.add(decision.code)
            if decision.granted:
                assert decision.code in (Code.OK_CORRECTED, Code.OK_REGISTERED)
                assert armed == STAFF == decision.staff
            return
        self.check_revoked(jump, scan)
        super().scan(jump, scan)

    def check_revoked(self, jump: timedelta, scan: Scan) -> None:
        """What the scan about to be made is decided, on a copy: never a grant for a value
        revoked, nor a passage for a band of a ticket revoked, but a staff override at an exit
        gate (people can always be let out, `gate.core.decider._overridable`)."""
        member = self.state.members.get(scan.value)
        revoked = self.state.revoked(scan.value) is not None and scan.value != STAFF
        of_revoked = (
            member is not None
            and self.state.revoked(member.group) is not None
            and scan.mode is not Mode.BIND
        )
        if not (revoked or of_revoked):
            return
        probe, now = self.state.copy(), self.now + jump
        advance(probe, now, POLICY)
        decision, _ = decide_or_record(probe, scan, now)
        let_out = decision.forced and scan.mode is Mode.EXIT and decision.staff is not None
        assert not decision.granted or let_out, f"{scan.value} revoked got {decision.code}"
        self.refused_revoked.add(decision.code)


def replay(day: RecordedDay) -> None:
    replayed = State(allowlist=day.state.allowlist)
    for event in day.events:
        fold(replayed, event)
    assert full_snapshot(replayed) == full_snapshot(day.state)


def _run(start: Move, random_scans: Move) -> RecordedDay:
    day = RecordedDay()
    for jump, scan in start + random_scans:
        day.scan(jump, scan)
    replay(day)
    return day


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days)
def test_child_safety_and_invariants_hold_over_random_days_with_desk_records(
    random_scans: Move,
) -> None:
    _run(desk_morning(), random_scans)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days)
def test_child_safety_holds_over_random_evenings_with_desk_records(random_scans: Move) -> None:
    _run(closing_evening(), random_scans)


def test_random_days_with_desk_records_grant_some_and_refuse_some() -> None:
    """Guard against a generator whose records are all refused (a vacuous property)."""
    seen: set[Code] = set()
    refused: set[Code] = set()

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(days)
    def run(random_scans: Move) -> None:
        day = _run(desk_morning(), random_scans)
        seen.update(day.seen)
        refused.update(day.refused_revoked)

    run()
    assert {Code.OK_CORRECTED, Code.OK_REGISTERED, Code.DENY_BINDING} <= seen, sorted(seen)
    assert Code.DENY_REVOKED in refused, sorted(refused)
