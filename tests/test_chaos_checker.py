"""The chaos harness's judge: each kind of fault in a history is found, and a clean one passes;
it cannot be fooled by a crash passed off as a refusal, a scan matched to another's journal
entry, an all-denied day whose hub and ground truth both say nobody is in, an unexpected code,
or a daemon that died by itself as a kill landed."""

from __future__ import annotations

import socket
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from bench.chaos.checker import Row, account, as_planned, child_safety_violations
from bench.chaos.double_entries import double_entries
from bench.chaos.nemesis import Span
from gate.core import BandBound, Event, MemberMoved, MemberState, Role
from gate.link.codec import event_to_dict
from venue.daemon import Daemon
from venue.faults import Supervisor
from venue.plan import Story, make_plan
from venue.socket_hands import Op, send_scan

T0 = datetime(2026, 7, 18, 10, 0, tzinfo=UTC)


def decision(gate: str, seq: int, value: str, code: str, nonce: str = "", request: str = "") -> Row:
    body = {"scan": {"value": value}, "decision": {"code": code}, "events": []}
    body["request"] = request or f"r-{gate}-{seq}"
    return Row(gate, seq, nonce or f"{gate}-{seq}", f"{seq:016x}", "decision", body)


def answered(gate: str, seq: int, value: str, code: str, sent: float, request: str = "") -> Op:
    return Op(
        gate, value, "nfc", "final", sent, "ok", seq, code, request=request or f"r-{gate}-{seq}"
    )


def unanswered(gate: str, value: str, sent: float, request: str) -> Op:
    return Op(gate, value, "nfc", "final", sent, "indeterminate", request=request)


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


def test_a_scan_without_an_answer_is_recovered_by_its_request_id_or_was_not_applied():
    journal = [decision("E1", 1, "A", "OK_ENTRY", request="q1")]
    ops = [unanswered("E1", "A", 1, "q1"), unanswered("E1", "B", 2, "q2")]
    result = account(ops, {"E1": journal}, journal, 0)
    assert (result.indeterminate, result.recovered, result.not_applied) == (2, 1, 1)
    assert result.truth_inside == 1 and not result.unexpected


def test_a_lost_scan_is_not_recovered_by_another_scan_of_the_same_band():
    """Matched by gate and band, the lost scan q1 would take q2's decision as its own (and q2
    would look unanswered); by request id, q1 was not applied and q2 is answered."""
    journal = [decision("E1", 1, "A", "OK_ENTRY", request="q2")]
    ops = [unanswered("E1", "A", 1, "q1"), answered("E1", 1, "A", "OK_ENTRY", 2, request="q2")]
    result = account(ops, {"E1": journal}, journal, 0)
    assert (result.recovered, result.not_applied, result.unexpected) == (0, 1, [])


def test_a_scan_matched_to_the_wrong_journal_entry_is_rejected():
    """The gate answered seq 1 for request q1, but its journal's seq 1 is request q2's."""
    journal = [
        decision("E1", 1, "B", "OK_ENTRY", request="q2"),
        decision("E1", 2, "A", "OK_ENTRY", request="q1"),
    ]
    ops = [
        answered("E1", 1, "A", "OK_ENTRY", 1, request="q1"),
        answered("E1", 2, "B", "OK_ENTRY", 2, request="q2"),
    ]
    result = account(ops, {"E1": journal}, journal, 0)
    assert len(result.mismatched) == 2 and "request q1" in result.mismatched[0]


def test_a_decision_journalled_without_a_request_id_is_unexpected():
    journal = [decision("E1", 1, "A", "OK_ENTRY")]
    del journal[0].body["request"]  # type: ignore[attr-defined]
    result = account([unanswered("E1", "A", 1, "q1")], {"E1": journal}, journal, 0)
    assert result.unexpected == ["E1/1: a decision with no request id"]
    assert result.recovered == 0


def refused(gate: str, value: str, sent: float, reason: str, request: str) -> Op:
    return Op(gate, value, "nfc", "final", sent, "refused", request=request, reason=reason)


def test_refusals_are_counted_by_reason_and_a_refused_scan_found_in_the_journal_is_unexpected():
    journal = [decision("X2", 1, "A", "OK_EXIT", request="q2")]
    ops = [refused("X2", "A", 1, "disk_full", "q1"), refused("X2", "A", 2, "loop_busy", "q2")]
    result = account(ops, {"X2": journal}, journal, 0)
    assert result.refusals == {"disk_full": 1, "loop_busy": 1}
    assert result.unexpected == ["X2/1: journalled, yet refused (loop_busy)"]


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


# --- what a gate's answer is taken for ---------------------------------------------------------


def answer_once(tmp_path, line: bytes) -> Op:
    """Send one scan to a socket that answers `line`, as a gate would; the op it makes."""
    path = tmp_path / "gate.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(line)

    thread = threading.Thread(target=serve)
    thread.start()
    op = Op("X2", "A", "nfc", "final", 1.0, request="q1")
    try:
        send_scan(path, {"kind": "nfc", "value": "A", "request": "q1"}, op)
    finally:
        thread.join(timeout=10)
        server.close()
    return op


@pytest.mark.parametrize(
    "line",
    [
        b'{"ok": false, "error": "\'kind\'"}\n',  # a crash as the control service once said it
        b'{"ok": false, "internal_error": true, "error": "internal error: scan: KeyError"}\n',
        b'{"ok": false, "refused": "gremlins", "error": "not a reason on the list"}\n',
        b'{"ok": true, "decision": {"code": "OK_ENTRY"}, "seq": 1, "request": "q9"}\n',
    ],
)
def test_a_crash_passed_off_as_a_refusal_fails_the_run(tmp_path, line):
    op = answer_once(tmp_path, line)
    assert op.outcome == "failed", op
    result = account([op], {"X2": []}, [], 0)
    assert result.failed and result.refused == 0 and not result.refusals


def test_a_refusal_with_a_reason_from_the_list_is_counted_by_it(tmp_path):
    op = answer_once(tmp_path, b'{"ok": false, "refused": "disk_full", "error": "journal: ..."}\n')
    assert (op.outcome, op.reason) == ("refused", "disk_full")
    assert account([op], {"X2": []}, [], 0).refusals == {"disk_full": 1}


# --- the day as planned ---------------------------------------------------------------------


def small_plan():
    return make_plan(5, 3, T0.date(), "UTC")


def planned_day(plan, code_of=lambda code, _f: code):
    """Ops and hub rows of a day that went as planned: each family's moves at its gates, each
    scan expecting the planned code (`code_of` may change the code the gate gave)."""
    ops, hub, sent = [], [], 0.0
    for f in plan.families:
        moves = [(f.entry_gate, uid, "OK_ENTRY") for uid in f.bands]
        if f.story is Story.TEMPORARY:
            adult = f.adults[-1]
            moves += [(f.away_exit, adult, "OK_TEMP_EXIT"), (f.back_entry, adult, "OK_REENTRY")]
        if f.story is Story.LEAVES_FIRST:
            adult = f.adults[0]
            moves += [(f.away_exit, adult, "OK_EXIT"), (f.back_entry, adult, "OK_REENTRY")]
        moves += [(f.exit_gate, uid, "OK_EXIT") for uid in f.bands if not f.solo]
        for gate, uid, planned in moves:
            sent += 1
            code = code_of(planned, f)
            op = answered(gate, int(sent), uid, code, sent, request=f"q{sent:.0f}")
            op.expected = frozenset({planned})
            ops.append(op)
            body = {"scan": {"value": uid}, "decision": {"code": code}, "events": []}
            body["request"] = op.request
            hub.append(Row(gate, int(sent), f"n{sent}", f"{sent:016.0f}", "decision", body))
        if f.story is Story.LEAVES_FIRST:
            flag = {"events": [{"type": "GroupFlagged", "gate": "X1", "group": f.ticket}]}
            hub.append(Row("X1", 0, "nf", "0", "expiry", flag))
    return ops, hub


def test_a_day_that_went_as_planned_passes():
    plan = small_plan()
    ops, hub = planned_day(plan)
    judged = as_planned(ops, hub, plan, overrides=False, faults=[])
    assert judged.passed, judged.lines()
    assert judged.as_planned == judged.finished == 5
    assert judged.happened == judged.planned


def test_an_all_denied_day_fails_though_the_hub_and_the_truth_both_say_nobody_is_in():
    plan = small_plan()
    ops, hub = planned_day(plan, lambda _code, _f: "DENY_UNKNOWN")
    result = account(ops, {}, [], 0)
    assert result.truth_inside == 0  # the hub would say 0 too: hub == truth
    judged = as_planned(ops, hub, plan, overrides=False, faults=[])
    assert not judged.passed
    assert len(judged.unexpected) == len(ops)
    assert "DENY_UNKNOWN, expected OK_ENTRY" in judged.unexpected[0]
    assert len(judged.off_plan) == 5 and judged.happened["OK_ENTRY"] == 0


def test_one_unexpected_code_fails_the_day_unless_a_fault_or_a_lost_answer_explains_it():
    plan = small_plan()
    odd = plan.families[0].ticket

    def one_wrong(code, family):
        return "DENY_CAPACITY" if family.ticket == odd and code == "OK_ENTRY" else code

    ops, hub = planned_day(plan, one_wrong)
    judged = as_planned(ops, hub, plan, overrides=False, faults=[])
    assert judged.unexpected and all("DENY_CAPACITY" in line for line in judged.unexpected)
    assert any(line.startswith(odd) for line in judged.off_plan)

    partition = Span("partition", "E1", start=0.0, end=max(op.sent for op in ops))
    judged = as_planned(ops, hub, plan, overrides=False, faults=[partition])
    assert not judged.unexpected and judged.passed  # denied while a gate was cut off
    assert judged.explained and odd in judged.disturbed

    first = next(op for op in ops if plan.families[0].bands[0] == op.value)
    first.outcome, first.code = "indeterminate", None  # the family lost an answer first
    judged = as_planned(ops, hub, plan, overrides=False, faults=[])
    assert not judged.unexpected, judged.unexpected


def test_more_moves_than_the_plan_fail_even_for_a_disturbed_family():
    plan = small_plan()
    ops, hub = planned_day(plan)
    uid = plan.families[0].bands[0]
    extra = {"scan": {"value": uid}, "decision": {"code": "OK_OVERRIDE"}, "events": []}
    hub.append(Row("X1", 99, "n99", "9" * 16, "decision", extra))
    ops[0].outcome = "unavailable"
    judged = as_planned(ops, hub, plan, overrides=False, faults=[])
    assert any("overrides 1 (planned 0)" in line for line in judged.off_plan)


# --- deaths --------------------------------------------------------------------------------


def sleeper(tmp_path, name: str, code: str) -> Daemon:
    argv = [sys.executable, "-c", code]
    return Daemon(name, argv, tmp_path / f"{name}.log", tmp_path / f"{name}.sock")


def wait(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_planned_kill_is_counted_as_a_kill_and_nothing_else(tmp_path):
    daemon = sleeper(tmp_path, "E1", "import time; time.sleep(60)")
    daemon.spawn()
    supervisor = Supervisor(lambda: {"E1": daemon}).start()
    try:
        assert supervisor.kill("E1")
        wait(lambda: supervisor.kills == 1)
        assert supervisor.deaths == []
    finally:
        supervisor.stop()
        daemon.kill()


def test_a_daemon_that_died_by_itself_is_never_counted_as_killed(tmp_path, monkeypatch):
    """It exits with status 3 just as the harness kills it: whether the kill comes an instant
    after (the daemon already dead) or its signal is lost, the death is not the harness's."""
    daemon = sleeper(tmp_path, "X1", "import sys; print('disk on fire', flush=True); sys.exit(3)")
    daemon.spawn()
    daemon.proc.wait()  # dead, not yet seen by any supervisor
    supervisor = Supervisor(lambda: {"X1": daemon})
    assert not supervisor.kill("X1")  # no kill made of a dead daemon
    monkeypatch.setattr(Daemon, "kill", lambda self: None)  # the signal never lands
    daemon.argv = [sys.executable, "-c", "import sys, time; time.sleep(0.5); sys.exit(3)"]
    daemon.spawn()
    assert supervisor.kill("X1")  # noted before the signal, which never arrives
    supervisor.start()
    try:
        wait(lambda: len(supervisor.deaths) >= 2)
    finally:
        supervisor.stop()
        daemon.proc.kill()
        daemon.proc.wait()
    assert supervisor.kills == 0
    assert [d.status for d in supervisor.deaths[:2]] == [3, 3]
    assert "exited with status 3, unplanned" in str(supervisor.deaths[0])
    assert "disk on fire" in supervisor.deaths[0].tail  # its log, to say why


def test_a_band_let_in_while_inside_is_a_double_entry_and_one_back_in_after_an_exit_is_not():
    def move(gate: str, uid: str, state: MemberState, minutes: int) -> MemberMoved:
        return MemberMoved(gate, T0 + timedelta(minutes=minutes), uid, "T1", state)

    rows = history(
        bound("A", Role.ADULT),
        move("E1", "A", MemberState.INSIDE, 1),
        move("X1", "A", MemberState.TEMP_OUT, 2),
        move("E2", "A", MemberState.INSIDE, 3),  # back in after going out: no double entry
        move("E1", "A", MemberState.INSIDE, 4),  # E1 cut off from E2: let in again
        move("E2", "B", MemberState.INSIDE, 5),  # a band first heard of at its entry
    )
    assert double_entries(rows) == ["A let in by E1/5 while inside since E2/4"]
