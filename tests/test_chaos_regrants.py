"""The chaos judge's recount of moves the gates made right from what they knew, built from the
two families the quick campaign found "off plan" under load (`bench.chaos.regrants`)."""

from __future__ import annotations

from bench.chaos.checker import Row, as_planned
from tests.test_chaos_checker import answered, planned_day, small_plan
from venue.plan import Story


def temporary_family(plan):
    return next(f for f in plan.families if f.story is Story.TEMPORARY)


def flagged(gate: str, group: str) -> Row:
    body = {"events": [{"type": "GroupFlagged", "gate": gate, "group": group}]}
    return Row(gate, 0, f"flag-{group}", "f" * 16, "expiry", body)


def exit_answered_again(offline: bool, lost_first: bool = True):
    """The last adult's exit committed, the gate killed before it answered; the restarted gate
    closes the window on the children inside (the group flagged) and answers the family's
    second try: `OK_EXIT` again, journalled `offline` as the gate says."""
    plan = small_plan()
    f = temporary_family(plan)
    ops, hub = planned_day(plan)
    adult = f.adults[-1]
    first = next(op for op in reversed(ops) if op.value == adult and op.gate == f.exit_gate)
    if lost_first:
        first.outcome, first.code, first.seq = "indeterminate", None, None
    again = answered(f.exit_gate, 900, adult, "OK_EXIT", first.sent + 0.5, request="again")
    again.expected = frozenset({"OK_EXIT"})
    ops.append(again)
    body = {"scan": {"value": adult, "offline": offline}, "decision": {"code": "OK_EXIT"}}
    hub += [Row(f.exit_gate, 900, "n900", "9" * 16, "decision", {**body, "request": "again"})]
    hub.append(flagged(f.exit_gate, f.ticket))
    return plan, f, ops, hub


def test_an_exit_granted_again_offline_after_a_lost_answer_is_counted_once():
    plan, _f, ops, hub = exit_answered_again(offline=True)
    judged = as_planned(ops, hub, plan, overrides=False, faults=[])
    assert judged.passed, judged.lines()
    assert judged.recounted == {"OK_EXIT again after a lost answer, offline": 1}
    assert judged.happened["OK_EXIT"] == judged.planned["OK_EXIT"]
    assert any("moves at the hub recounted" in line for line in judged.lines())


def test_the_same_exit_again_by_a_connected_gate_or_with_no_lost_answer_is_off_plan():
    for offline, lost_first in ((False, True), (True, False)):
        plan, f, ops, hub = exit_answered_again(offline, lost_first)
        judged = as_planned(ops, hub, plan, overrides=False, faults=[])
        n = len(f.bands)
        assert not judged.passed
        assert any(
            line.startswith(f.ticket) and f"exits {n + 1} (planned {n})" in line
            for line in judged.off_plan
        ), judged.off_plan
        assert not judged.recounted


def reentry_answered_as_entry(lost_first: bool):
    """The back entry never heard of the adult's entry nor of the temporary exit: `OK_ENTRY`
    where the plan expected `OK_REENTRY`; a lost answer of the family's before it."""
    plan = small_plan()
    f = temporary_family(plan)

    def as_entry(code, family):
        return "OK_ENTRY" if family is f and code == "OK_REENTRY" else code

    ops, hub = planned_day(plan, as_entry)
    if lost_first:
        child = next(op for op in ops if op.value == f.children[0])
        child.outcome, child.code, child.seq = "indeterminate", None, None
    return plan, f, ops, hub


def test_a_reentry_granted_as_an_entry_after_a_lost_answer_is_counted_as_the_reentry():
    plan, _f, ops, hub = reentry_answered_as_entry(lost_first=True)
    judged = as_planned(ops, hub, plan, overrides=False, faults=[])
    assert judged.passed, judged.lines()
    assert judged.recounted == {"OK_ENTRY for a planned OK_REENTRY": 1}
    assert judged.happened == judged.planned
    assert judged.explained == {"OK_ENTRY (after a lost answer)": 1}


def test_a_reentry_granted_as_an_entry_in_a_quiet_moment_fails_on_its_code():
    plan, _f, ops, hub = reentry_answered_as_entry(lost_first=False)
    judged = as_planned(ops, hub, plan, overrides=False, faults=[])
    assert not judged.passed
    assert any("OK_ENTRY, expected OK_REENTRY" in line for line in judged.unexpected)


def test_an_entry_no_scan_asked_for_stays_beyond_the_plan():
    plan = small_plan()
    f = temporary_family(plan)
    ops, hub = planned_day(plan)
    ops[0].outcome = "unavailable"  # the family disturbed: only "never more" holds
    extra = {"scan": {"value": f.adults[0], "offline": True}, "decision": {"code": "OK_ENTRY"}}
    hub.append(Row(f.entry_gate, 901, "n901", "9" * 16, "decision", {**extra, "request": "x"}))
    judged = as_planned(ops, hub, plan, overrides=False, faults=[])
    n = len(f.bands)
    assert any(f"entries {n + 1} (planned {n})" in line for line in judged.off_plan)
    assert not judged.recounted


def test_an_entry_granted_again_offline_after_a_lost_answer_stays_beyond_the_plan():
    plan = small_plan()
    f = temporary_family(plan)
    ops, hub = planned_day(plan)
    adult = f.adults[0]
    first = next(op for op in ops if op.value == adult)
    first.outcome, first.code, first.seq = "indeterminate", None, None
    again = answered(f.entry_gate, 902, adult, "OK_ENTRY", first.sent + 0.5, request="again")
    again.expected = frozenset({"OK_ENTRY"})
    ops.append(again)
    body = {"scan": {"value": adult, "offline": True}, "decision": {"code": "OK_ENTRY"}}
    hub.append(Row(f.entry_gate, 902, "n902", "9" * 16, "decision", {**body, "request": "again"}))
    judged = as_planned(ops, hub, plan, overrides=False, faults=[])
    n = len(f.bands)
    assert any(f"entries {n + 1} (planned {n})" in line for line in judged.off_plan)
    assert not judged.recounted
