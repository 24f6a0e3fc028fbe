"""The hub re-checks the rules over the folded history (hub/fold/audit.py).

Honest gates here are test_hub_reconcile's `SimGate`s: the real rules core deciding, the real
journal, the real `EventStore`, `Ingest` and `VenueState` at the hub, partitions included. A
gate that breaks the rules is one of them journalling what its rules never produced (entries
built with the project's codec), as a gate with tampered software or a leaked password would.

Every rule violation must be a critical finding naming the gate that journalled it; a normal
day, partitions, late entries, unused grants, recalls by closing windows and overrides by
enrolled staff must raise none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from day_store import example_hub
from test_hub_reconcile import (
    POLICY,
    STAFF,
    TOPICS,
    Net,
    bind,
    family,
    findings_day,
    through,
    venue_allowlist,
)

from gate.core import (
    Code,
    Decision,
    Event,
    Intent,
    Kind,
    MemberMoved,
    MemberState,
    Mode,
    OverrideArmed,
    OverrideSpent,
    PairingOpened,
    Scan,
    decide,
    fold,
)
from gate.link.codec import decision_to_dict, event_to_dict
from hub.fold.findings import Finding, violation_alerts
from hub.fold.reconcile import VenueState
from hub.store.events import EventStore
from hub.views.labels import label
from hub.views.reports.daily import daily_report
from hub.views.reports.render import report_csv, report_html
from hub.views.reports.violations import TITLE

LOST_BADGE = "04EE0002"
STRANGER = "04EE00FF"
SOLO = "04C0000S"


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    n = Net(tmp_path)
    yield n
    for g in n.gates.values():
        g.journal.close()
    n.hub.close()


def violations(net: Net) -> list[tuple[str, tuple[str, ...], str | None]]:
    return [(f.kind, f.gates, f.uid) for f in net.hub.venue.findings() if f.critical]


def forge(
    net: Net,
    gate: str,
    *events: Event,
    kind: str = "decision",
    code: Code = Code.OK_EXIT,
    offline: bool = False,
    scanned_as: dict[str, Any] | None = None,
    **body: Any,
) -> int:
    """Journal at `gate` an entry its rules never produced, as the daemon writes entries, and
    send it to the hub (`scanned_as`: more of the decision's scan). Returns its seq."""
    g = net.gates[gate]
    data: dict[str, Any] = {**body, "events": [event_to_dict(e) for e in events]}
    if kind == "decision":
        value = next((getattr(e, "uid", "") for e in events if hasattr(e, "uid")), "")
        scanned = {"kind": "nfc", "value": value, "mode": g.mode.value, "intent": "final"}
        data["scan"] = {**scanned, "token": False, "offline": offline, **(scanned_as or {})}
        data["decision"] = decision_to_dict(Decision(code, "granted", value, gate))
    seq = g.journal.append(kind, data).seq
    net.sync()
    net.clock.tick()
    return seq


def moved(net: Net, gate: str, uid: str, state: MemberState, **forced: Any) -> MemberMoved:
    group = f"T-{uid[-1]}" if uid != SOLO else "T-SOLO"
    return MemberMoved(gate, net.gates[gate].now(), uid, group, state, **forced)


def family_inside(net: Net, *families: str) -> None:
    """Gates D1, E1, X1, X2; the families bound and let in at E1, adult first."""
    for gate, mode in (("D1", Mode.BIND), ("E1", Mode.ENTRY), ("X1", Mode.EXIT), ("X2", Mode.EXIT)):
        if gate not in net.gates:
            net.gate(gate, mode)
    bind(net, "D1", *families)
    net.clock.at(5)
    through(net, "E1", *families)
    net.clock.at(30)


def decide_cut_off(net: Net, gate: str, value: str) -> Decision:
    """ScanPath.scan with its link down: the scan and its journal entry say `offline`."""
    g = net.gates[gate]
    now = g.now()
    scan = Scan(gate, g.mode, Kind.NFC, value, Intent.FINAL, net.tokens.on_band.get(value))
    decision, events = decide(g.state, replace(scan, offline=True), now, POLICY)
    scanned = {"kind": "nfc", "value": value, "mode": g.mode.value, "intent": "final"}
    g.journal.append(
        "decision",
        {
            "scan": {**scanned, "token": scan.token is not None, "offline": True},
            "decision": decision_to_dict(decision),
            "events": [event_to_dict(e) for e in events],
        },
    )
    for event in events:
        fold(g.state, event)
    net.sync()
    net.clock.tick()
    return decision


def statuses(net: Net, *gates: str) -> None:
    """The gates' periodic status: each says how far its journal goes."""
    for gate in gates:
        net.hub.ingest.on_message(TOPICS.status(gate), net.gates[gate].status())


# --- a normal day breaks no rule -----------------------------------------------------------------


def test_the_example_day_folded_at_the_hub_breaks_no_rule() -> None:
    day, hub_toml = example_hub()
    codes = {d.code for _, _, d in day.decisions}
    child_exits = [d for _, _, d in day.decisions if d.code is Code.OK_EXIT and d.role != "adult"]
    # the day has what the audit looks at: children out, overrides, temporary exits, recalls
    assert {Code.OK_OVERRIDE, Code.OK_TEMP_EXIT, Code.OK_REENTRY} <= codes and child_exits
    with EventStore(hub_toml.parent / "state" / "events.db") as store:
        venue = VenueState(store, allowlist=day.allowlist, policy=day.policy)
        found = venue.findings()
    assert [f.detail for f in found if f.critical] == []
    assert any(f.kind == "unverified_pickup" for f in found)  # warnings stay


def test_partitions_overrides_and_unused_grants_break_no_rule(net: Net) -> None:
    findings_day(net)
    kinds = {f.kind for f in net.hub.venue.findings()}
    assert {"double_entry", "unverified_pickup", "grant_not_passed"} <= kinds
    assert violations(net) == []


def test_a_gate_back_from_an_outage_refolded_in_clock_order_breaks_no_rule(net: Net) -> None:
    family_inside(net, "A")
    net.gate("E2", Mode.ENTRY)
    net.cut("E2")
    bind(net, "D1", "D")  # E2 never hears of D: it reads D's tokens
    net.clock.at(40)
    through(net, "E2", "D")
    net.clock.at(60)
    through(net, "X1", "A")
    assert violations(net) == []
    net.clock.at(90)
    net.reconnect("E2")
    net.clock.tick(net.hub.venue.max_delay_ms)
    assert net.hub.venue.refresh()
    assert net.hub.venue.headcount().inside == 2
    assert violations(net) == []


def test_an_exit_heard_before_its_entry_at_another_gate_breaks_no_rule(net: Net) -> None:
    family_inside(net)
    bind(net, "D1", "A")
    statuses(net, *net.gates)  # the gates at opening: the hub knows them all
    _, adult, _ = family("A")
    net.cut("E1")  # the hub does not hear E1 for a while; the gates hear each other
    net.gates["E1"].scan(adult)
    net.gates["X1"].follow("E1", net.gates["E1"].unsent(0))
    net.clock.at(35)
    assert net.gates["X1"].scan(adult).code is Code.OK_EXIT
    net.sync()
    statuses(net, "D1", "X1", "X2")  # E1 has not reported: the exit is not judged yet
    assert violations(net) == []
    net.reconnect("E1")
    statuses(net, *net.gates)
    assert net.hub.venue.stale and violations(net) == []  # the late entry waits for a rebuild
    net.clock.tick(net.hub.venue.max_delay_ms)
    assert net.hub.venue.refresh()
    assert violations(net) == []


def test_an_adult_recalled_by_a_closing_window_then_back_for_the_child_breaks_no_rule(
    net: Net,
) -> None:
    family_inside(net, "A")
    _, adult, _ = family("A")
    assert net.scan("X1", adult).code is Code.OK_EXIT  # the child stays inside
    net.clock.at(32)
    net.close_windows()  # the adult is recalled to temp_out, the group flagged
    assert net.gates["X1"].state.members[adult].state is MemberState.TEMP_OUT
    net.clock.at(40)
    assert net.scan("E1", adult).code is Code.OK_REENTRY
    net.clock.at(50)
    through(net, "X1", "A")
    assert violations(net) == []


def test_a_child_at_the_last_instant_of_the_pairing_window_breaks_no_rule(net: Net) -> None:
    family_inside(net, "A")
    _, adult, child = family("A")
    assert net.scan("X1", adult).code is Code.OK_EXIT
    net.clock.tick(int(POLICY.pairing_window_s * 1000) - 1000)  # scan() ticked one second
    assert net.scan("X1", child).code is Code.OK_EXIT
    assert violations(net) == []


def test_a_child_let_in_by_a_gate_that_had_not_heard_its_adult_leave_breaks_no_rule(
    net: Net,
) -> None:
    family_inside(net)
    net.gate("E2", Mode.ENTRY)
    bind(net, "D1", "A", "C")
    _, adult_a, child_a = family("A")
    _, adult_c, child_c = family("C")
    assert net.scan("E1", adult_a).code is Code.OK_ENTRY
    assert net.scan("E1", adult_c).code is Code.OK_ENTRY
    net.cut("E2")  # E2 heard the adults come in, not leave
    net.clock.at(32)
    assert net.scan("X1", adult_a).code is Code.OK_EXIT
    assert net.scan("X1", adult_c).code is Code.OK_EXIT
    net.clock.at(32.5)  # within the presence lag: E2's link had not yet noticed it was down
    assert net.gates["E2"].scan(child_a).code is Code.OK_ENTRY
    net.clock.at(45)  # long after, by a gate that knew it was cut off and said so
    assert decide_cut_off(net, "E2", child_c).code is Code.OK_ENTRY
    net.reconnect("E2")
    net.clock.tick(net.hub.venue.max_delay_ms)
    net.hub.venue.refresh()
    assert net.hub.venue.headcount().children == 2
    assert violations(net) == []


def test_a_fire_alarm_letting_everyone_out_unscanned_breaks_no_rule(net: Net) -> None:
    family_inside(net, "A", "B")
    forge(net, "X1", kind="fire_alarm", on=True)  # gate/daemon/scans.py journals only this
    net.clock.at(40)  # the families leave through the open exit, nobody scans
    forge(net, "X1", kind="fire_alarm", on=False)
    through(net, "X1", "A")  # family A's bands are collected at the exit afterwards
    assert [f.kind for f in net.hub.venue.findings()] == ["fire_alarm"]
    assert violations(net) == []


def test_an_exit_decided_cut_off_waits_for_every_gate_to_report_before_it_is_judged(
    net: Net,
) -> None:
    net.gate("E2", Mode.ENTRY)
    family_inside(net, "B")
    bind(net, "D1", "A")
    assert net.scan("E2", "04A0000B").code is Code.DENY_ALREADY_INSIDE  # E2 is known to the hub
    net.cut("E2")
    net.cut("X1")
    net.clock.at(40)
    through(net, "E2", "A")  # E2's journal holds the entries; the hub has not heard
    net.clock.at(50)
    _, adult, child = family("A")
    assert decide_cut_off(net, "X1", adult).code is Code.OK_EXIT
    assert decide_cut_off(net, "X1", child).code is Code.OK_EXIT
    net.reconnect("X1")
    statuses(net, "D1", "E1", "X1", "X2")  # E2 says nothing: it may have let them in
    kinds = [f.kind for f in net.hub.venue.findings()]
    assert kinds.count("exit_without_entry") == 2
    assert violations(net) == []
    net.reconnect("E2")  # and it had
    net.clock.tick(net.hub.venue.max_delay_ms)
    assert net.hub.venue.refresh()
    statuses(net, "D1", "E1", "E2", "X1", "X2")
    assert violations(net) == []
    assert [f.kind for f in net.hub.venue.findings()] == []


# --- a gate that breaks the rules -----------------------------------------------------------------


def test_a_child_let_out_with_no_adult_is_child_released_alone(net: Net) -> None:
    family_inside(net, "A")
    _, _, child = family("A")
    seq = forge(net, "X1", moved(net, "X1", child, MemberState.EXITED))
    (found,) = [f for f in net.hub.venue.findings() if f.critical]
    assert (found.kind, found.gates, found.uid, found.group) == (
        "child_released_alone",
        ("X1",),
        child,
        "T-A",
    )
    assert found.entries == (("X1", seq),)
    assert "DENY_CHILD_NEEDS_ADULT" in found.detail


def test_a_child_let_out_after_its_adults_window_closed_is_child_released_alone(
    net: Net,
) -> None:
    family_inside(net, "A")
    _, adult, child = family("A")
    assert net.scan("X1", adult).code is Code.OK_EXIT
    net.clock.tick(int(POLICY.pairing_window_s * 1000) + 5000)  # past the window and tolerance
    forge(net, "X1", moved(net, "X1", child, MemberState.EXITED))
    assert violations(net) == [("child_released_alone", ("X1",), child)]


def test_an_adult_let_out_at_another_gate_does_not_pair_a_child(net: Net) -> None:
    family_inside(net, "A")
    _, adult, child = family("A")
    assert net.scan("X2", adult).code is Code.OK_EXIT
    forge(net, "X1", moved(net, "X1", child, MemberState.EXITED))
    assert violations(net) == [("child_released_alone", ("X1",), child)]


def test_a_solo_child_let_out_without_a_guardian_pickup_is_child_released_alone(
    net: Net,
) -> None:
    family_inside(net)
    assert net.scan("D1", "T-SOLO").granted and net.scan("D1", SOLO).granted
    assert net.scan("E1", SOLO).code is Code.OK_ENTRY
    forge(net, "X1", moved(net, "X1", SOLO, MemberState.EXITED))
    (found,) = [f for f in net.hub.venue.findings() if f.critical]
    assert (found.kind, found.uid) == ("child_released_alone", SOLO)
    assert "DENY_GUARDIAN_PICKUP" in found.detail


def test_a_child_let_out_temporarily_is_child_temp_exit(net: Net) -> None:
    family_inside(net, "A")
    _, adult, child = family("A")
    assert net.scan("X1", adult, intent=Intent.TEMPORARY).code is Code.OK_TEMP_EXIT
    forge(net, "X1", moved(net, "X1", child, MemberState.TEMP_OUT), code=Code.OK_TEMP_EXIT)
    assert violations(net) == [("child_temp_exit", ("X1",), child)]


def _override(net: Net, gate: str, child: str, badge: str) -> None:
    m = moved(
        net,
        gate,
        child,
        MemberState.EXITED,
        forced=True,
        staff=badge,
        overrode=Code.DENY_CHILD_NEEDS_ADULT,
    )
    spent = OverrideSpent(gate, m.at, badge, child, Code.DENY_CHILD_NEEDS_ADULT)
    forge(net, gate, m, spent, code=Code.OK_OVERRIDE)


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ("unenrolled", f"staff badge {STRANGER} is not enrolled"),
        ("revoked", f"staff badge {LOST_BADGE} (Li Lei) is revoked: lost on duty"),
        ("armed elsewhere", f"staff badge {STAFF} was not armed at X1 (armed at X2"),
        ("armed long ago", f"staff badge {STAFF} armed at X1"),
    ],
)
def test_an_override_no_enrolled_badge_armed_there_is_override_not_authorised(
    net: Net, how: str, why: str
) -> None:
    allowlist = venue_allowlist()
    allowlist.staff[LOST_BADGE] = "Li Lei"
    allowlist.revoked[LOST_BADGE] = "lost on duty"
    net.hub.venue.allowlist = allowlist
    family_inside(net, "A")
    _, _, child = family("A")
    badge = {"unenrolled": STRANGER, "revoked": LOST_BADGE}.get(how, STAFF)
    if how == "armed elsewhere":
        assert net.scan("X2", STAFF).code is Code.OK_STAFF
    elif how == "armed long ago":
        assert net.scan("X1", STAFF).code is Code.OK_STAFF
        net.clock.tick(int(POLICY.pairing_window_s * 1000) + 5000)
    else:  # the gate arms what its allowlist would never have armed
        forge(net, "X1", OverrideArmed("X1", net.gates["X1"].now(), badge), code=Code.OK_STAFF)
    _override(net, "X1", child, badge)
    (found,) = [f for f in net.hub.venue.findings() if f.critical]
    assert (found.kind, found.gates, found.uid) == ("override_not_authorised", ("X1",), child)
    assert why in found.detail


def test_an_override_by_an_enrolled_badge_armed_at_that_gate_is_no_violation(net: Net) -> None:
    family_inside(net, "A")
    _, _, child = family("A")
    assert net.scan("X1", STAFF).code is Code.OK_STAFF
    assert net.scan("X1", child).code is Code.OK_OVERRIDE
    assert violations(net) == []
    assert [f.kind for f in net.hub.venue.findings()] == ["child_released_by_override"]


@pytest.mark.parametrize(
    ("scanned_as", "asked_by", "why"),
    [
        pytest.param({"tag": False}, True, "armed by a test scan", id="gatectl scan --nfc"),
        pytest.param({"tag": False, "kind": "barcode"}, False, "armed by a barcode", id="barcode"),
    ],
)
def test_an_override_armed_by_a_test_scan_is_override_not_authorised(
    net: Net, scanned_as: dict[str, Any], asked_by: bool, why: str
) -> None:
    """A typed badge UID armed the override (a gate of an earlier release, or one whose rules
    were changed): no badge was at the gate, so the forced move is not authorised."""
    family_inside(net, "A")
    _, _, child = family("A")
    armed = OverrideArmed("X1", net.gates["X1"].now(), STAFF)
    who = {"asked_by": {"uid": 1000, "user": "tech", "pid": 4242}} if asked_by else {}
    forge(net, "X1", armed, code=Code.OK_STAFF, scanned_as={**scanned_as, "value": STAFF}, **who)
    _override(net, "X1", child, STAFF)
    (found,) = [f for f in net.hub.venue.findings() if f.critical]
    assert (found.kind, found.gates, found.uid) == ("override_not_authorised", ("X1",), child)
    assert f"staff badge {STAFF} {why} at X1" in found.detail, found.detail


def test_an_override_armed_by_a_badge_read_from_a_tag_is_no_violation(net: Net) -> None:
    family_inside(net, "A")
    _, _, child = family("A")
    armed = OverrideArmed("X1", net.gates["X1"].now(), STAFF)
    forge(net, "X1", armed, code=Code.OK_STAFF, scanned_as={"tag": True, "value": STAFF})
    _override(net, "X1", child, STAFF)
    assert violations(net) == []


def test_an_exit_of_a_band_that_never_came_in_is_move_without_entry(net: Net) -> None:
    family_inside(net)
    bind(net, "D1", "A")  # bound, never through a gate
    _, adult, _ = family("A")
    forge(net, "X1", moved(net, "X1", adult, MemberState.EXITED))
    assert violations(net) == []  # the entry may still be on its way from another gate
    statuses(net, *net.gates)  # every gate: the hub holds all it journalled
    (found,) = [f for f in net.hub.venue.findings() if f.critical]
    assert (found.kind, found.gates, found.uid) == ("move_without_entry", ("X1",), adult)
    assert "DENY_NOT_INSIDE" in found.detail


def test_an_exit_said_to_be_cut_off_of_a_band_no_gate_let_in_is_found_once_all_reported(
    net: Net,
) -> None:
    family_inside(net)
    bind(net, "D1", "A")
    _, adult, _ = family("A")
    forge(net, "X1", moved(net, "X1", adult, MemberState.EXITED), offline=True)
    assert violations(net) == []  # a gate still to report may have let it in
    statuses(net, "D1", "E1", "X2")
    assert violations(net) == [("move_without_entry", ("X1",), adult)]


def test_a_returned_band_let_in_again_is_impossible_move(net: Net) -> None:
    family_inside(net, "A")
    through(net, "X1", "A")
    _, adult, _ = family("A")
    forge(net, "E1", moved(net, "E1", adult, MemberState.INSIDE), code=Code.OK_ENTRY)
    statuses(net, *net.gates)
    assert violations(net) == [("impossible_move", ("E1",), adult)]


def test_a_child_let_in_with_no_adult_is_child_admitted_alone(net: Net) -> None:
    family_inside(net)
    bind(net, "D1", "A")
    _, _, child = family("A")
    forge(net, "E1", moved(net, "E1", child, MemberState.INSIDE), code=Code.OK_ENTRY)
    statuses(net, *net.gates)
    assert violations(net) == [("child_admitted_alone", ("E1",), child)]


def test_a_pairing_window_with_no_adult_let_through_is_pairing_without_adult(net: Net) -> None:
    family_inside(net, "A")
    _, adult, child = family("A")
    opened = PairingOpened("X1", net.gates["X1"].now(), "T-A", Mode.EXIT, adult)
    forge(net, "X1", opened)
    forge(net, "X1", moved(net, "X1", child, MemberState.EXITED))  # it pairs the child
    assert violations(net) == [("pairing_without_adult", ("X1",), adult)]


def test_a_passage_record_undoing_what_its_decision_did_not_do_is_impossible_move(
    net: Net,
) -> None:
    family_inside(net, "A", "B")
    _, adult_a, _ = family("A")
    _, adult_b, _ = family("B")
    assert net.scan("X1", adult_a).code is Code.OK_EXIT
    decision_seq = net.gates["X1"].last_seq
    undo = moved(net, "X1", adult_b, MemberState.BOUND)  # B's entry "undone": B not inside
    forge(net, "X1", undo, kind="passage", decision_seq=decision_seq, passed=False)
    assert violations(net) == [("impossible_move", ("X1",), adult_b)]


def test_a_passage_record_undoing_a_decision_the_hub_does_not_hold_is_impossible_move(
    net: Net,
) -> None:
    """Defence in depth behind the authority check: a gate publishes in seq order, so an undo
    whose decision is not stored undoes nothing the hub knows of."""
    family_inside(net, "A")
    _, _, child = family("A")
    undo = moved(net, "X1", child, MemberState.BOUND)
    forge(net, "X1", undo, kind="passage", decision_seq=99_999, passed=False)
    assert violations(net) == [("impossible_move", ("X1",), child)]


def test_a_decision_letting_out_an_adult_and_its_child_together_is_impossible_move(
    net: Net,
) -> None:
    family_inside(net, "A")
    _, adult, child = family("A")
    out = moved(net, "X1", adult, MemberState.EXITED)
    opened = PairingOpened("X1", out.at, "T-A", Mode.EXIT, adult)
    forge(net, "X1", out, opened, moved(net, "X1", child, MemberState.EXITED))
    assert violations(net) == [("impossible_move", ("X1",), child)]


def test_a_closing_window_recalling_a_child_is_impossible_move(net: Net) -> None:
    family_inside(net, "A")
    _, _, child = family("A")
    forge(net, "X1", moved(net, "X1", child, MemberState.TEMP_OUT), kind="expiry")
    assert violations(net) == [("impossible_move", ("X1",), child)]


def test_a_closing_windows_recall_of_an_adult_back_in_since_folds_to_nothing(net: Net) -> None:
    """X1's window recalls the adult from the exit it saw, folded after the adult came back in
    at a gate X1 could not hear: the adult stays inside, and nothing is wrong. The same recall
    naming no passage (journals from before recalls named one) stands as ever: an adult inside
    recalled is an impossible move."""
    family_inside(net, "A")
    _, adult, _ = family("A")
    with net.hub.venue.reading() as state:
        counter, folded = state.members[adult].counter, net.hub.venue.folded
    stale = replace(moved(net, "X1", adult, MemberState.TEMP_OUT), recalled_from=counter)
    forge(net, "X1", stale, kind="expiry")
    with net.hub.venue.reading() as state:
        assert state.members[adult].state is MemberState.INSIDE
    assert net.hub.venue.folded == folded + 1  # taken, not refused
    assert violations(net) == []
    forge(net, "X1", moved(net, "X1", adult, MemberState.TEMP_OUT), kind="expiry")
    assert violations(net) == [("impossible_move", ("X1",), adult)]


def test_a_restarted_hub_finds_the_same_violations(net: Net) -> None:
    family_inside(net, "A")
    _, _, child = family("A")
    forge(net, "X1", moved(net, "X1", child, MemberState.EXITED))
    again = VenueState(net.hub.store, allowlist=venue_allowlist(), capacity=500, policy=POLICY)
    assert [f for f in again.findings() if f.critical] == [
        f for f in net.hub.venue.findings() if f.critical
    ]


# --- where the duty manager sees them ------------------------------------------------------------


def test_rule_violations_are_critical_alerts_without_band_uids() -> None:
    at = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    found = [
        Finding("child_released_alone", ("X1",), at, "X1 let child 04C0000A out", "04C0000A"),
        Finding("child_released_alone", ("X1",), at + timedelta(minutes=3), "again", "04C0000B"),
        Finding("double_entry", ("E1", "E2"), at, "a partition", "04A0000A"),
    ]
    (alert,) = violation_alerts(found, ZoneInfo("Asia/Shanghai"))
    assert alert["level"] == "critical" and alert["kind"] == "rule_violation"
    assert "X1" in alert["text"] and "2 times, last 10:03:00" in alert["text"]
    assert "04C0000" not in alert["text"]
    assert [f.severity for f in found] == ["critical", "critical", "warning"]
    assert found[0].as_dict()["severity"] == "critical"


def test_the_daily_report_lists_the_days_rule_violations(net: Net) -> None:
    family_inside(net, "A")
    _, _, child = family("A")
    seq = forge(net, "X1", moved(net, "X1", child, MemberState.EXITED))
    report = daily_report(
        net.hub.store,
        datetime.fromtimestamp(net.clock.ms / 1000, UTC).date(),
        ZoneInfo("UTC"),
        findings=net.hub.venue.findings(),
        allowlist=venue_allowlist(),
    )
    csv_text = report_csv(report, staff=True)
    section = csv_text.split(TITLE, 1)[1].split("\r\n\r\n", 1)[0]
    (row,) = [line for line in section.splitlines() if child in line]
    released = label("child_released_alone", "en")  # shown by its label, never its code
    assert f"X1/{seq}" in row and released in row and ",X1," in row
    assert TITLE in report_html(report, staff=False) and released in report_html(
        report, staff=False
    )
