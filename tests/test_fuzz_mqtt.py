"""Fuzzing what arrives over MQTT: every payload model, the events and decisions inside, and
the two consumers, a gate's loop and the hub's ingest.

A payload is read as its message, or refused with `ProtocolError` and the reason; an event
record as its event or refused with `CodecError`; a consumer drops what it cannot use, counting
the reason, and never stops. The targets are in tests/fuzz_targets.py; below them, inputs
fuzzing found.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from fuzz_targets import (
    DECISION_RECORD,
    EVENT_RECORD,
    EXTREME_PAYLOADS,
    GATE_LINK,
    HUB_INGEST,
    PAYLOADS,
    Dropped,
    LinkInput,
    Target,
    fuzz,
    gate_link,
    hub_ingest,
)

from gate.link.codec import CodecError, decision_from_dict, event_from_dict
from gate.link.protocol import GateStatus, ProtocolError, Topics, parse


@pytest.mark.parametrize("target", PAYLOADS, ids=lambda t: t.name.split()[-1])
def test_any_payload_reads_as_its_message_or_is_refused_with_a_reason(target: Target) -> None:
    fuzz(target)


def test_a_payload_nested_past_the_recursion_limit_or_with_huge_numbers_is_refused() -> None:
    fuzz(EXTREME_PAYLOADS)


def test_any_event_record_reads_as_its_event_or_is_refused_with_a_reason() -> None:
    fuzz(EVENT_RECORD)


def test_any_decision_record_reads_as_its_decision_or_is_refused_with_a_reason() -> None:
    fuzz(DECISION_RECORD)


def test_any_message_a_gate_receives_is_handled_or_dropped_with_a_reason() -> None:
    fuzz(GATE_LINK)


def test_any_message_the_hub_receives_is_stored_or_dropped_with_a_reason() -> None:
    fuzz(HUB_INGEST)


# --- inputs fuzzing found --------------------------------------------------------------------

MOVED = {
    "type": "MemberMoved",
    "gate": "X1",
    "at": "2026-07-18T10:02:03+08:00",
    "uid": "04A1B2C3D4E5F6",
    "group": "T1",
    "state": "inside",
}


def deep(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({**MOVED, "gate": deep(5000)}, r"MemberMoved: gate: Input should be a valid string"),
        ({**MOVED, "type": deep(5000)}, r"unknown event type \[\[\[\["),
        ({**MOVED, "state": deep(5000)}, r"MemberMoved: a field is nested too deeply"),
        ({**MOVED, "x" * 100_000: 1}, r"unexpected fields 'xxxx"),
        ({**MOVED, "at": "9999-12-31T23:59:59-14:00"}, r"at: a time must lie between"),
    ],
)
def test_an_event_record_beyond_what_can_be_shown_is_refused_with_a_short_reason(
    record: dict[str, object], reason: str
) -> None:
    with pytest.raises(CodecError, match=reason) as refused:
        event_from_dict(record)
    assert len(str(refused.value)) < 400


def test_a_decision_record_nested_past_the_recursion_limit_is_refused_with_a_reason() -> None:
    record = {"code": deep(5000), "message": "", "value": "T1", "gate": "E1"}
    with pytest.raises(CodecError, match="decision: a field is nested too deeply"):
        decision_from_dict(record)


def test_a_batch_whose_events_are_not_a_list_is_dropped_by_a_gate(tmp_path: Path) -> None:
    entry = {"seq": 1, "nonce": "0123abcd", "wall_ms": 1, "hlc": "0000000000000001"}
    batch = {"v": 1, "gate": "X1", "entries": [{**entry, "kind": "expiry", "body": {"events": 1}}]}
    with gate_link(tmp_path) as handle, pytest.raises(Dropped, match="schema"):
        handle(LinkInput(Topics().events("X1"), json.dumps(batch).encode()))
    good = {**batch, "entries": [{**entry, "kind": "expiry", "body": {"events": []}}]}
    with gate_link(tmp_path) as handle:  # the gate starts again (nothing bad was kept) ...
        handle(LinkInput(Topics().events("X1"), json.dumps(good).encode()))  # ... and follows X1


STATUS_WITH_A_LONE_SURROGATE = b'{"v": 1, "gate": "E1", "online": true, "reader": "\\ud800"}'


def test_a_payload_with_text_no_utf8_can_hold_is_refused() -> None:
    with pytest.raises(ProtocolError, match="lone surrogate"):
        parse(GateStatus, STATUS_WITH_A_LONE_SURROGATE)
    emoji = STATUS_WITH_A_LONE_SURROGATE.replace(b"\\ud800", b"\\ud83d\\ude00")  # a pair
    assert parse(GateStatus, emoji).reader == "\U0001f600"


def test_a_status_with_text_no_utf8_can_hold_is_dropped_by_the_hub(tmp_path: Path) -> None:
    with hub_ingest(tmp_path) as handle, contextlib.suppress(Dropped):
        handle(LinkInput(Topics().status("E1"), STATUS_WITH_A_LONE_SURROGATE))
