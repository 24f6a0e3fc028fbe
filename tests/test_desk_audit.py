"""The hub's audit of desk actions (hub/fold/audit.py): a desk action's decision names the staff
badge that authorised it (`staff` in its body); the hub re-checks that the badge is enrolled,
unrevoked and was tapped on that desk's reader within the window, and raises a critical
`desk_action_not_authorised` finding naming the desk when it was not. Gates and hub as in
tests/test_hub_audit.py (the real rules, journals, store and fold).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_hub_audit import LOST_BADGE, STRANGER
from test_hub_reconcile import POLICY, STAFF, Net, bind, venue_allowlist

from gate.core import Code, Decision, GroupsJoined, Mode
from gate.link.codec import decision_to_dict, event_to_dict


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    n = Net(tmp_path)
    n.gate("D1", Mode.BIND)
    n.gate("D2", Mode.BIND)
    yield n
    for g in n.gates.values():
        g.journal.close()
    n.hub.close()


def join_at(net: Net, desk: str, staff: str | None) -> None:
    """Desk `desk` journals a join of T-A and T-B named as authorised by `staff`."""
    g = net.gates[desk]
    joined = GroupsJoined(desk, g.now(), "T-A", "T-B")
    decision = Decision(Code.OK_JOIN, "one family now: T-A, T-B", "T-A", desk, "T-A")
    scanned = {"kind": "barcode", "value": "T-A", "mode": "bind", "intent": "final"}
    body: dict[str, Any] = {
        "scan": {**scanned, "token": False, "tag": False, "offline": False},
        "decision": decision_to_dict(decision),
        "events": [event_to_dict(joined)],
        "request": "c0001",
    }
    if staff is not None:
        body["staff"] = staff
    g.journal.append("decision", body)
    net.sync()
    net.clock.tick()


def critical(net: Net) -> list[Any]:
    return [f for f in net.hub.venue.findings() if f.critical]


def test_a_join_by_the_badge_tapped_at_that_desk_is_no_violation(net: Net) -> None:
    bind(net, "D1", "A", "B")
    assert net.scan("D1", STAFF).code is Code.OK_STAFF
    join_at(net, "D1", STAFF)
    assert critical(net) == []
    with net.hub.venue.reading() as state:
        assert state.family("T-A") == {"T-A", "T-B"}


def test_a_technicians_join_names_no_badge_and_is_no_desk_action(net: Net) -> None:
    bind(net, "D1", "A", "B")
    join_at(net, "D1", None)  # gatectl join: journalled with the technician's login
    assert critical(net) == []


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ("never tapped", f"staff badge {STAFF} was not armed at D1"),
        ("tapped at the other desk", f"staff badge {STAFF} was not armed at D1 (armed at D2"),
        ("unenrolled", f"staff badge {STRANGER} is not enrolled"),
        ("revoked", f"staff badge {LOST_BADGE} (Li Lei) is revoked: lost on duty"),
        ("tapped long ago", f"staff badge {STAFF} armed at D1"),
    ],
)
def test_a_desk_action_no_badge_tapped_there_authorised_is_a_violation(
    net: Net, how: str, why: str
) -> None:
    allowlist = venue_allowlist()
    allowlist.staff[LOST_BADGE] = "Li Lei"
    allowlist.revoked[LOST_BADGE] = "lost on duty"
    net.hub.venue.allowlist = allowlist
    bind(net, "D1", "A", "B")
    badge = {"unenrolled": STRANGER, "revoked": LOST_BADGE}.get(how, STAFF)
    if how == "tapped at the other desk":
        assert net.scan("D2", STAFF).code is Code.OK_STAFF
    elif how == "tapped long ago":
        assert net.scan("D1", STAFF).code is Code.OK_STAFF
        net.clock.tick(int(POLICY.pairing_window_s * 1000) + 5000)
    join_at(net, "D1", badge)
    (found,) = critical(net)
    assert (found.kind, found.gates, found.group) == ("desk_action_not_authorised", ("D1",), "T-A")
    assert why in found.detail and "OK_JOIN" in found.detail, found.detail
