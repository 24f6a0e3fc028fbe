"""What a gate may say of vouchers, school groups and joins: `gate.core.peer_decisions` through
`gate.link.vetting`. Each accepted entry is what the real rules core produced for a gate of that
role; each refused one is such an entry with one thing forged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rules_helpers import ADULT_1, ADULT_3, CHILD_3, DUO, FAMILY, T0, Venue, family_inside, later
from test_authority import Body, check, journalled, nfc, with_events

from gate.core import (
    GroupsJoined,
    Intent,
    Kind,
    MemberMoved,
    MemberState,
    Mode,
    PairingExtended,
    PairingOpened,
    Role,
    Scan,
    Ticket,
    Voucher,
    VoucherUsed,
    fold,
    join,
)
from gate.core.authority import Reason, Refused
from gate.link.codec import decision_to_dict, event_to_dict

CLASS = "T-CLASS"
TEACHER, PUPILS = "04A20001", ("04C20001", "04C20002")


def voucher_back(v: Venue) -> Body:
    """ADULT_1 out at X1 on a temporary exit, back at E1 by a voucher: E1's entry."""
    family_inside_state = family_inside()
    v.state = family_inside_state.state
    journalled(v, nfc("X1", Mode.EXIT, ADULT_1, Intent.TEMPORARY), later(T0, 60))
    voucher = Voucher("5EA1C0DE01", ADULT_1, T0 + timedelta(hours=2))
    scan = Scan("E1", Mode.ENTRY, Kind.BARCODE, "WV1CODE", voucher=voucher)
    return journalled(v, scan, later(T0, 600))


def class_out(v: Venue) -> Body:
    """A teacher out at X1, then a pupil through the window it runs on: X1's second entry."""
    v.state.allowlist.tickets[CLASS] = Ticket(
        CLASS, "school", 1, 2, T0.date(), T0.date(), leaders=1
    )
    v.state.allowlist.bands.update({TEACHER: Role.ADULT} | {p: Role.CHILD for p in PUPILS})
    v.bind(CLASS, TEACHER, *PUPILS).admit(TEACHER, *PUPILS)
    journalled(v, nfc("X1", Mode.EXIT, TEACHER), later(T0, 60))
    return journalled(v, nfc("X1", Mode.EXIT, PUPILS[0]), later(T0, 70))


def reopened(v: Venue) -> Body:
    class_out(v)
    journalled(v, nfc("X1", Mode.EXIT, PUPILS[1]), later(T0, 75))
    return journalled(v, nfc("X1", Mode.EXIT, TEACHER), later(T0, 400))


def joined(v: Venue) -> Body:
    v.bind(DUO, ADULT_3, CHILD_3)
    decision, events = join(v.state, "D1", FAMILY, DUO, T0, v.policy)
    scanned = {"kind": "barcode", "value": FAMILY, "mode": "bind", "intent": "final"}
    return {
        "scan": {**scanned, "token": False, "tag": False, "offline": False},
        "decision": decision_to_dict(decision),
        "events": [event_to_dict(e) for e in events],
    }


def test_what_real_gates_journal_is_accepted() -> None:
    v = Venue()
    body = voucher_back(v)
    assert body["decision"]["code"] == "OK_REENTRY" and body["decision"]["member"] == ADULT_1
    assert any(isinstance(e, VoucherUsed) for e in check(v, "E1", "decision", body))
    v = Venue()
    body = class_out(v)
    assert any(isinstance(e, PairingExtended) for e in check(v, "X1", "decision", body))
    v = Venue()
    body = reopened(v)
    assert body["decision"]["code"] == "OK_GROUP_WINDOW"
    assert [type(e) for e in check(v, "X1", "decision", body)] == [PairingOpened]
    v = family_inside()
    assert [type(e) for e in check(v, "D1", "decision", joined(v))] == [GroupsJoined]


def forge(body: Body, **decision: Any) -> Body:
    return {**body, "decision": {**body["decision"], **decision}}


def said_by(gate: str) -> Any:
    """The entry as if another gate had journalled it (its events and decision naming it)."""

    def moved(body: Body) -> Body:
        events = [{**e, "gate": gate} for e in body["events"]]
        return {**forge(body, gate=gate), "events": events}

    return moved


CASES = [
    # a voucher's entry that moves another band than the one it names
    ("E1", voucher_back, lambda b: forge(b, member=ADULT_3), Reason.DECISION_MISMATCH),
    # a voucher spent by an exit gate
    ("X1", voucher_back, said_by("X1"), Reason.ROLE_CANNOT),
    # a window run on for an adult
    (
        "X1",
        class_out,
        lambda b: with_events(
            b,
            MemberMoved("X1", T0, PUPILS[0], CLASS, MemberState.EXITED),
            PairingExtended("X1", T0, CLASS, Mode.EXIT, TEACHER),
        ),
        Reason.DECISION_MISMATCH,
    ),
    # a leader's reopening that lets someone through
    (
        "X1",
        reopened,
        lambda b: with_events(
            b,
            PairingOpened("X1", T0, CLASS, Mode.EXIT, TEACHER),
            MemberMoved("X1", T0, PUPILS[1], CLASS, MemberState.EXITED),
        ),
        Reason.DECISION_MISMATCH,
    ),
    # a join said by an entry gate
    ("E1", joined, said_by("E1"), Reason.ROLE_CANNOT),
    # a join of a ticket with itself
    (
        "D1",
        joined,
        lambda b: with_events(b, GroupsJoined("D1", T0, FAMILY, FAMILY)),
        Reason.DECISION_MISMATCH,
    ),
]


@pytest.mark.parametrize(("gate", "make", "forged", "reason"), CASES)
def test_forged_entries_are_refused(gate, make, forged, reason) -> None:
    v = family_inside() if make is joined else Venue()
    body = forged(make(v))
    with pytest.raises(Refused) as refused:
        check(v, gate, "decision", body)
    assert refused.value.reason is reason


def test_the_join_folds_into_one_family_at_every_consumer() -> None:
    v = family_inside()
    for event in check(v, "D1", "decision", joined(v)):
        fold(v.state, event)
    assert v.state.family(DUO) == {FAMILY, DUO}
