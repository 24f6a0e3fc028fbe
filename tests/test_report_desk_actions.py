"""A desk action is in the daily report's "Desk actions" sheet only, never in the technician's
test scans, whoever asked for it: `gatectl unbind` journals who asked, as a technician's test
scan does, refused (no badge tapped: no badge named) or granted (hub/views/reports/
desk_actions.py, technician_scans.py). The desk journals with its own code
(`gate.daemon.desk_journal`); the hub takes it through the real vetting, store and fold
(tests/test_hub_reconcile.py's `Net`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from gate_rig import wait_for
from test_hub_cli import gatectl, hub
from test_hub_reconcile import DAY, POLICY, STAFF, Net, bind
from venue_rig import Venue

from gate.core import Code, Decision, Kind, Mode, Scan, staff_at_desk
from gate.core.corrections import unbind_band
from gate.core.model import Refusal
from gate.core.rules import deny
from gate.daemon.desk_journal import authorised_by, record_desk_decision
from gate.daemon.ledger import Ledger
from gate.link.codec import decision_to_dict
from gate.store.presence import PresenceLog
from hub.views.reports.daily import DailyReport, daily_report
from hub.views.reports.sections import sections

TZ = ZoneInfo("Asia/Shanghai")
TECHNICIAN = {"uid": 1000, "user": "ana", "pid": 4242}  # as the control socket names gatectl's


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    n = Net(tmp_path)
    n.gate("D1", Mode.BIND)
    yield n
    for g in n.gates.values():
        g.journal.close()
    n.hub.close()


def gatectl_unbind(net: Net, tmp_path: Path, uid: str) -> Decision:
    """`gatectl unbind UID` at desk D1, decided and journalled as the desk does it
    (`gate.daemon.desk_corrections`: the badge tapped here, else a denial saying so)."""
    d1 = net.gates["D1"]
    presence = PresenceLog(tmp_path / "presence.db")
    ledger = Ledger(d1.journal, presence, d1.state.allowlist)
    ledger.rebuild()
    now = d1.now()
    staff = staff_at_desk(ledger.state, "D1", now, POLICY)
    if isinstance(staff, Refusal):
        decision, events = deny(Scan("D1", Mode.BIND, Kind.NFC, uid), staff.code, staff.message)
    else:
        decision, events = unbind_band(ledger.state, "D1", now, POLICY, uid, staff)
    record_desk_decision(ledger, decision, events, authorised_by(events), TECHNICIAN, Kind.NFC)
    presence.close()
    return decision


def technicians_test_scan(net: Net, value: str) -> None:
    """`gatectl scan --barcode VALUE` at D1, journalled as `gate.daemon.scans` does."""
    d1 = net.gates["D1"]
    decision = Decision(Code.DENY_UNKNOWN, "not in the allowlist", value, "D1")
    scanned = {"kind": "barcode", "value": value, "mode": "bind", "intent": "final"}
    d1.journal.append(
        "decision",
        {
            "scan": {**scanned, "token": False, "tag": False, "offline": False},
            "decision": decision_to_dict(decision),
            "asked_by": TECHNICIAN,
            "events": [],
        },
    )


def report_of(net: Net) -> DailyReport:
    net.sync()
    assert net.hub.store.quarantined() == []  # the hub's vetting took every entry
    return daily_report(net.hub.store, DAY, TZ)


def test_desk_actions_asked_at_gatectl_are_desk_actions_not_test_scans(
    net: Net, tmp_path: Path
) -> None:
    bind(net, "D1", "A")
    refused = gatectl_unbind(net, tmp_path, "04C0000A")  # no badge tapped
    assert refused.code is Code.DENY_BINDING
    assert net.scan("D1", STAFF).code is Code.OK_STAFF
    granted = gatectl_unbind(net, tmp_path, "04C0000A")
    assert granted.code is Code.OK_CORRECTED
    technicians_test_scan(net, "NOPE")
    report = report_of(net)
    assert [(a.gate, a.code, a.group, a.staff) for a in report.desk_actions] == [
        ("D1", "DENY_BINDING", "", ""),
        ("D1", "OK_CORRECTED", "T-A", STAFF),
    ]
    assert [(t.gate, t.value, t.code) for t in report.test_scans] == [
        ("D1", "NOPE", "DENY_UNKNOWN")
    ]
    # each desk action is journalled marked as one, the technician's scan is not
    journal = net.gates["D1"].journal.entries_after(0, limit=100)
    marked = [e.body.get("desk_action") for e in journal if e.kind == "decision"]
    assert marked.count(True) == 2
    titles = [s.title for s in sections(report, staff=True)]
    assert "Desk actions" in titles and "Technician's test scans" in titles
    assert report.as_dict(staff=True)["denials"] == {}  # neither is a visitor's denial


def test_gatectl_desk_actions_are_in_the_daily_reports_desk_actions_only(
    tmp_path: Path, fresh_broker
) -> None:
    """Through the real daemons: `gatectl unbind`, `gatectl join` and `gatectl walkin` at a
    running desk with no badge tapped, and a technician's test scan, then `hub report daily`."""

    venue = Venue(tmp_path / "venue-rig", fresh_broker())
    try:
        venue.start_hub()
        venue.start_gate("D1")
        sock = venue.gates["D1"].socket
        asked = [
            gatectl(sock, "unbind", "04A10000000001"),
            gatectl(sock, "join", "T1", "T2"),
            gatectl(sock, "walkin", "--guardian", "李娜", "--phone", "13800138000"),
        ]
        for done in asked:  # each refused: no badge tapped at the desk
            assert done.returncode != 0 and "tap a staff badge" in done.stdout, done
        assert gatectl(sock, "scan", "--barcode", "NOPE").returncode == 1
        wait_for(venue.settled, what="the hub has D1's journal")
        report = json.loads(
            hub(venue.root / "hub" / "hub.toml", "report", "daily", "--json").stdout
        )
        assert [(a["gate"], a["code"], a["staff"]) for a in report["desk_actions"]] == [
            ("D1", "DENY_BINDING", "")
        ] * 3
        assert [(t["gate"], t["value"]) for t in report["test_scans"]] == [("D1", "NOPE")]
    finally:
        venue.close()
