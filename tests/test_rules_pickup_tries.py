"""Wrong pickup codes in the rules core (`gate.core.pickup_tries`): nobody at an exit may try
codes until one lets a solo child out. A code is tried for the solo child waiting at the lane
(refused there for want of it, within the window), else against the lane; after the policy's
number of wrong codes within its period (3 in 10 minutes by default) codes are refused for that
child at every exit gate, or at that lane with no child shown (DENY_PICKUP_LOCKED), while a staff
override stays possible (recorded forced). The counts are folded from events."""

from __future__ import annotations

from datetime import datetime

import pytest
from rules_helpers import CHILD_4, SOLO, T0, WINDOW_S, X1, X2, Venue, later, policy, solo_inside
from test_rules_guardians import issue, pickup

from gate.core import (
    Code,
    Event,
    PickupAsked,
    PickupCodeRefused,
    State,
    fold,
)
from gate.core.pickup_tries import child_locked, lane_locked

RIGHT = "123456"  # the solo child's code (test_rules_guardians.CODE_OF)
WRONG = tuple(f"{n:06d}" for n in range(1, 21))  # codes nobody was given


def solo_with_code() -> Venue:
    venue = solo_inside()
    issue(venue, SOLO)
    return venue


def try_wrong_codes(venue: Venue, n: int, start: datetime = T0, gate: str = X1) -> None:
    """The solo child's band shown at `gate`, then `n` wrong codes, a few seconds apart."""
    assert venue.leave(CHILD_4, start, gate).code is Code.DENY_GUARDIAN_PICKUP
    assert venue.events == [PickupAsked(gate, start, SOLO, CHILD_4)]
    for i in range(n):
        at = later(start, 2 * (i + 1))
        wrong = pickup(venue, WRONG[i], at, gate)
        assert (wrong.code, wrong.group) == (Code.DENY_PICKUP_MISMATCH, SOLO), wrong
        assert venue.events == [PickupCodeRefused(gate, at, SOLO)]


def test_three_wrong_codes_for_a_child_lock_its_codes_even_the_right_one() -> None:
    venue = solo_with_code()
    try_wrong_codes(venue, 3)
    refused = pickup(venue, RIGHT, later(T0, 10))
    assert (refused.code, refused.group) == (Code.DENY_PICKUP_LOCKED, SOLO)
    assert "3 wrong pickup codes" in refused.message and "badge" in refused.message
    assert venue.events == []  # refused, not counted again
    band = venue.leave(CHILD_4, later(T0, 12))
    assert band.code is Code.DENY_PICKUP_LOCKED  # says why at the child's band too


def test_two_wrong_codes_leave_the_right_one_working() -> None:
    venue = solo_with_code()
    try_wrong_codes(venue, 2)
    assert pickup(venue, RIGHT, later(T0, 10)).code is Code.OK_PICKUP
    assert venue.leave(CHILD_4, later(T0, 12)).code is Code.OK_EXIT


def test_a_locked_child_is_locked_at_every_exit_gate() -> None:
    venue = solo_with_code()
    try_wrong_codes(venue, 3, gate=X1)
    there = venue.leave(CHILD_4, later(T0, 20), X2)
    assert there.code is Code.DENY_PICKUP_LOCKED
    assert pickup(venue, RIGHT, later(T0, 22), X2).code is Code.DENY_PICKUP_LOCKED


def test_wrong_codes_at_two_gates_add_up_for_the_child() -> None:
    venue = solo_with_code()
    try_wrong_codes(venue, 2, gate=X1)
    try_wrong_codes(venue, 1, later(T0, 30), gate=X2)
    assert pickup(venue, RIGHT, later(T0, 40), X2).code is Code.DENY_PICKUP_LOCKED


def test_the_lock_lifts_once_the_oldest_wrong_code_is_older_than_the_period() -> None:
    venue = solo_with_code()
    try_wrong_codes(venue, 3)
    still = later(T0, 600)  # the first wrong code at T0+2 s: 598 s ago
    assert venue.leave(CHILD_4, still).code is Code.DENY_PICKUP_LOCKED
    lifted = later(T0, 603)
    assert venue.leave(CHILD_4, lifted).code is Code.DENY_GUARDIAN_PICKUP
    assert pickup(venue, RIGHT, later(lifted, 1)).code is Code.OK_PICKUP
    assert venue.leave(CHILD_4, later(lifted, 2)).code is Code.OK_EXIT


def test_a_staff_override_still_releases_a_locked_child_recorded_forced() -> None:
    venue = solo_with_code()
    try_wrong_codes(venue, 3)
    assert venue.badge(X1, later(T0, 20)).code is Code.OK_STAFF
    out = venue.leave(CHILD_4, later(T0, 21))
    assert (out.code, out.forced, out.overrode) == (
        Code.OK_OVERRIDE,
        True,
        Code.DENY_PICKUP_LOCKED,
    )


def test_codes_shown_with_no_child_waiting_count_against_the_lane() -> None:
    venue = solo_with_code()
    for i in range(3):
        at = later(T0, 2 * i)
        wrong = pickup(venue, WRONG[i], at)
        assert (wrong.code, wrong.group) == (Code.DENY_PICKUP_MISMATCH, None)
        assert venue.events == [PickupCodeRefused(X1, at, "")]
    lane = pickup(venue, RIGHT, later(T0, 10))
    assert (lane.code, lane.group) == (Code.DENY_PICKUP_LOCKED, None)
    assert "scan the child's band first" in lane.message
    assert not child_locked(venue.state, SOLO, later(T0, 10), venue.policy)
    # another lane takes codes; at this one, the child's band first, then its code
    assert pickup(venue, RIGHT, later(T0, 11), X2).code is Code.OK_PICKUP
    assert venue.leave(CHILD_4, later(T0, 12)).code is Code.DENY_GUARDIAN_PICKUP
    assert pickup(venue, RIGHT, later(T0, 13)).code is Code.OK_PICKUP
    assert venue.leave(CHILD_4, later(T0, 14)).code is Code.OK_EXIT


def test_a_code_shown_after_the_childs_window_counts_against_the_lane() -> None:
    venue = solo_with_code()
    assert venue.leave(CHILD_4).code is Code.DENY_GUARDIAN_PICKUP
    late = later(T0, WINDOW_S + 1)
    assert pickup(venue, WRONG[0], late).group is None
    assert venue.events == [PickupCodeRefused(X1, late, "")]


@pytest.mark.parametrize(("tries", "lockout_s"), [(1, 60.0), (5, 1800.0)])
def test_the_number_of_tries_and_the_period_are_the_venues(tries: int, lockout_s: float) -> None:
    def venue() -> Venue:
        return solo_with_code().with_policy(
            pickup_code_tries=tries, pickup_code_lockout_s=lockout_s
        )

    fewer = venue()
    try_wrong_codes(fewer, tries - 1)
    assert pickup(fewer, RIGHT, later(T0, 50)).code is Code.OK_PICKUP
    locked = venue()
    try_wrong_codes(locked, tries)
    assert pickup(locked, RIGHT, later(T0, 50)).code is Code.DENY_PICKUP_LOCKED
    back = later(T0, lockout_s + 2)
    assert locked.leave(CHILD_4, back).code is Code.DENY_GUARDIAN_PICKUP
    assert pickup(locked, RIGHT, later(back, 1)).code is Code.OK_PICKUP


def test_the_policy_bounds_the_settings() -> None:
    for bad in ({"pickup_code_tries": 0}, {"pickup_code_lockout_s": 0}):
        with pytest.raises(ValueError):
            policy(**bad)
    assert (policy().pickup_code_tries, policy().pickup_code_lockout_s) == (3, 600.0)


def test_the_lock_is_folded_from_events_so_a_restart_keeps_it() -> None:
    venue = solo_with_code()
    events: list[Event] = []
    assert venue.leave(CHILD_4).code is Code.DENY_GUARDIAN_PICKUP
    events += venue.events
    for i in range(3):
        pickup(venue, WRONG[i], later(T0, i + 1))
        events += venue.events
    restarted = solo_with_code().state  # the morning, then this gate's journal again
    for event in events:
        fold(restarted, event)
    now = later(T0, 10)
    assert child_locked(restarted, SOLO, now, venue.policy)
    assert restarted.wrong_codes == venue.state.wrong_codes
    assert restarted.pickup_asked == venue.state.pickup_asked
    copied = venue.state.copy()
    fold(copied, PickupCodeRefused(X1, now, ""))
    assert not lane_locked(venue.state, X1, now, venue.policy)  # the copy's fold stays there
    assert copied.lane_wrong_codes[X1] == (now,) and venue.state.lane_wrong_codes == {}
    assert isinstance(restarted, State)


def reached_by_pickup_tries() -> set[Code]:
    """The codes these tables reach (the rules' own every-code test adds them)."""
    venue = solo_with_code()
    try_wrong_codes(venue, 3)
    return {pickup(venue, RIGHT, later(T0, 10)).code}


def test_these_tables_reach_their_codes() -> None:
    assert reached_by_pickup_tries() == {Code.DENY_PICKUP_LOCKED}
