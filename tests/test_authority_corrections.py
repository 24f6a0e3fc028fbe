"""What a desk may say of its corrections (`gate.core.peer_corrections`), table-driven: every
accepted entry is what the desk's own functions journal (`gate.daemon.desk_corrections`'s body
around `gate.core.corrections`' outcome); every refused one is such an entry with one thing
forged, and asserts the stable reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from rules_helpers import (
    ADULT_1,
    ADULT_3,
    ADULT_4,
    CHILD_1,
    CHILD_3,
    CHILD_5,
    DESK,
    DUO,
    FAMILY,
    STAFF,
    T0,
    Venue,
    badge,
    family_inside,
)
from rules_helpers import nfc as plain
from test_authority import ROSTER, check, journalled, with_events

from gate.core import (
    BandReissued,
    BandReplaced,
    BandUnbound,
    GroupFlagged,
    MemberState,
    Mode,
    Role,
    fold,
    reissue_band,
    replace_band,
    unbind_band,
)
from gate.core.authority import Reason, Refused
from gate.core.rules import Outcome
from gate.link.codec import decision_to_dict, event_to_dict

Body = dict[str, Any]


def corrected(v: Venue, outcome: Outcome) -> Body:
    """The body a desk journals for a correction (as `desk_corrections._record` writes it)."""
    decision, events = outcome
    scanned = {"kind": "nfc", "value": decision.value, "mode": "bind", "intent": "final"}
    return {
        "scan": {**scanned, "token": False, "tag": False, "offline": False},
        "decision": decision_to_dict(decision),
        "events": [event_to_dict(e) for e in events],
    }


def armed(v: Venue) -> Venue:
    journalled(v, badge(DESK, Mode.BIND), T0)
    return v


def replaced(v: Venue) -> Body:
    return corrected(v, replace_band(v.state, DESK, T0, v.policy, CHILD_1, CHILD_5, STAFF))


def unbound(v: Venue) -> Body:
    return corrected(v, unbind_band(v.state, DESK, T0, v.policy, CHILD_1, STAFF))


def reissued(v: Venue) -> Body:
    for uid in (ADULT_1, CHILD_1):
        v.state.members[uid] = replace(v.state.members[uid], state=MemberState.EXITED)
    return corrected(v, reissue_band(v.state, DESK, T0, v.policy, ADULT_1, STAFF))


def last_adult_unbound(v: Venue) -> Body:
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    return corrected(v, unbind_band(v.state, DESK, T0, v.policy, ADULT_3, STAFF))


MADE: dict[str, Callable[[Venue], Body]] = {
    "replaced": replaced,
    "unbound": unbound,
    "reissued": reissued,
    "last adult unbound": last_adult_unbound,
}


@pytest.mark.parametrize("made", MADE.values(), ids=MADE.keys())
@pytest.mark.parametrize("gate", ["D1", "H1"])
def test_a_desks_own_corrections_are_accepted(made: Callable[[Venue], Body], gate: str) -> None:
    v = armed(family_inside())
    body = made(v)
    if gate != DESK:  # a handheld in bind mode corrects as a desk does
        body = _at(body, gate)
    assert body["events"] and check(v, gate, "decision", body) is not None


def _at(body: Body, gate: str) -> Body:
    events = [{**e, "gate": gate} for e in body["events"]]
    return {**body, "decision": {**body["decision"], "gate": gate}, "events": events}


def _forge(body: Body, **decision: Any) -> Body:
    return {**body, "decision": {**body["decision"], **decision}}


FORGERIES: dict[str, tuple[Callable[[Venue], Body], Callable[[Body], Body], Reason]] = {
    "at an exit gate": (replaced, lambda b: _at(b, "X1"), Reason.ROLE_CANNOT),
    "no staff named": (replaced, lambda b: _forge(b, staff=None), Reason.DECISION_MISMATCH),
    "a badge not enrolled": (
        replaced,
        lambda b: _forge(b, staff="04BAD0BAD0"),
        Reason.DECISION_MISMATCH,
    ),
    "another member replaced": (
        replaced,
        lambda b: with_events(b, BandReplaced(DESK, T0, ADULT_1, CHILD_5, FAMILY, STAFF)),
        Reason.DECISION_MISMATCH,
    ),
    "a child's place for an adult band": (
        replaced,
        lambda b: _stock_forged(b),
        Reason.STOCK_ROLE,
    ),
    "an unbinding flags nobody's group": (
        unbound,
        lambda b: with_events(
            b,
            BandUnbound(DESK, T0, CHILD_1, FAMILY, Role.CHILD, MemberState.INSIDE, STAFF),
            GroupFlagged(DESK, T0, FAMILY),
        ),
        Reason.DECISION_MISMATCH,
    ),
    "a band re-issued inside": (
        reissued,
        lambda b: with_events(
            b, BandReissued(DESK, T0, ADULT_1, FAMILY, MemberState.INSIDE, STAFF)
        ),
        Reason.DECISION_MISMATCH,
    ),
    "two corrections at once": (
        replaced,
        lambda b: with_events(
            b,
            BandReplaced(DESK, T0, CHILD_1, CHILD_5, FAMILY, STAFF),
            BandUnbound(DESK, T0, CHILD_1, FAMILY, Role.CHILD, MemberState.INSIDE, STAFF),
        ),
        Reason.DECISION_MISMATCH,
    ),
    "a correction denied, yet an event": (
        replaced,
        lambda b: _forge(b, code="DENY_BINDING"),
        Reason.DECISION_MISMATCH,
    ),
}


def _stock_forged(body: Body) -> Body:
    event = BandReplaced(DESK, T0, CHILD_1, ADULT_4, FAMILY, STAFF)
    return with_events(body, event)


@pytest.mark.parametrize("case", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_correction_is_refused_with_its_reason(
    case: tuple[Callable[[Venue], Body], Callable[[Body], Body], Reason],
) -> None:
    made, forge, reason = case
    v = armed(family_inside())
    body = forge(made(v))
    gate = body["decision"]["gate"]
    with pytest.raises(Refused) as refused:
        check(v, gate, "decision", body, ROSTER)
    assert refused.value.reason is reason, refused.value


def test_a_token_written_to_a_bound_band_changes_nothing_and_is_accepted() -> None:
    v = armed(family_inside())
    _decision, events = replace_band(v.state, DESK, T0, v.policy, CHILD_1, CHILD_5, STAFF)
    for event in events:
        fold(v.state, event)
    blank = replace(plain(DESK, Mode.BIND, CHILD_5), tag=True)
    body = journalled(v, blank, T0)
    assert body["decision"]["code"] == "OK_CORRECTED" and body["events"] == []
    assert check(v, DESK, "decision", body) == []
