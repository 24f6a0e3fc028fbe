"""The power-cut campaign's checker (bench/powercut/checker.py) fails a run on each thing it
is there to catch: a lost answered decision or acknowledged entry, a duplicate, a mixed
allowlist, an integrity failure, a headcount off the ground truth; and passes a clean one."""

from __future__ import annotations

import copy
from typing import Any

from bench.powercut.checker import (
    Entry,
    Scan,
    acknowledged_in_store,
    answered_in_journal,
    integrity_failures,
    judge,
    mixed_snapshots,
)


def scan(
    gate: str, value: str, seq: int | None, code: str, sent: float, outcome: str = "ok"
) -> Scan:
    return Scan(gate, value, outcome, seq, code if outcome == "ok" else None, sent)


def decision(gate: str, seq: int, value: str, code: str) -> Entry:
    return Entry(gate, seq, f"n{gate}{seq}", "decision", value, code)


SCANS = [
    scan("E1", "A", 1, "OK_ENTRY", 1.0),
    scan("E1", "B", 2, "OK_ENTRY", 2.0),
    scan("X1", "A", 1, "OK_EXIT", 3.0),
    scan("E1", "C", None, "", 4.0, outcome="indeterminate"),  # died answering: it did decide
]
JOURNALS = {
    "E1": [decision("E1", 1, "A", "OK_ENTRY"), decision("E1", 2, "B", "OK_ENTRY"),
           decision("E1", 3, "C", "OK_ENTRY")],
    "X1": [decision("X1", 1, "A", "OK_EXIT")],
}  # fmt: skip
HUB = [e for rows in JOURNALS.values() for e in rows]


def test_a_clean_run_passes_and_counts_the_recovered_decision() -> None:
    verdict = judge(SCANS, JOURNALS, {"E1": 0, "X1": 0}, HUB, 0, 2)
    assert verdict.passed, verdict
    assert (verdict.answered, verdict.recovered, verdict.truth_inside) == (3, 1, 2)


def test_an_answered_decision_missing_at_the_hub_is_lost() -> None:
    verdict = judge(SCANS, JOURNALS, {"E1": 0, "X1": 0}, HUB[1:], 0, 2)
    assert not verdict.passed
    assert any("E1/1" in item for item in verdict.lost)


def test_a_seq_reused_for_another_band_after_a_cut_is_lost() -> None:
    """The gate lost entry 2 at a cut and wrote another decision under seq 2."""
    journals = copy.deepcopy(JOURNALS)
    journals["E1"][1] = decision("E1", 2, "Z", "OK_ENTRY")
    hub = [e for rows in journals.values() for e in rows]
    assert judge(SCANS, journals, {"E1": 0, "X1": 0}, hub, 0, 2).lost
    assert answered_in_journal(SCANS, "E1", journals["E1"], 0) == [
        "E1/2: answered B OK_ENTRY, the journal holds Z OK_ENTRY"
    ]


def test_after_a_cut_every_answered_decision_is_in_the_journal_or_compacted() -> None:
    assert answered_in_journal(SCANS, "E1", JOURNALS["E1"][2:], compacted=2) == []
    lost = answered_in_journal(SCANS, "E1", JOURNALS["E1"][:1], compacted=0)
    assert lost == ["E1/2 B OK_ENTRY: answered, not in the journal"]


def test_an_acknowledged_entry_missing_from_the_hubs_store_after_a_cut_is_lost() -> None:
    stored = {("E1", 1), ("E1", 2), ("X1", 1)}
    assert acknowledged_in_store({"E1": 2, "X1": 1}, stored) == []
    assert acknowledged_in_store({"E1": 3}, stored) == [
        "E1: acknowledged up to 3, the store lacks [3]"
    ]


def test_duplicates_fail_the_run() -> None:
    twice = [*HUB, Entry("E1", 4, HUB[0].nonce, "decision", "A", "OK_ENTRY")]  # one entry, 2 seqs
    assert judge(SCANS, JOURNALS, {"E1": 0, "X1": 0}, twice, 0, 2).duplicated
    assert judge(SCANS, JOURNALS, {"E1": 0, "X1": 0}, HUB, 1, 2).duplicated  # a conflict
    doubled = [*SCANS, scan("E1", "B", 2, "OK_ENTRY", 5.0)]  # one entry answered for two scans
    assert judge(doubled, JOURNALS, {"E1": 0, "X1": 0}, HUB, 0, 2).duplicated


def test_a_headcount_off_the_ground_truth_fails_the_run() -> None:
    assert not judge(SCANS, JOURNALS, {"E1": 0, "X1": 0}, HUB, 0, 3).passed
    assert not judge(SCANS, JOURNALS, {"E1": 0, "X1": 0}, HUB, 0, None).passed


def test_an_integrity_failure_is_named() -> None:
    results = [("E1/journal.db", "ok"), ("hub/events.db", "*** in database main ***\nPage 7")]
    assert integrity_failures(results) == ["hub/events.db: *** in database main ***\nPage 7"]
    assert integrity_failures([("x", "does not open: file is not a database")])


def snapshot(version: int, tickets: list[str], counted: int | None = None) -> dict[str, Any]:
    counts = {"tickets": len(tickets) if counted is None else counted, "bands": 1, "staff": 0,
              "revoked": 0}  # fmt: skip
    return {
        "meta": {"1": {"format": 1, "version": version, "counts": counts, "from_hub": True}},
        "tickets": {"1": {"code": tickets}},
        "bands": {"1": {"role": "adult", "uid": ["04A1B2C3D4E5F6"]}},
        "staff": {"1": {"uid": [], "name": []}},
        "revoked": {"1": {"value": [], "reason": []}},
    }


def test_the_allowlist_must_be_one_whole_version() -> None:
    old, new = snapshot(1, ["T1"]), snapshot(2, ["T1", "T2"])
    assert mixed_snapshots([("E1", old), ("X1", new), ("E2", copy.deepcopy(new))]) == []
    half = snapshot(2, ["T1"], counted=2)  # the new meta over the old tickets
    assert mixed_snapshots([("E1", half)]) == [
        "E1: version 2: holds {'tickets': 1, 'bands': 1, 'staff': 0, 'revoked': 0}, its meta "
        "says {'tickets': 2, 'bands': 1, 'staff': 0, 'revoked': 0}"
    ]
    other = snapshot(2, ["T1", "T3"])  # counts agree, the content is not version 2's
    assert mixed_snapshots([("E1", new), ("X1", other)]) == [
        "X1: version 2 differs from the one at E1"
    ]
    assert mixed_snapshots([("E1", "unreadable: Expecting value")]) == [
        "E1: unreadable: Expecting value"
    ]
    assert mixed_snapshots([("E1", {"meta": {}})])
