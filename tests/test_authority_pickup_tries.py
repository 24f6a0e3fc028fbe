"""What an exit gate may say of the pickup codes tried (`gate.core.peer_guardians`'s
`check_pickup_tried`): a denial changes nothing, but a solo child refused for want of its code
waits at the lane (`PickupAsked`, its own band and group), and a wrong code is counted once
(`PickupCodeRefused`, for the group its decision names). Each accepted entry is what the real
rules core produced; each refused one such an entry with one thing forged."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from rules_helpers import CHILD_4, SOLO, T0, Venue, later, solo_inside
from test_authority import Body, check, journalled, nfc, with_events

from gate.core import Kind, Mode, PickupAsked, PickupCodeRefused, Scan
from gate.core.authority import Reason, Refused
from gate.core.rules import PICKUP_PREFIX

COUNTED = PickupCodeRefused("X1", T0, SOLO)
WRONG = PICKUP_PREFIX + hashlib.sha256(b"000001").hexdigest()


def child_waits(v: Venue) -> Body:
    return journalled(v, nfc("X1", Mode.EXIT, CHILD_4), later(T0, 60))


def wrong_code(v: Venue) -> Body:
    child_waits(v)
    scan = Scan("X1", Mode.EXIT, Kind.BARCODE, WRONG, pickup=True)
    return journalled(v, scan, later(T0, 62))


def test_what_real_exit_gates_journal_is_accepted() -> None:
    v = solo_inside()
    body = child_waits(v)
    assert body["decision"]["code"] == "DENY_GUARDIAN_PICKUP"
    assert [type(e) for e in check(v, "X1", "decision", body)] == [PickupAsked]
    v = solo_inside()
    body = wrong_code(v)
    assert (body["decision"]["code"], body["decision"]["group"]) == ("DENY_PICKUP_MISMATCH", SOLO)
    assert [type(e) for e in check(v, "X1", "decision", body)] == [PickupCodeRefused]


def forged_event(**fields: Any) -> Callable[[Body], Body]:
    def forged(body: Body) -> Body:
        return {**body, "events": [{**body["events"][0], **fields}]}

    return forged


def code(value: str) -> Callable[[Body], Body]:
    return lambda b: {**b, "decision": {**b["decision"], "code": value}}


CASES = [
    # a child waiting with another band, or for another group
    (child_waits, forged_event(uid="04C10001"), Reason.DECISION_MISMATCH),
    (child_waits, forged_event(group="T-FAMILY"), Reason.DECISION_MISMATCH),
    # a wait journalled by a denial that asks for no code
    (child_waits, code("DENY_NOT_INSIDE"), Reason.DECISION_MISMATCH),
    # a wrong code counted for another group than its decision names
    (wrong_code, forged_event(group="T-FAMILY"), Reason.DECISION_MISMATCH),
    # a wrong code counted by a denial of a band, or two at once
    (
        child_waits,
        lambda b: with_events(b, PickupCodeRefused("X1", T0, SOLO)),
        Reason.DECISION_MISMATCH,
    ),
    (
        wrong_code,
        lambda b: with_events(
            b, PickupCodeRefused("X1", T0, SOLO), PickupCodeRefused("X1", T0, SOLO)
        ),
        Reason.DECISION_MISMATCH,
    ),
    # a wrong code said by an entry gate
    (wrong_code, lambda b: b, Reason.FOREIGN_GATE),
]


@pytest.mark.parametrize(("made", "forged", "reason"), CASES)
def test_a_forged_entry_is_refused(
    made: Callable[[Venue], Body], forged: Callable[[Body], Body], reason: Reason
) -> None:
    v = solo_inside()
    body = forged(made(v))
    gate = "E1" if reason is Reason.FOREIGN_GATE else "X1"
    with pytest.raises(Refused) as refused:
        check(v, gate, "decision", body)
    assert refused.value.reason is reason, refused.value


def test_a_desk_never_says_a_code_was_tried() -> None:
    v = solo_inside()
    body = wrong_code(v)
    moved = {**body, "decision": {**body["decision"], "gate": "D1"}}
    moved = with_events(moved, PickupCodeRefused("D1", later(T0, 62), SOLO))
    with pytest.raises(Refused) as refused:
        check(v, "D1", "decision", moved)
    assert refused.value.reason is Reason.ROLE_CANNOT
