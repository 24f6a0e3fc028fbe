"""The chaos harness's judge: each kind of fault in a history is found, and a clean one passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.chaos.checker import Row, account, child_safety_violations
from gate.core import BandBound, Event, MemberMoved, MemberState, Role
from gate.link.codec import event_to_dict
from venue.socket_hands import Op

T0 = datetime(2026, 7, 18, 10, 0, tzinfo=UTC)


def decision(gate: str, seq: int, value: str, code: str, nonce: str = "") -> Row:
    body = {"scan": {"value": value}, "decision": {"code": code}, "events": []}
    return Row(gate, seq, nonce or f"{gate}-{seq}", f"{seq:016x}", "decision", body)


def answered(gate: str, seq: int, value: str, code: str, sent: float) -> Op:
    return Op(gate, value, "nfc", "final", sent, "ok", seq, code)


def unanswered(gate: str, value: str, sent: float) -> Op:
    return Op(gate, value, "nfc", "final", sent, "indeterminate")


def test_a_clean_history_has_nothing_lost_duplicated_or_unexpected_and_counts_who_is_in():
    journal = [decision("E1", 1, "A", "OK_ENTRY"), decision("E1", 2, "B", "OK_ENTRY")]
    exits = [decision("X1", 1, "A", "OK_EXIT")]
    ops = [
        answered("E1", 1, "A", "OK_ENTRY", 1),
        answered("E1", 2, "B", "OK_ENTRY", 2),
        answered("X1", 1, "A", "OK_EXIT", 3),
    ]
    result = account(ops, {"E1": journal, "X1": exits}, journal + exits, hub_conflicts=0)
    assert (result.lost, result.duplicated, result.unexpected) == ([], [], [])
    assert result.acknowledged == 3 and result.at_hub == result.journalled == 3
    assert result.truth_inside == 1  # B


def test_an_acknowledged_decision_missing_at_the_hub_is_lost():
    journal = [decision("E1", 1, "A", "OK_ENTRY"), decision("E1", 2, "B", "OK_ENTRY")]
    ops = [answered("E1", 1, "A", "OK_ENTRY", 1), answered("E1", 2, "B", "OK_ENTRY", 2)]
    result = account(ops, {"E1": journal}, journal[:1], hub_conflicts=0)
    assert len(result.lost) == 2  # the acknowledged op and the journal entry both say so
    assert all("E1/2" in line for line in result.lost)


def test_one_entry_stored_twice_and_a_conflict_are_duplicates():
    journal = [decision("E1", 1, "A", "OK_ENTRY")]
    twice = [*journal, decision("E1", 2, "A", "OK_ENTRY", nonce="E1-1")]
    result = account([answered("E1", 1, "A", "OK_ENTRY", 1)], {"E1": journal}, twice, 1)
    assert len(result.duplicated) == 2
    assert result.unexpected  # the second copy is no entry of the gate's journal


def test_a_decision_nobody_asked_for_is_unexpected():
    journal = [decision("E1", 1, "A", "OK_ENTRY"), decision("E1", 2, "Z", "OK_ENTRY")]
    result = account([answered("E1", 1, "A", "OK_ENTRY", 1)], {"E1": journal}, journal, 0)
    assert result.unexpected == ["E1/2: a decision on Z nobody scanned"]


def test_a_scan_without_an_answer_is_recovered_from_the_journal_or_was_not_applied():
    journal = [decision("E1", 1, "A", "OK_ENTRY")]
    ops = [unanswered("E1", "A", 1), unanswered("E1", "B", 2)]
    result = account(ops, {"E1": journal}, journal, 0)
    assert (result.indeterminate, result.recovered, result.not_applied) == (2, 1, 1)
    assert result.truth_inside == 1 and not result.unexpected


def history(*events: Event) -> list[Row]:
    return [
        Row(e.gate, n, f"n{n}", f"{n:016x}", "decision", {"events": [event_to_dict(e)]})
        for n, e in enumerate(events, start=1)
    ]


def bound(uid: str, role: Role, group: str = "T1") -> BandBound:
    return BandBound("D1", T0, uid, group, role)


def out(gate: str, uid: str, seconds: float, state=MemberState.EXITED, **forced) -> MemberMoved:
    return MemberMoved(gate, T0 + timedelta(seconds=seconds), uid, "T1", state, **forced)


def test_a_child_leaving_with_its_adult_at_the_same_gate_is_safe():
    rows = history(
        bound("A", Role.ADULT), bound("C", Role.CHILD), out("X1", "A", 1), out("X1", "C", 3)
    )
    assert child_safety_violations(rows, pairing_window_s=8) == []


def test_a_child_leaving_alone_by_another_gate_or_too_late_is_a_violation():
    family = (bound("A", Role.ADULT), bound("C", Role.CHILD), out("X1", "A", 1))
    assert child_safety_violations(history(*family, out("X2", "C", 2)), 8)
    assert child_safety_violations(history(*family, out("X1", "C", 20)), 8)


def test_a_child_out_temporarily_or_a_solo_child_out_without_pickup_is_a_violation():
    temp = history(bound("A", Role.ADULT), bound("C", Role.CHILD), out("X1", "A", 1),
                   out("X1", "C", 2, MemberState.TEMP_OUT))  # fmt: skip
    assert "temporarily" in child_safety_violations(temp, 8)[0]
    solo = history(bound("S", Role.SOLO_CHILD), out("X1", "S", 1))
    assert "guardian pickup" in child_safety_violations(solo, 8)[0]
    pickup = history(
        bound("S", Role.SOLO_CHILD), out("X1", "S", 1, forced=True, staff="04EE0000000001")
    )
    assert child_safety_violations(pickup, 8) == []
