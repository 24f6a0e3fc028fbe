"""The hub and wrong pickup codes (`hub.fold.audit_pickups`): an exit gate journals each wrong
code and the solo child waiting for it; the hub vets and folds them with the gate's core and,
when the policy's number of wrong codes within its period is reached for a child (or at a lane
with no child shown), raises one critical `pickup_codes_locked` finding naming the child's group
and the gate, an alert on the wall display. Gates and hub as in tests/test_hub_reconcile.py (the
real rules, journals, store, ingest and fold)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_hub_reconcile import POLICY, STAFF, Net

from gate.core import Code, Decision, Kind, Mode, Scan, decide, fold
from gate.core.rules import PICKUP_PREFIX
from gate.link.codec import decision_to_dict, event_to_dict
from hub.fold.audit_pickups import pickup_alerts

SOLO_BAND = "04C0000S"


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    n = Net(tmp_path)
    n.gate("D1", Mode.BIND)
    n.gate("E1", Mode.ENTRY)
    n.gate("X1", Mode.EXIT)
    n.gate("X2", Mode.EXIT)
    assert n.scan("D1", "T-SOLO").granted and n.scan("D1", SOLO_BAND).granted
    assert n.scan("E1", SOLO_BAND).granted
    yield n
    for g in n.gates.values():
        g.journal.close()
    n.hub.close()


def code_shown(net: Net, gate: str, code: str) -> Decision:
    """A pickup code read by `gate`'s scanner, decided and journalled as the exit gate does."""
    g = net.gates[gate]
    now = g.now()
    digest = hashlib.sha256(code.encode()).hexdigest()
    scan = Scan(gate, Mode.EXIT, Kind.BARCODE, PICKUP_PREFIX + digest, pickup=True)
    decision, events = decide(g.state, scan, now, POLICY)
    scanned = {"kind": "barcode", "value": scan.value, "mode": "exit", "intent": "final"}
    g.journal.append(
        "decision",
        {
            "scan": {**scanned, "token": False, "tag": False, "offline": False},
            "decision": decision_to_dict(decision),
            "events": [event_to_dict(e) for e in events],
        },
    )
    for event in events:
        fold(g.state, event)
        fold(net.truth, event)  # the venue's ground truth, as for every scan of the net
    net.sync()
    net.clock.tick()
    return decision


def locked(net: Net) -> list[object]:
    return [f for f in net.hub.venue.findings() if f.kind == "pickup_codes_locked"]


def test_the_third_wrong_code_for_a_child_is_one_critical_finding_naming_group_and_gate(
    net: Net,
) -> None:
    assert net.scan("X1", SOLO_BAND).code is Code.DENY_GUARDIAN_PICKUP  # the child waits
    for n, code in enumerate(("000001", "000002"), start=1):
        assert code_shown(net, "X1", code).code is Code.DENY_PICKUP_MISMATCH
        assert locked(net) == [], f"locked after {n}"
    assert code_shown(net, "X1", "000003").code is Code.DENY_PICKUP_MISMATCH
    (found,) = locked(net)
    assert (found.gates, found.group, found.critical) == (("X1",), "T-SOLO", True)
    assert "3 wrong pickup codes for the child of group T-SOLO" in found.detail
    assert code_shown(net, "X1", "000004").code is Code.DENY_PICKUP_LOCKED
    assert len(locked(net)) == 1  # refused, not counted: once per lock
    assert net.hub.store.quarantined() == []  # every gate's entries vetted and taken
    with net.hub.venue.reading() as state:
        assert len(state.wrong_codes["T-SOLO"]) == 3
    alerts = pickup_alerts(net.hub.venue.findings(), POLICY.tz)
    assert [a["kind"] for a in alerts] == ["pickup_codes_locked"]
    assert "T-SOLO" not in alerts[0]["text"] and "X1" in alerts[0]["text"]


def test_another_exit_gate_knows_the_lock_and_an_override_is_an_unverified_pickup(
    net: Net,
) -> None:
    assert net.scan("X1", SOLO_BAND).code is Code.DENY_GUARDIAN_PICKUP
    for code in ("000001", "000002", "000003"):
        code_shown(net, "X1", code)
    assert net.scan("X2", SOLO_BAND).code is Code.DENY_PICKUP_LOCKED  # heard from X1
    assert net.scan("X2", STAFF).code is Code.OK_STAFF
    out = net.scan("X2", SOLO_BAND)
    assert (out.code, out.overrode) == (Code.OK_OVERRIDE, Code.DENY_PICKUP_LOCKED)
    kinds = sorted(f.kind for f in net.hub.venue.findings())
    assert kinds == ["pickup_codes_locked", "unverified_pickup"]
    assert [f for f in net.hub.venue.findings() if f.kind == "child_released_alone"] == []


def test_wrong_codes_with_no_child_shown_lock_the_lane(net: Net) -> None:
    for code in ("000001", "000002", "000003"):
        assert code_shown(net, "X1", code).group is None
    (found,) = locked(net)
    assert (found.gates, found.group) == (("X1",), None)
    assert "with no child shown" in found.detail and "X1 refuses codes shown" in found.detail
    when = datetime.fromtimestamp(net.clock.ms / 1000, UTC)
    assert found.at <= when
