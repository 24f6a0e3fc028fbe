"""Corrections at the desk (`gate.core.corrections`): a lost band replaced, a band bound by
mistake unbound, a band returned by mistake re-issued; each authorised by the staff badge
tapped at the desk, and folded by every gate alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from rules_helpers import (
    ADULT_1,
    ADULT_2,
    ADULT_3,
    ADULT_4,
    CHILD_1,
    CHILD_2,
    CHILD_3,
    CHILD_5,
    DESK,
    DUO,
    FAMILY,
    FAMILY_BANDS,
    LOST,
    SPARE_1,
    SPARE_2,
    STAFF,
    T0,
    WINDOW_S,
    X1,
    Venue,
    family_inside,
    later,
    venue_without_stock,
)

from gate.core import (
    BandReissued,
    BandReplaced,
    BandToken,
    BandUnbound,
    Code,
    Decision,
    GroupFlagged,
    Kind,
    MemberState,
    Mode,
    Role,
    Scan,
    fold,
    headcount,
    reissue_band,
    replace_band,
    staff_at_desk,
    unbind_band,
)
from gate.core.rules import Outcome

Action = Callable[..., Outcome]


def correct(venue: Venue, action: Action, *args: str, now: datetime = T0) -> Decision:
    """Staff tap their badge at the desk, then make the correction: decided and folded."""
    venue.badge(DESK, now, Mode.BIND)
    staff = staff_at_desk(venue.state, DESK, now, venue.policy)
    assert staff == STAFF
    decision, venue.events = action(venue.state, DESK, now, venue.policy, *args, staff)
    for event in venue.events:
        fold(venue.state, event)
    return decision


def token_scan(gate: str, mode: Mode, uid: str, group: str, role: Role) -> Scan:
    token = BandToken(group, role, T0.date(), T0.date(), 2, 2)
    return Scan(gate, mode, Kind.NFC, uid, token=token, tag=True)


# --- replace --------------------------------------------------------------------------------


def test_a_replaced_band_takes_the_member_and_the_lost_one_is_refused_everywhere() -> None:
    venue = family_inside()
    decision = correct(venue, replace_band, CHILD_1, CHILD_5)
    assert decision.code is Code.OK_CORRECTED and decision.staff == STAFF
    assert venue.events == [BandReplaced(DESK, T0, CHILD_1, CHILD_5, FAMILY, STAFF)]
    new = venue.state.members[CHILD_5]
    assert (new.group, new.role, new.state) == (FAMILY, Role.CHILD, MemberState.INSIDE)
    assert CHILD_1 not in venue.state.members and headcount(venue.state).inside == 4
    assert venue.leave(CHILD_1).code is Code.DENY_REVOKED
    lost_token = token_scan(X1, Mode.EXIT, CHILD_1, FAMILY, Role.CHILD)
    assert venue.scan(lost_token, T0).code is Code.DENY_REVOKED  # its token counts no more
    assert venue.band(CHILD_1).code is Code.DENY_REVOKED  # nor can it be bound again


def test_the_lost_band_family_leaves_together_with_no_false_alarm() -> None:
    venue = family_inside()
    correct(venue, replace_band, CHILD_2, CHILD_5)
    t = later(T0, 3600)
    venue.release(ADULT_1, ADULT_2, CHILD_1, CHILD_5, now=t)
    venue.scan(Scan(X1, Mode.EXIT, Kind.NFC, "04FFFFFF"), later(t, WINDOW_S + 1))  # time passes
    assert headcount(venue.state).inside == 0
    assert not venue.state.groups[FAMILY].unaccompanied
    assert all(venue.state.members[u].state is MemberState.EXITED for u in (ADULT_1, CHILD_5))


def test_the_replacement_of_an_adult_opens_the_windows_the_lost_band_had() -> None:
    venue = family_inside()
    correct(venue, replace_band, ADULT_1, ADULT_4)
    venue.release(ADULT_4)
    assert venue.leave(CHILD_1).code is Code.OK_EXIT


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        (CHILD_1, ADULT_4, Code.DENY_BINDING),  # adult stock for a child
        (CHILD_1, CHILD_2, Code.DENY_BINDING),  # bound already
        (CHILD_1, LOST, Code.DENY_REVOKED),
        (CHILD_1, SPARE_1, Code.DENY_BINDING),  # not of the stock
        (CHILD_1, CHILD_1, Code.DENY_BINDING),
        (CHILD_1, STAFF, Code.DENY_BINDING),
        (CHILD_3, CHILD_5, Code.DENY_UNKNOWN),  # never bound
    ],
)
def test_a_replacement_that_cannot_be_is_refused_and_changes_nothing(
    old: str, new: str, code: Code
) -> None:
    venue = family_inside()
    before = dict(venue.state.members)
    decision = correct(venue, replace_band, old, new)
    assert decision.code is code and venue.events == []
    assert venue.state.members == before


def test_a_band_returned_at_an_exit_is_not_replaced() -> None:
    venue = family_inside().release(ADULT_1, CHILD_1)
    assert correct(venue, replace_band, CHILD_1, CHILD_5).code is Code.DENY_ALREADY_EXITED


# --- unbind ---------------------------------------------------------------------------------


def test_a_child_bound_as_adult_is_unbound_bound_again_as_child_and_cannot_leave_alone() -> None:
    venue = venue_without_stock()
    venue.bind(DUO, SPARE_1)  # the child's band first: it took the adult slot
    assert venue.state.members[SPARE_1].role is Role.ADULT
    decision = correct(venue, unbind_band, SPARE_1)
    assert decision.code is Code.OK_CORRECTED
    assert venue.events == [
        BandUnbound(DESK, T0, SPARE_1, DUO, Role.ADULT, MemberState.BOUND, STAFF)
    ]
    assert SPARE_1 not in venue.state.members and venue.state.groups[DUO].bound_adults == 0
    assert venue.band(SPARE_2).role is Role.ADULT  # the desk's binding is open again
    assert venue.band(SPARE_1).role is Role.CHILD
    venue.admit(SPARE_2, SPARE_1)
    assert venue.leave(SPARE_1, later(T0, 600)).code is Code.DENY_CHILD_NEEDS_ADULT


def test_a_band_unbound_inside_leaves_the_headcount_and_its_token_counts_no_more() -> None:
    venue = family_inside()
    correct(venue, unbind_band, CHILD_2)
    assert headcount(venue.state).inside == 3
    assert venue.state.groups[FAMILY].bound_children == 1
    stale = token_scan(X1, Mode.EXIT, CHILD_2, FAMILY, Role.CHILD)
    assert venue.scan(stale, T0).code is Code.DENY_UNKNOWN


def test_unbinding_the_last_adult_inside_flags_the_children_alone() -> None:
    venue = Venue().bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    correct(venue, unbind_band, ADULT_3)
    assert GroupFlagged(DESK, T0, DUO) in venue.events
    assert venue.state.groups[DUO].unaccompanied
    assert headcount(venue.state).unaccompanied_children == 1


def test_nothing_is_unbound_that_is_not_bound_or_was_returned() -> None:
    venue = family_inside().release(ADULT_1, CHILD_1)
    assert correct(venue, unbind_band, CHILD_1).code is Code.DENY_ALREADY_EXITED
    assert correct(venue, unbind_band, CHILD_3).code is Code.DENY_UNKNOWN


# --- reissue --------------------------------------------------------------------------------


def test_a_band_returned_by_mistake_is_reissued_and_works_again() -> None:
    venue = family_inside().release(ADULT_1, ADULT_2, CHILD_1, CHILD_2)
    decision = correct(venue, reissue_band, ADULT_1, now=later(T0, 60))
    assert decision.code is Code.OK_CORRECTED
    back = later(T0, 60)
    assert venue.events == [BandReissued(DESK, back, ADULT_1, FAMILY, MemberState.TEMP_OUT, STAFF)]
    correct(venue, reissue_band, CHILD_1, now=back)
    assert venue.state.members[CHILD_1].state is MemberState.BOUND
    assert venue.enter(ADULT_1, later(back, 5)).code is Code.OK_REENTRY
    assert venue.enter(CHILD_1, later(back, 6)).code is Code.OK_ENTRY


def test_a_band_in_use_or_unknown_is_not_reissued() -> None:
    venue = family_inside()
    assert correct(venue, reissue_band, ADULT_1).code is Code.DENY_BINDING
    assert correct(venue, reissue_band, CHILD_3).code is Code.DENY_UNKNOWN


# --- the desk writes a blank member band's token --------------------------------------------


def test_a_blank_band_of_a_member_at_the_desk_gets_its_token_and_nothing_else() -> None:
    venue = family_inside()
    correct(venue, replace_band, CHILD_1, CHILD_5)
    blank = Scan(DESK, Mode.BIND, Kind.NFC, CHILD_5, tag=True)
    decision = venue.scan(blank, T0)
    assert decision.code is Code.OK_CORRECTED and venue.events == []
    assert (decision.group, decision.role) == (FAMILY, Role.CHILD)
    carried = token_scan(DESK, Mode.BIND, CHILD_5, FAMILY, Role.CHILD)
    assert venue.scan(carried, T0).code is Code.DENY_BINDING  # its token is there: nothing to do


def test_every_band_of_the_family_is_still_where_it_was_after_a_replacement() -> None:
    venue = family_inside()
    correct(venue, replace_band, ADULT_2, ADULT_4)
    group = venue.state.groups[FAMILY]
    assert group.members == (ADULT_1, ADULT_4, CHILD_1, CHILD_2)
    assert set(FAMILY_BANDS) - {ADULT_2} <= set(venue.state.members)


def reached_here() -> set[Code]:
    """The codes these tables reach (the rules' own every-code test adds them)."""
    venue = family_inside()
    return {correct(venue, replace_band, CHILD_1, CHILD_5).code}


def test_a_gate_that_never_saw_the_member_still_refuses_the_lost_and_the_unbound_band() -> None:
    desk = family_inside()
    correct(desk, replace_band, CHILD_1, CHILD_5)
    replaced = desk.events
    correct(desk, unbind_band, CHILD_2)
    unbound = desk.events
    elsewhere = Venue()  # a lane that knows nothing of the family: only its tokens
    for event in (*replaced, *unbound):
        with pytest.raises(KeyError):
            fold(elsewhere.state, event)
    lost = token_scan(X1, Mode.EXIT, CHILD_1, FAMILY, Role.CHILD)
    gone = token_scan(X1, Mode.EXIT, CHILD_2, FAMILY, Role.CHILD)
    assert elsewhere.scan(lost, T0).code is Code.DENY_REVOKED
    assert elsewhere.scan(gone, T0).code is Code.DENY_UNKNOWN
