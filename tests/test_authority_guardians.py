"""What a gate may say of walk-in children, pickup codes and not-authorised lists: through
`gate.core.peer_guardians` and `gate.link.vetting`. Each accepted entry is what the real rules
core produced for a gate of that role; each refused one is such an entry with one thing forged."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from rules_helpers import CHILD_3, DESK, SOLO, STAFF, T0, Venue, later, solo_inside
from test_authority import Body, check, journalled, nfc, with_events

from gate.core import (
    ChildRegistered,
    Event,
    Kind,
    Mode,
    NotAuthorisedSet,
    PairingOpened,
    PickupCodeIssued,
    Scan,
    fold,
    register_child,
    set_not_authorised,
    staff_at_desk,
)
from gate.core.authority import Reason, Refused
from gate.core.rules import PICKUP_PREFIX
from gate.link.codec import decision_to_dict, event_to_dict

DIGEST = hashlib.sha256(b"123456").hexdigest()


def desk_action(v: Venue, decide: Callable[[Any], Any], *extra: Event) -> Body:
    """A desk action's entry, as `gate.daemon.desk_guardians` journals it."""
    journalled(v, nfc(DESK, Mode.BIND, STAFF, tag=True))
    decision, events = decide(staff_at_desk(v.state, DESK, T0, v.policy))
    events = [*events, *extra]
    for event in events:
        fold(v.state, event)
    scanned = {"kind": "barcode", "value": decision.value, "mode": "bind", "intent": "final"}
    return {
        "scan": {**scanned, "token": False, "tag": False, "offline": False},
        "decision": decision_to_dict(decision),
        "events": [event_to_dict(e) for e in events],
    }


def walk_in(v: Venue, phone: str = "13800138000") -> Body:
    group = "W-D1-20260701-1"
    issued = PickupCodeIssued(DESK, T0, group, DIGEST)
    return desk_action(
        v, lambda staff: register_child(v.state, DESK, T0, v.policy, "Li Na", phone, staff), issued
    )


def listed(v: Venue) -> Body:
    return desk_action(
        v,
        lambda staff: set_not_authorised(v.state, DESK, T0, v.policy, SOLO, ("Zhang Wei",), staff),
    )


def picked_up(v: Venue) -> Body:
    fold(v.state, PickupCodeIssued(DESK, T0, SOLO, DIGEST))
    scan = Scan("X1", Mode.EXIT, Kind.BARCODE, PICKUP_PREFIX + DIGEST, pickup=True)
    return journalled(v, scan, later(T0, 60))


def bound_with_code(v: Venue) -> Body:
    """The walk-in child's band bound at the desk, its group's code issued with it."""
    walk_in(v)
    body = journalled(v, nfc(DESK, Mode.BIND, CHILD_3))
    issued = PickupCodeIssued(DESK, T0, "W-D1-20260701-1", DIGEST)
    return {**body, "events": [*body["events"], event_to_dict(issued)]}


def test_what_real_gates_journal_is_accepted() -> None:
    v = Venue()
    assert [type(e) for e in check(v, "D1", "decision", walk_in(v))] == [
        ChildRegistered,
        PickupCodeIssued,
    ]
    v = solo_inside()
    assert [type(e) for e in check(v, "D1", "decision", listed(v))] == [NotAuthorisedSet]
    v = solo_inside()
    body = picked_up(v)
    assert body["decision"]["code"] == "OK_PICKUP"
    assert [type(e) for e in check(v, "X1", "decision", body)] == [PairingOpened]
    v = Venue()
    body = bound_with_code(v)
    assert body["decision"]["code"] == "OK_BIND"
    assert len(check(v, "D1", "decision", body)) == 2


def test_a_walkin_holds_the_phone_masked_and_one_written_before_in_full_is_still_taken() -> None:
    v = Venue()
    body = walk_in(v)
    assert body["events"][0]["phone"] == "*******8000"  # what every gate hears
    v = Venue()
    old = event_forged(0, phone="13800138000")(walk_in(v))  # a journal of an older release
    (registered, _) = check(v, "D1", "decision", old)
    assert isinstance(registered, ChildRegistered) and registered.phone == "13800138000"


def forge(body: Body, **decision: Any) -> Body:
    return {**body, "decision": {**body["decision"], **decision}}


def event_forged(index: int, **fields: Any) -> Callable[[Body], Body]:
    def forged(body: Body) -> Body:
        events = list(body["events"])
        events[index] = {**events[index], **fields}
        return {**body, "events": events}

    return forged


CASES = [
    # a walk-in registered by an exit gate
    ("X1", walk_in, lambda b: b, Reason.FOREIGN_GATE),
    # a walk-in with a phone that is no mobile number, or a name with control characters
    ("D1", walk_in, event_forged(0, phone="12345"), Reason.DECISION_MISMATCH),
    ("D1", walk_in, event_forged(0, phone="*******80"), Reason.DECISION_MISMATCH),
    ("D1", walk_in, event_forged(0, phone="138*****8000"), Reason.DECISION_MISMATCH),
    ("D1", walk_in, event_forged(0, guardian="Li\x00Na"), Reason.DECISION_MISMATCH),
    # a walk-in group named for another desk
    ("D1", walk_in, event_forged(0, group="W-D2-20260701-1"), Reason.DECISION_MISMATCH),
    # a registration no staff badge authorised
    ("D1", walk_in, lambda b: forge(b, staff="04EEBAD0"), Reason.DECISION_MISMATCH),
    # a pickup code issued as the code itself, not its digest
    ("D1", walk_in, event_forged(1, digest="123456"), Reason.DECISION_MISMATCH),
    # a list of another group than the decision's
    ("D1", listed, event_forged(0, group="T-FAMILY"), Reason.DECISION_MISMATCH),
    # a pickup that opens another group's window, or an adult's
    ("X1", picked_up, event_forged(0, group="T-FAMILY"), Reason.DECISION_MISMATCH),
    ("X1", picked_up, event_forged(0, adult="04A10001"), Reason.DECISION_MISMATCH),
    # a pickup at an entry gate
    ("E1", picked_up, lambda b: b, Reason.FOREIGN_GATE),
    # a bind that also issues a code for another group
    ("D1", bound_with_code, event_forged(1, group="T-FAMILY"), Reason.DECISION_MISMATCH),
]


@pytest.mark.parametrize(("gate", "made", "forged", "reason"), CASES)
def test_a_forged_entry_is_refused(
    gate: str, made: Callable[[Venue], Body], forged: Callable[[Body], Body], reason: Reason
) -> None:
    v = solo_inside() if made in (listed, picked_up) else Venue()
    body = forged(made(v))
    with pytest.raises(Refused) as refused:
        check(v, gate, "decision", body)
    assert refused.value.reason is reason, refused.value


def test_a_desk_never_says_a_pickup_and_an_exit_never_registers() -> None:
    v = solo_inside()
    body = picked_up(v)
    moved = {**body, "decision": {**body["decision"], "gate": "D1"}}
    moved = with_events(
        moved, PairingOpened("D1", later(T0, 60), SOLO, Mode.EXIT, PICKUP_PREFIX + DIGEST)
    )
    with pytest.raises(Refused) as refused:
        check(v, "D1", "decision", moved)
    assert refused.value.reason is Reason.ROLE_CANNOT
