"""What a desk may say of its revocations, restorations and incidents
(`gate.core.peer_desk_records`), table-driven: every accepted entry is what the desk's own
functions journal (`gate.daemon.desk_records`'s body around `gate.core.desk_records`' outcome);
every refused one is such an entry with one thing forged, and asserts the stable reason. The
hub vets with the same check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rules_helpers import (
    ADULT_1,
    CHILD_1,
    DESK,
    FAMILY,
    REFUNDED,
    STAFF,
    T0,
    Venue,
    badge,
    family_inside,
)
from test_authority import check, journalled, with_events

from gate.core import (
    IncidentClosed,
    IncidentOpened,
    Mode,
    ValueRestored,
    ValueRevoked,
    close_incident,
    open_incident,
    restore_value,
    revoke_value,
)
from gate.core.authority import Reason, Refused
from gate.core.rules import Outcome
from gate.link.codec import decision_to_dict, event_to_dict

Body = dict[str, Any]


def said(outcome: Outcome) -> Body:
    """The body a desk journals (as `desk_journal.record_desk_decision` writes it)."""
    decision, events = outcome
    scanned = {"kind": "nfc", "value": decision.value, "mode": "bind", "intent": "final"}
    return {
        "scan": {**scanned, "token": False, "tag": False, "offline": False},
        "decision": decision_to_dict(decision),
        "events": [event_to_dict(e) for e in events],
        "staff": STAFF,
    }


def armed() -> Venue:
    v = family_inside()
    journalled(v, badge(DESK, Mode.BIND), T0)
    return v


def revoked(v: Venue) -> Body:
    return said(revoke_value(v.state, DESK, T0, v.policy, CHILD_1, "stolen", STAFF))


def restored(v: Venue) -> Body:
    return said(restore_value(v.state, DESK, T0, v.policy, REFUNDED, STAFF))


def opened(v: Venue) -> Body:
    return said(open_incident(v.state, DESK, T0, v.policy, "lost_child", ADULT_1, "", "", STAFF))


def closed(v: Venue) -> Body:
    return said(close_incident(v.state, DESK, T0, v.policy, "", FAMILY, "found", STAFF))


MADE: dict[str, Callable[[Venue], Body]] = {
    "revoked": revoked,
    "restored": restored,
    "incident opened": opened,
    "incident closed": closed,
}


def _at(body: Body, gate: str) -> Body:
    events = [{**e, "gate": gate} for e in body["events"]]
    return {**body, "decision": {**body["decision"], "gate": gate}, "events": events}


def _forge(body: Body, **decision: Any) -> Body:
    return {**body, "decision": {**body["decision"], **decision}}


@pytest.mark.parametrize("made", MADE.values(), ids=MADE.keys())
@pytest.mark.parametrize("gate", ["D1", "H1"])
def test_a_desks_own_records_are_accepted(made: Callable[[Venue], Body], gate: str) -> None:
    v = armed()
    body = made(v)
    if gate != DESK:  # a handheld records as a desk does
        body = _at(body, gate)
    assert body["events"] and check(v, gate, "decision", body) is not None


FORGERIES: dict[str, tuple[Callable[[Venue], Body], Callable[[Body], Body], Reason]] = {
    "a revocation from an exit gate": (revoked, lambda b: _at(b, "X1"), Reason.ROLE_CANNOT),
    "a revocation from an entry gate": (revoked, lambda b: _at(b, "E1"), Reason.ROLE_CANNOT),
    "an incident from an exit gate": (opened, lambda b: _at(b, "X1"), Reason.ROLE_CANNOT),
    "no staff named": (revoked, lambda b: _forge(b, staff=None), Reason.DECISION_MISMATCH),
    "a badge not enrolled": (
        restored,
        lambda b: _forge(b, staff="04BAD0BAD0"),
        Reason.DECISION_MISMATCH,
    ),
    "another value revoked": (
        revoked,
        lambda b: with_events(b, ValueRevoked(DESK, T0, ADULT_1, "stolen", STAFF)),
        Reason.DECISION_MISMATCH,
    ),
    "a staff badge revoked at a desk": (
        revoked,
        lambda b: with_events(
            _forge(b, value=STAFF), ValueRevoked(DESK, T0, STAFF, "stolen", STAFF)
        ),
        Reason.DECISION_MISMATCH,
    ),
    "an event's badge not the decision's": (
        restored,
        lambda b: with_events(b, ValueRestored(DESK, T0, REFUNDED, "refund", "04EE0002")),
        Reason.DECISION_MISMATCH,
    ),
    "a reason of many lines": (
        revoked,
        lambda b: with_events(b, ValueRevoked(DESK, T0, CHILD_1, "a\nb", STAFF)),
        Reason.DECISION_MISMATCH,
    ),
    "two revocations at once": (
        revoked,
        lambda b: with_events(
            b,
            ValueRevoked(DESK, T0, CHILD_1, "stolen", STAFF),
            ValueRevoked(DESK, T0, ADULT_1, "stolen", STAFF),
        ),
        Reason.DECISION_MISMATCH,
    ),
    "an incident of another family": (
        opened,
        lambda b: with_events(
            b, IncidentOpened(DESK, T0, "lost_child", "T-DUO", ADULT_1, "", STAFF)
        ),
        Reason.DECISION_MISMATCH,
    ),
    "an incident of no known kind": (
        opened,
        lambda b: with_events(b, IncidentOpened(DESK, T0, "abduction", FAMILY, ADULT_1, "", STAFF)),
        Reason.DECISION_MISMATCH,
    ),
    "a close with no outcome known": (
        closed,
        lambda b: with_events(b, IncidentClosed(DESK, T0, FAMILY, "gone", STAFF)),
        Reason.DECISION_MISMATCH,
    ),
    "a revocation under a passage grant": (
        revoked,
        lambda b: _forge(b, code="OK_REGISTERED"),
        Reason.DECISION_MISMATCH,
    ),
}


@pytest.mark.parametrize(
    ("made", "forge", "reason"), FORGERIES.values(), ids=list(FORGERIES.keys())
)
def test_a_forged_record_is_refused(
    made: Callable[[Venue], Body], forge: Callable[[Body], Body], reason: Reason
) -> None:
    v = armed()
    body = forge(made(v))
    with pytest.raises(Refused) as refused:
        check(v, body["decision"]["gate"], "decision", body)
    assert refused.value.reason is reason, refused.value
