"""What a gate answers a control request it does not carry out: a refusal with a reason from the
closed list (`gate.control.refusals.Reason`), or an internal error said as such, logged with its
traceback and counted; never one passed off as the other. And a scan's request id, carried
through the control socket into the journal."""

from __future__ import annotations

import logging

import pytest
from gate_rig import ADULT, GateRig

import gate.daemon.scans
from gate.control.refusals import REASONS, is_internal_error, refusal_reason


@pytest.fixture
def entry(rigs, tmp_path) -> GateRig:
    rig = GateRig(tmp_path, "E1", "entry", scanner=False).start()
    rigs.append(rig)
    return rig


@pytest.mark.parametrize(
    ("request_args", "says"),
    [
        ({"value": ADULT}, "'kind' is required"),
        ({"kind": "retina", "value": ADULT}, "kind is one of"),
        ({"kind": "nfc"}, "'value' is required"),
        ({"kind": "nfc", "value": "not a uid"}, ""),
        ({"kind": "nfc", "value": ADULT, "intent": "forever"}, "intent is one of"),
        ({"kind": "nfc", "value": ADULT, "request": "a b"}, "request is 1 to 64"),
        ({"kind": "nfc", "value": ADULT, "request": "x" * 65}, "request is 1 to 64"),
    ],
)
def test_a_malformed_scan_is_refused_as_a_bad_request_and_counted(entry, request_args, says):
    answer = entry.ask("scan", **request_args)
    assert refusal_reason(answer) == "bad_request" and not is_internal_error(answer), answer
    assert says in answer["error"]
    assert entry.status()["control_refused"]["bad_request"] == 1
    assert entry.seq() == 0  # nothing journalled


def test_an_unknown_command_and_an_argument_out_of_bounds_are_refused_with_their_reasons(entry):
    assert refusal_reason(entry.ask("teleport")) == "unknown_command"
    assert refusal_reason(entry.ask("journal", limit="all")) == "bad_request"
    assert refusal_reason(entry.ask("mode", mode="bind")) == "not_here"  # an entry gate's is fixed
    refused = entry.status()["control_refused"]
    assert refused == {"unknown_command": 1, "bad_request": 1, "not_here": 1}
    assert set(refused) <= REASONS


def test_a_crash_on_the_scan_path_is_an_internal_error_never_a_refusal(entry, monkeypatch, caplog):
    """Before, any KeyError, ValueError or OSError on the scan path became {"ok": false}: a
    harness counted a decision that crashed as a harmless refusal."""

    def crash(*_args, **_kwargs):
        raise KeyError("a bug in the rules")

    monkeypatch.setattr(gate.daemon.scans, "decide", crash)
    with caplog.at_level(logging.ERROR, logger="gate.control"):
        answer = entry.ask("scan", kind="nfc", value=ADULT)
    assert answer["ok"] is False and is_internal_error(answer), answer
    assert refusal_reason(answer) is None and "refused" not in answer
    assert "KeyError" in answer["error"] and "a bug in the rules" in answer["error"]
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)  # traceback
    status = entry.status()
    assert status["counters"]["internal_error"] == 1
    assert status["control_refused"] == {}  # not counted as a refusal
    monkeypatch.undo()
    assert entry.ask("scan", kind="nfc", value=ADULT)["ok"]  # the gate carries on


def test_a_scans_request_id_is_answered_and_journalled_with_its_decision(entry):
    asked = entry.ask("scan", kind="nfc", value=ADULT, request="bench-42")
    assert asked["ok"] and asked["request"] == "bench-42"
    made = entry.ask("scan", kind="nfc", value=ADULT)  # none sent: the gate makes one
    assert made["ok"] and made["request"] and made["request"] != "bench-42"
    entries = {e["seq"]: e for e in entry.ask("journal")["entries"]}
    assert entries[asked["seq"]]["body"]["request"] == "bench-42"
    assert entries[made["seq"]]["body"]["request"] == made["request"]
