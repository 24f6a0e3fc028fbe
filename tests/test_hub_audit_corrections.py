"""The hub's audit of the desk's corrections (hub/fold/audit_overrides.py's desk actions): a band
replaced, unbound or re-issued with the staff badge tapped at that desk raises nothing; one
corrected by a desk with no badge tapped there within the window is a rule violation naming the
desk and the band, `desk_action_not_authorised` like every desk action (one finding for one
fact: its decision's badge and its event's are judged once), with its entry listed in the daily
report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_hub_audit import family_inside, violations
from test_hub_reconcile import POLICY, STAFF, Net, bind, family, through

from gate.core import fold, hand_back_band, replace_band, unbind_band
from gate.core.rules import Outcome
from gate.link.codec import decision_to_dict, event_to_dict
from hub.views.labels import label
from hub.views.reports.daily import daily_report

NEW_BAND = family("B")[2]  # a child band of the stock, never bound


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    n = Net(tmp_path)
    yield n
    for g in n.gates.values():
        g.journal.close()
    n.hub.close()


def journal_correction(net: Net, gate: str, outcome: Outcome) -> None:
    """As the desk's functions journal a correction (`gate.daemon.desk_corrections`)."""
    g = net.gates[gate]
    decision, events = outcome
    scanned = {"kind": "nfc", "value": decision.value, "mode": "bind", "intent": "final"}
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
    net.sync()
    net.clock.tick()


def test_corrections_with_the_badge_tapped_at_the_desk_break_no_rule(net: Net) -> None:
    family_inside(net, "A")
    child = family("A")[2]
    assert net.scan("D1", STAFF).code.value == "OK_STAFF"
    d1 = net.gates["D1"]
    outcome = replace_band(d1.state, "D1", d1.now(), POLICY, child, NEW_BAND, STAFF)
    assert outcome[0].granted, outcome
    journal_correction(net, "D1", outcome)
    assert violations(net) == []
    with net.hub.venue.reading() as state:
        assert state.members[NEW_BAND].state.value == "inside"
        assert child in state.revocations


def test_a_correction_with_no_badge_tapped_at_that_desk_is_a_rule_violation(net: Net) -> None:
    family_inside(net, "A")
    _, adult, _child = family("A")
    d1 = net.gates["D1"]
    outcome = unbind_band(d1.state, "D1", d1.now(), POLICY, adult, STAFF)  # nobody tapped
    journal_correction(net, "D1", outcome)
    assert violations(net) == [("desk_action_not_authorised", ("D1",), adult)]
    [found] = [f for f in net.hub.venue.findings() if f.critical]
    assert f"staff badge {STAFF} was not armed at D1" in found.detail
    assert f"BandUnbound {adult}" in found.detail
    report = daily_report(
        net.hub.store, d1.now().date(), POLICY.tz, findings=net.hub.venue.findings()
    )
    assert [c.kind for c in report.corrections] == ["unbound"]
    assert "desk_action_not_authorised" in {f.kind for f in report.findings}


def hand_back_at_desk(net: Net, adult: str) -> None:
    """Staff tap their badge at D1, then take `adult`'s band back there (as D1 sees it)."""
    assert net.scan("D1", STAFF).code.value == "OK_STAFF"
    d1 = net.gates["D1"]
    outcome = hand_back_band(d1.state, "D1", d1.now(), POLICY, adult, "", STAFF)
    assert outcome[0].granted, outcome
    journal_correction(net, "D1", outcome)


def test_a_band_handed_back_before_its_family_came_in_leaves_and_raises_nothing(net: Net) -> None:
    family_inside(net, "A")  # the gates; family A is the background
    _, adult, _ = family("B")
    bind(net, "D1", "B")
    hand_back_at_desk(net, adult)
    assert [f.kind for f in net.hub.venue.findings()] == []
    with net.hub.venue.reading() as state:
        assert state.members[adult].state.value == "exited"


def test_a_band_handed_back_at_a_desk_that_had_not_heard_of_its_entry_is_a_finding(
    net: Net,
) -> None:
    family_inside(net, "A")
    _, adult, _child = family("B")
    bind(net, "D1", "B")
    net.cut("D1")  # the desk hears nothing of what follows
    net.clock.at(40)
    through(net, "E1", "B")
    net.clock.at(41)
    hand_back_at_desk(net, adult)  # the desk still holds the band as bound: it takes it
    net.reconnect("D1")
    [found] = [f for f in net.hub.venue.findings() if f.kind == "hand_back_not_applied"]
    assert (found.gates, found.uid, found.critical) == (("D1",), adult, False)
    assert f"band {adult} is inside (last at E1)" in found.detail
    assert label(found.kind, "zh-CN") != label(found.kind) != found.kind  # said in both
    with net.hub.venue.reading() as state:  # the member stays where the gates hold it
        assert state.members[adult].state.value == "inside"
    assert violations(net) == []
