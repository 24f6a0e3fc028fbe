"""The desk's band stock (`gate.core.desk_stock`): counts taken, returned and written off in the
desk's shift, and one band handed back after a temporary exit, whose member every gate then
holds as gone for good; and what a peer desk may say of them (`gate.core.peer_desk_records`),
every refused entry being one the desk journals with one thing forged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from rules_helpers import (
    ADULT_1,
    ADULT_2,
    CHILD_1,
    CHILD_2,
    DESK,
    FAMILY,
    STAFF,
    T0,
    Venue,
    badge,
    family_inside,
)
from test_authority import check, journalled, with_events
from test_authority_desk_records import _at, _forge, said

from gate.core import (
    Code,
    MemberState,
    Mode,
    StockRecorded,
    fold,
    hand_back_band,
    record_stock,
)
from gate.core.authority import Reason, Refused
from gate.core.state import Pairing

Body = dict[str, Any]


def out_for_a_while(child: MemberState = MemberState.BOUND) -> Venue:
    """The family's first adult out for a while, the other inside, its first child in `child`
    (never let in), the other never let in, the staff badge tapped at the desk."""
    v = family_inside()
    moves = ((ADULT_1, MemberState.TEMP_OUT), (CHILD_1, child), (CHILD_2, MemberState.BOUND))
    for uid, state in moves:
        v.state.members[uid] = replace(v.state.members[uid], state=state)
        v.state.inside -= state is not MemberState.INSIDE
    journalled(v, badge(DESK, Mode.BIND), T0)
    return v


def taken(v: Venue) -> Body:
    return said(record_stock(v.state, DESK, T0, v.policy, "taken", 200, "AM", "", STAFF))


def written_off(v: Venue) -> Body:
    outcome = record_stock(v.state, DESK, T0, v.policy, "written_off", 2, "", "clasp", STAFF)
    return said(outcome)


def handed_back(v: Venue) -> Body:
    return said(hand_back_band(v.state, DESK, T0, v.policy, ADULT_1, "", STAFF))


def test_a_count_falls_in_the_shift_named_then_in_the_desks_last() -> None:
    v = out_for_a_while()
    decision, events = record_stock(v.state, DESK, T0, v.policy, "taken", 200, " AM ", "", STAFF)
    assert decision.code is Code.OK_REGISTERED and decision.staff == STAFF
    assert events == [StockRecorded(DESK, T0, "taken", 200, "AM", "", "", "", STAFF)]
    fold(v.state, events[0])
    _, (later,) = record_stock(v.state, DESK, T0, v.policy, "returned", 3, "", "", STAFF)
    assert isinstance(later, StockRecorded) and later.shift == "AM"
    _, (first,) = record_stock(v.state, "D2", T0, v.policy, "taken", 5, "", "", STAFF)
    assert isinstance(first, StockRecorded) and first.shift == "1"  # D2 recorded nothing yet


@pytest.mark.parametrize(
    ("kind", "count", "shift", "reason", "says"),
    [
        ("lost", 1, "", "", "taken, returned or written_off"),
        ("taken", 0, "", "", "from 1 to 100000"),
        ("taken", 100_001, "", "", "from 1 to 100000"),
        ("taken", True, "", "", "from 1 to 100000"),
        ("taken", 1, "x" * 21, "", "at most 20 characters"),
        ("written_off", 1, "", " ", "says why"),
        ("written_off", 1, "", "a\x00b", "says why"),
    ],
)
def test_a_count_that_cannot_be_is_refused_with_the_reason(
    kind: str, count: Any, shift: str, reason: str, says: str
) -> None:
    v = out_for_a_while()
    decision, events = record_stock(v.state, DESK, T0, v.policy, kind, count, shift, reason, STAFF)
    assert decision.code is Code.DENY_BINDING and says in decision.message and events == []


def test_a_band_handed_back_leaves_for_good_and_is_free_for_the_next_family() -> None:
    v = out_for_a_while()
    decision, events = hand_back_band(v.state, DESK, T0, v.policy, ADULT_1, "AM", STAFF)
    assert (decision.code, decision.group, decision.value) == (Code.OK_REGISTERED, FAMILY, ADULT_1)
    inside = v.state.inside
    for event in events:
        fold(v.state, event)
    member = v.state.members[ADULT_1]
    assert (member.state, member.last_gate, v.state.inside) == (MemberState.EXITED, DESK, inside)
    again, none = hand_back_band(v.state, DESK, T0, v.policy, ADULT_1, "AM", STAFF)
    assert again.code is Code.DENY_ALREADY_EXITED and none == []
    assert "handed back" in again.message


def test_a_band_inside_or_bound_to_no_family_is_not_handed_back() -> None:
    v = out_for_a_while(child=MemberState.INSIDE)
    inside, _ = hand_back_band(v.state, DESK, T0, v.policy, CHILD_1, "", STAFF)
    assert inside.code is Code.DENY_BINDING and "inside" in inside.message
    unknown, _ = hand_back_band(v.state, DESK, T0, v.policy, "04FFFFFFFFFFFF", "", STAFF)
    assert unknown.code is Code.DENY_UNKNOWN


def _moved(v: Venue, uid: str, state: MemberState) -> None:
    was = v.state.members[uid]
    v.state.members[uid] = replace(was, state=state)
    v.state.inside += (state is MemberState.INSIDE) - (was.state is MemberState.INSIDE)


def test_no_adults_band_is_taken_back_while_a_child_of_its_family_is_inside() -> None:
    v = out_for_a_while(child=MemberState.INSIDE)
    assert v.state.members[ADULT_2].state is MemberState.INSIDE  # another adult, inside too
    kept, events = hand_back_band(v.state, DESK, T0, v.policy, ADULT_1, "", STAFF)
    assert kept.code is Code.DENY_BINDING and "keeps the band" in kept.message and events == []
    _moved(v, CHILD_1, MemberState.EXITED)
    taken, _ = hand_back_band(v.state, DESK, T0, v.policy, ADULT_1, "", STAFF)
    assert taken.code is Code.OK_REGISTERED  # the children have left: nobody to collect


def test_a_hand_back_folds_to_nothing_where_it_would_take_someone_out_it_should_not() -> None:
    """Folded at a gate whose view differs from the desk's (or forged): a band inside, an
    adult whose family's child is inside, a band of another family stay as they were."""
    v = out_for_a_while(child=MemberState.INSIDE)
    for band, group in ((CHILD_1, FAMILY), (ADULT_1, FAMILY), (ADULT_2, "T-DUO")):
        before = v.state.members[band]
        fold(v.state, StockRecorded(DESK, T0, "returned", 1, "1", "", band, group, STAFF))
        assert v.state.members[band] == before
    fold(v.state, StockRecorded(DESK, T0, "returned", 1, "1", "", "04FFFFFFFFFFFF", FAMILY, STAFF))


def test_a_band_handed_back_leaves_every_open_window_and_is_never_recalled() -> None:
    v = out_for_a_while()
    v.state.pairings[("X1", FAMILY, Mode.EXIT)] = Pairing(
        "X1", FAMILY, Mode.EXIT, T0, (ADULT_1, ADULT_2)
    )
    _, events = hand_back_band(v.state, DESK, T0, v.policy, ADULT_1, "", STAFF)
    for event in events:
        fold(v.state, event)
    assert v.state.pairings[("X1", FAMILY, Mode.EXIT)].adults == (ADULT_2,)


def test_the_desks_last_shift_is_taken_within_the_venues_day_only() -> None:
    v = out_for_a_while()
    for event in record_stock(v.state, DESK, T0, v.policy, "taken", 200, "PM", "", STAFF)[1]:
        fold(v.state, event)
    _, (same_day,) = record_stock(v.state, DESK, T0, v.policy, "returned", 2, "", "", STAFF)
    tomorrow = T0 + timedelta(days=1)
    _, (next_day,) = record_stock(v.state, DESK, tomorrow, v.policy, "taken", 9, "", "", STAFF)
    assert isinstance(same_day, StockRecorded) and isinstance(next_day, StockRecorded)
    assert (same_day.shift, next_day.shift) == ("PM", "1")


MADE: dict[str, Callable[[Venue], Body]] = {
    "taken": taken,
    "written off": written_off,
    "handed back": handed_back,
}


@pytest.mark.parametrize("made", MADE.values(), ids=MADE.keys())
@pytest.mark.parametrize("gate", ["D1", "H1"])
def test_a_desks_own_stock_records_are_accepted(made: Callable[[Venue], Body], gate: str) -> None:
    v = out_for_a_while()
    body = made(v)
    if gate != DESK:
        body = _at(body, gate)
    assert body["events"] and check(v, gate, "decision", body) is not None


def _stock(**changed: Any) -> Callable[[Body], Body]:
    fields = {
        "kind": "taken",
        "count": 200,
        "shift": "AM",
        "reason": "",
        "band": "",
        "group": "",
        "staff": STAFF,
    }
    return lambda b: with_events(b, StockRecorded(DESK, T0, **{**fields, **changed}))


FORGERIES: dict[str, tuple[Callable[[Venue], Body], Callable[[Body], Body], Reason]] = {
    "stock from an exit gate": (taken, lambda b: _at(b, "X1"), Reason.ROLE_CANNOT),
    "stock from an entry gate": (taken, lambda b: _at(b, "E1"), Reason.ROLE_CANNOT),
    "no staff named": (taken, lambda b: _forge(b, staff=None), Reason.DECISION_MISMATCH),
    "a kind not known": (taken, _stock(kind="stolen"), Reason.DECISION_MISMATCH),
    "no bands": (taken, _stock(count=0), Reason.DECISION_MISMATCH),
    "a whole warehouse": (taken, _stock(count=10**9), Reason.DECISION_MISMATCH),
    "a shift of many lines": (taken, _stock(shift="A\nM"), Reason.DECISION_MISMATCH),
    "no shift": (taken, _stock(shift=""), Reason.DECISION_MISMATCH),
    "a write-off with no reason": (
        written_off,
        _stock(kind="written_off", count=2, shift="1"),
        Reason.DECISION_MISMATCH,
    ),
    "a reason on a count taken": (taken, _stock(reason="why"), Reason.DECISION_MISMATCH),
    "a count that names a band": (taken, _stock(band=CHILD_1), Reason.DECISION_MISMATCH),
    "a band handed back of another family": (
        handed_back,
        _stock(kind="returned", count=1, shift="1", band=ADULT_1, group="T-DUO"),
        Reason.DECISION_MISMATCH,
    ),
    "another band handed back": (
        handed_back,
        _stock(kind="returned", count=1, shift="1", band=CHILD_1, group=FAMILY),
        Reason.DECISION_MISMATCH,
    ),
    "many bands under one handed back": (
        handed_back,
        _stock(kind="returned", count=5, shift="1", band=ADULT_1, group=FAMILY),
        Reason.DECISION_MISMATCH,
    ),
    "an event's badge not the decision's": (
        taken,
        _stock(staff="04EE0002"),
        Reason.DECISION_MISMATCH,
    ),
}


@pytest.mark.parametrize(
    ("made", "forge", "reason"), FORGERIES.values(), ids=list(FORGERIES.keys())
)
def test_a_forged_stock_record_is_refused(
    made: Callable[[Venue], Body], forge: Callable[[Body], Body], reason: Reason
) -> None:
    v = out_for_a_while()
    body = forge(made(v))
    with pytest.raises(Refused) as refused:
        check(v, body["decision"]["gate"], "decision", body)
    assert refused.value.reason is reason, refused.value
