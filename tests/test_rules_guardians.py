"""Walk-in children and verified pickup in the rules core (`gate.core.guardians`): a child
registered alone at the desk with a staff badge, its band bound as `solo_child`; a guardian's
pickup code that opens the child's way out at an exit gate (matching, mismatching, missing);
and the not-authorised list that no staff override gets round."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from rules_helpers import (
    CHILD_3,
    CHILD_4,
    DESK,
    E1,
    FAMILY,
    FAMILY_ADULTS,
    FAMILY_BANDS,
    FAMILY_CHILDREN,
    NEXT_DAY,
    SOLO,
    STAFF,
    T0,
    WINDOW_S,
    X1,
    X2,
    Venue,
    at,
    later,
    solo_inside,
)

from gate.core import (
    ChildRegistered,
    Code,
    Kind,
    Mode,
    NotAuthorisedSet,
    PickupCodeIssued,
    Role,
    Scan,
    fold,
    register_child,
    set_not_authorised,
    staff_at_desk,
)
from gate.core.guardians import guardian_phone, next_walkin_group
from gate.core.rules import PICKUP_PREFIX

CODE_OF = {SOLO: "123456", FAMILY: "654321"}


def digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()  # the desk's HMAC stands in here


def pickup(venue: Venue, code: str, now: datetime = T0, gate: str = X1):
    mode = Mode.ENTRY if gate.startswith("E") else Mode.EXIT
    scan = Scan(gate, mode, Kind.BARCODE, PICKUP_PREFIX + digest(code), pickup=True)
    return venue.scan(scan, now)


def issue(venue: Venue, group: str, now: datetime = T0) -> None:
    fold(venue.state, PickupCodeIssued(DESK, now, group, digest(CODE_OF.get(group, "111111"))))


def walk_in(venue: Venue, now: datetime = T0, phone: str = "138 0013 8000"):
    venue.badge(DESK, now, Mode.BIND)
    staff = staff_at_desk(venue.state, DESK, now, venue.policy)
    decision, events = register_child(venue.state, DESK, now, venue.policy, "Li Na", phone, staff)
    for event in events:
        fold(venue.state, event)
    return decision, events


def not_authorised(venue: Venue, group: str, *names: str, now: datetime = T0):
    venue.badge(DESK, now, Mode.BIND)
    staff = staff_at_desk(venue.state, DESK, now, venue.policy)
    decision, events = set_not_authorised(venue.state, DESK, now, venue.policy, group, names, staff)
    for event in events:
        fold(venue.state, event)
    return decision


# --- walk-in registration ------------------------------------------------------------------------


def test_a_walk_in_child_is_registered_with_a_staff_badge_and_bound_as_a_solo_child() -> None:
    venue = Venue()
    decision, events = walk_in(venue)
    assert decision.code is Code.OK_REGISTERED and decision.staff == STAFF
    group = decision.group
    assert group == "W-D1-20260701-1"
    # every gate hears the event: its phone masked (the hub is told it in full by the desk)
    assert events == [ChildRegistered(DESK, T0, group, "Li Na", "*******8000", STAFF)]
    assert "13800138000" not in decision.message and "8000" in decision.message
    bound = venue.band(CHILD_3)
    assert (bound.code, bound.group, bound.role) == (Code.OK_BIND, group, Role.SOLO_CHILD)
    assert venue.enter(CHILD_3).code is Code.OK_ENTRY  # alone, by arrangement
    assert venue.leave(CHILD_3).code is Code.DENY_GUARDIAN_PICKUP


def test_walk_in_groups_are_numbered_per_desk_and_day() -> None:
    venue = Venue()
    assert walk_in(venue)[0].group == "W-D1-20260701-1"
    assert walk_in(venue, later(T0, 5))[0].group == "W-D1-20260701-2"
    assert next_walkin_group(venue.state, "D2", T0, venue.policy) == "W-D2-20260701-1"
    tomorrow = at(10, day=NEXT_DAY)
    assert next_walkin_group(venue.state, DESK, tomorrow, venue.policy) == "W-D1-20260702-1"


def test_a_walk_in_is_valid_on_its_registration_day_only() -> None:
    venue = Venue()
    group = walk_in(venue)[0].group
    venue.band(CHILD_3)
    tomorrow = at(10, day=NEXT_DAY)
    refused = venue.enter(CHILD_3, tomorrow)
    assert refused.code is Code.DENY_NOT_VALID_NOW and refused.group == group


def test_no_staff_badge_no_registration() -> None:
    venue = Venue()
    staff = staff_at_desk(venue.state, DESK, T0, venue.policy)
    decision, events = register_child(
        venue.state, DESK, T0, venue.policy, "Li", "13800138000", staff
    )
    assert decision.code is Code.DENY_BINDING and not events
    assert "tap a staff badge" in decision.message


@pytest.mark.parametrize(
    ("phone", "ok"),
    [
        ("13800138000", True),
        ("+86 138-0013-8000", True),
        ("1380013800", False),
        ("23800138000", False),
        ("138001380001", False),
        ("phone", False),
    ],
)
def test_only_a_chinese_mobile_number_is_taken(phone: str, ok: bool) -> None:
    if ok:
        assert guardian_phone(phone) == "13800138000"
        return
    with pytest.raises(ValueError, match="11 digits starting with 1"):
        guardian_phone(phone)
    decision, events = walk_in(Venue(), phone=phone)
    assert decision.code is Code.DENY_BINDING and not events


# --- verified pickup -----------------------------------------------------------------------------


def test_the_guardians_matching_code_lets_the_solo_child_out_within_the_window() -> None:
    venue = solo_inside()
    issue(venue, SOLO)
    opened = pickup(venue, "123456")
    assert (opened.code, opened.group) == (Code.OK_PICKUP, SOLO)
    assert "123456" not in opened.value
    left = venue.leave(CHILD_4, later(T0, WINDOW_S - 1))
    assert left.code is Code.OK_EXIT and not left.forced
    assert "pickup code" in left.message


def test_a_code_read_too_long_ago_or_at_another_lane_does_not_release() -> None:
    venue = solo_inside()
    issue(venue, SOLO)
    assert pickup(venue, "123456").code is Code.OK_PICKUP
    assert venue.leave(CHILD_4, gate=X2).code is Code.DENY_GUARDIAN_PICKUP
    late = venue.leave(CHILD_4, later(T0, WINDOW_S + 1))
    assert late.code is Code.DENY_GUARDIAN_PICKUP


def test_a_code_that_matches_nobody_inside_is_a_mismatch() -> None:
    venue = solo_inside()
    issue(venue, SOLO)
    assert pickup(venue, "000000").code is Code.DENY_PICKUP_MISMATCH
    assert venue.leave(CHILD_4).code is Code.DENY_GUARDIAN_PICKUP
    assert pickup(venue, "123456", gate=E1).code is Code.DENY_PICKUP_MISMATCH  # not an exit


def test_another_childs_code_does_not_release_this_child() -> None:
    venue = solo_inside()
    issue(venue, SOLO)
    other = walk_in(venue)[0].group
    venue.band(CHILD_3)
    venue.admit(CHILD_3)
    issue(venue, other)  # "111111"
    assert pickup(venue, "111111").code is Code.OK_PICKUP
    refused = venue.leave(CHILD_4)
    assert refused.code is Code.DENY_PICKUP_MISMATCH and other in refused.message
    assert venue.leave(CHILD_3).code is Code.OK_EXIT


def test_a_family_childs_code_opens_its_way_like_an_adult_would() -> None:
    venue = Venue().bind(FAMILY, *FAMILY_BANDS).admit(*FAMILY_BANDS)
    issue(venue, FAMILY)
    assert pickup(venue, "654321").code is Code.OK_PICKUP
    assert venue.leave(FAMILY_CHILDREN[0]).code is Code.OK_EXIT


def test_without_a_code_a_staff_override_still_releases_recorded_as_forced() -> None:
    venue = solo_inside()
    venue.badge(X1)
    forced = venue.leave(CHILD_4)
    assert (forced.code, forced.overrode) == (Code.OK_OVERRIDE, Code.DENY_GUARDIAN_PICKUP)


# --- the not-authorised list ---------------------------------------------------------------------


def test_a_not_authorised_list_bars_the_override_and_names_the_staff() -> None:
    venue = solo_inside()
    listed = not_authorised(venue, SOLO, "Zhang Wei", "  Zhao  Lei ")
    assert listed.code is Code.OK_REGISTERED and listed.staff == STAFF
    assert venue.state.not_authorised[SOLO] == ("Zhang Wei", "Zhao Lei")
    venue.badge(X1)
    barred = venue.leave(CHILD_4)
    assert barred.code is Code.DENY_GUARDIAN_PICKUP and not barred.forced
    assert barred.staff == STAFF and "not-authorised" in barred.message
    assert not venue.events[-1:] or not isinstance(venue.events[-1], NotAuthorisedSet)
    issue(venue, SOLO)
    assert pickup(venue, "123456").code is Code.OK_PICKUP  # the code still releases
    assert venue.leave(CHILD_4).code is Code.OK_EXIT


def test_a_family_child_on_a_list_is_not_released_by_override_either() -> None:
    venue = Venue().bind(FAMILY, *FAMILY_BANDS).admit(*FAMILY_BANDS)
    not_authorised(venue, FAMILY, "Zhang Wei")
    venue.badge(X1)
    barred = venue.leave(FAMILY_CHILDREN[0])
    assert barred.code is Code.DENY_CHILD_NEEDS_ADULT and barred.staff == STAFF
    venue.release(FAMILY_ADULTS[0])  # its own adult takes it, as always
    assert venue.leave(FAMILY_CHILDREN[0]).code is Code.OK_EXIT


def test_an_empty_list_clears_it_and_an_unknown_group_is_refused() -> None:
    venue = solo_inside()
    not_authorised(venue, SOLO, "Zhang Wei")
    assert not_authorised(venue, SOLO).code is Code.OK_REGISTERED
    assert SOLO not in venue.state.not_authorised
    assert not_authorised(venue, "T-NOBODY", "Zhang Wei").code is Code.DENY_UNKNOWN
    too_many = not_authorised(venue, SOLO, *(f"Name {i}" for i in range(11)))
    assert too_many.code is Code.DENY_BINDING


def reached_by_guardians() -> set[Code]:
    """The codes these tables reach (the rules' own every-code test adds them)."""
    venue = solo_inside()
    issue(venue, SOLO)
    codes = {walk_in(venue)[0].code, pickup(venue, "000000").code, pickup(venue, "123456").code}
    return codes


def test_these_tables_reach_their_codes() -> None:
    mine = {Code.OK_REGISTERED, Code.OK_PICKUP, Code.DENY_PICKUP_MISMATCH}
    assert reached_by_guardians() == mine
