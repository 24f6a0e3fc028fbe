"""What staff record at the desk besides corrections (`gate.core.desk_records`): one ticket or
band revoked or restored, a lost-child incident opened or closed; each authorised by the staff
badge tapped there, and folded by every gate alike, so that every gate refuses (or accepts) a
value the moment it folds the desk's event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from rules_helpers import (
    ADULT_1,
    ADULT_2,
    CHILD_1,
    CHILD_2,
    CHILD_5,
    DESK,
    DUO,
    FAMILY,
    LOST,
    REFUNDED,
    STAFF,
    T0,
    Venue,
    family_bound,
    family_inside,
    later,
)

from gate.core import (
    Code,
    Decision,
    IncidentClosed,
    IncidentOpened,
    Mode,
    State,
    ValueRestored,
    ValueRevoked,
    close_incident,
    fold,
    open_incident,
    replace_band,
    restore_value,
    revoke_value,
    staff_at_desk,
)
from gate.core.rules import Outcome

Action = Callable[..., Outcome]


def recorded(venue: Venue, action: Action, *args: str, now: datetime = T0) -> Decision:
    """Staff tap their badge at the desk, then record: decided and folded."""
    venue.badge(DESK, now, Mode.BIND)
    staff = staff_at_desk(venue.state, DESK, now, venue.policy)
    assert staff == STAFF
    decision, venue.events = action(venue.state, DESK, now, venue.policy, *args, staff)
    for event in venue.events:
        fold(venue.state, event)
    return decision


# --- revoke ---------------------------------------------------------------------------------


def test_a_band_revoked_at_the_desk_is_refused_at_the_exit_at_once() -> None:
    v = family_inside()
    decision = recorded(v, revoke_value, CHILD_1, "band reported stolen")
    assert (decision.code, decision.staff, decision.group) == (Code.OK_CORRECTED, STAFF, FAMILY)
    assert v.events == [ValueRevoked(DESK, T0, CHILD_1, "band reported stolen", STAFF)]
    refused = v.leave(CHILD_1, later(T0, 5))
    assert refused.code is Code.DENY_REVOKED and "band reported stolen" in refused.message


def test_a_ticket_revoked_at_the_desk_refuses_its_family_and_its_binding() -> None:
    v = family_bound()
    assert recorded(v, revoke_value, FAMILY, "refund").code is Code.OK_CORRECTED
    assert v.enter(ADULT_1, later(T0, 5)).code is Code.DENY_REVOKED
    assert v.ticket(FAMILY, later(T0, 6)).code is Code.DENY_REVOKED


def test_a_gate_that_only_folds_the_event_refuses_the_band_too() -> None:
    """Another gate's state, folding the desk's event as it hears it."""
    desk = family_inside()
    other = State(allowlist=desk.state.allowlist)
    recorded(desk, revoke_value, ADULT_2, "lost")
    for event in desk.events:
        fold(other, event)
    assert other.revoked(ADULT_2) == "lost"


@pytest.mark.parametrize(
    ("value", "reason", "code", "said"),
    [
        (CHILD_1, "   ", Code.DENY_BINDING, "says why"),
        (CHILD_1, "x" * 201, Code.DENY_BINDING, "at most 200"),
        (CHILD_1, "line\x07bell", Code.DENY_BINDING, "one line"),
        (STAFF, "left the company", Code.DENY_BINDING, "staff badge"),
        (LOST, "lost", Code.DENY_REVOKED, "revoked already"),
        (REFUNDED, "refund", Code.DENY_REVOKED, "revoked already"),
    ],
    ids=["no reason", "too long", "control character", "a staff badge", "lost", "refunded"],
)
def test_what_a_desk_does_not_revoke(value: str, reason: str, code: Code, said: str) -> None:
    v = family_inside()
    decision = recorded(v, revoke_value, value, reason)
    assert decision.code is code and said in decision.message, decision
    assert v.events == []


# --- restore --------------------------------------------------------------------------------


def test_a_revocation_of_the_allowlist_is_lifted_at_the_desk() -> None:
    v = Venue()
    decision = recorded(v, restore_value, REFUNDED)
    assert decision.code is Code.OK_CORRECTED and "was: refund" in decision.message
    assert v.events == [ValueRestored(DESK, T0, REFUNDED, "refund", STAFF)]
    assert v.state.revoked(REFUNDED) is None
    assert v.ticket(REFUNDED, later(T0, 5)).code is Code.OK_BIND


def test_a_desks_revocation_restored_is_accepted_again() -> None:
    v = family_inside()
    recorded(v, revoke_value, CHILD_1, "found in the car park")
    recorded(v, restore_value, CHILD_1, now=later(T0, 10))
    assert v.state.revoked(CHILD_1) is None
    assert v.release(ADULT_1, CHILD_1, now=later(T0, 20))


def test_the_allowlist_revoking_again_for_a_new_reason_is_honoured_after_a_restore() -> None:
    """The hub's allowlist follows a restore by dropping the revocation; revoked again at the
    hub (another reason), the value is refused again, the desk's restore notwithstanding."""
    v = Venue()
    recorded(v, restore_value, REFUNDED)
    del v.state.allowlist.revoked[REFUNDED]  # the hub's delta
    v.revoke(REFUNDED, "chargeback")  # `hub revoke T-REFUNDED --reason chargeback`
    assert v.state.revoked(REFUNDED) == "chargeback"


def test_a_lost_band_replaced_at_the_desk_is_not_restored() -> None:
    v = family_inside()
    recorded(v, replace_band, CHILD_1, CHILD_5)
    decision = recorded(v, restore_value, CHILD_1, now=later(T0, 5))
    assert decision.code is Code.DENY_REVOKED and "replaced by" in decision.message
    assert v.state.revoked(CHILD_1) is not None


@pytest.mark.parametrize(
    ("value", "said"), [(CHILD_1, "not revoked"), (STAFF, "staff badge")], ids=["free", "badge"]
)
def test_what_a_desk_does_not_restore(value: str, said: str) -> None:
    v = family_inside()
    decision = recorded(v, restore_value, value)
    assert not decision.granted and said in decision.message and v.events == []


def test_without_a_badge_nothing_is_revoked() -> None:
    v = family_inside()
    refusal = staff_at_desk(v.state, DESK, T0, v.policy)
    assert not isinstance(refusal, str) and "tap a staff badge" in refusal.message


# --- incidents ------------------------------------------------------------------------------


def test_an_incident_is_opened_by_a_band_of_the_family_and_closed() -> None:
    v = family_inside()
    opened = recorded(v, open_incident, "lost_child", ADULT_1, "", "red cap")
    assert (opened.code, opened.group, opened.staff) == (Code.OK_REGISTERED, FAMILY, STAFF)
    assert v.events == [IncidentOpened(DESK, T0, "lost_child", FAMILY, ADULT_1, "red cap", STAFF)]
    again = recorded(v, open_incident, "lost_child", CHILD_2, "", "", now=later(T0, 5))
    assert again.code is Code.DENY_BINDING and "incident open" in again.message
    closed = recorded(v, close_incident, "", FAMILY.lower(), "found", now=later(T0, 9))
    assert closed.code is Code.OK_REGISTERED
    assert v.events == [IncidentClosed(DESK, later(T0, 9), FAMILY, "found", STAFF)]
    assert FAMILY not in v.state.incidents
    assert v.release(ADULT_1, CHILD_1, now=later(T0, 20))  # an incident stops nobody


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("lost_child", "04FFFFFF", "", ""), Code.DENY_UNKNOWN, "no family"),
        (("lost_child", "", DUO, ""), Code.DENY_UNKNOWN, "no family bound"),
        (("kidnapped", ADULT_1, "", ""), Code.DENY_BINDING, "lost_child or"),
        (("lost_child", ADULT_1, "", "x" * 201), Code.DENY_BINDING, "at most 200"),
    ],
    ids=["unknown band", "ticket not bound", "unknown kind", "long note"],
)
def test_what_opens_no_incident(args: tuple[str, ...], code: Code, said: str) -> None:
    v = family_inside()
    decision = recorded(v, open_incident, *args)
    assert decision.code is code and said in decision.message and v.events == []


def test_an_incident_is_closed_found_or_cancelled_only() -> None:
    v = family_inside()
    decision = recorded(v, close_incident, CHILD_2, "", "lost again")
    assert decision.code is Code.DENY_BINDING and v.events == []
