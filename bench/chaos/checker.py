"""What a chaos run is judged by, once the venue is healed and settled. Pure: no I/O.

The accounting follows Jepsen's queue checker. Each scan the harness sent is an `Op`; each gate's
journal and the hub's store are read at the end:

    acknowledged   the gate answered with the journal entry its decision was committed as
    lost           an acknowledged decision, or any entry of a gate's journal, not at the hub
    duplicated     an entry the hub holds twice (one gate entry under two seqs) or refused as a
                   conflict, or a headcount above the ground truth
    unexpected     an entry at the hub that no gate journalled, a decision for no scan sent, or
                   one journalled for a scan the gate said it refused
    mismatched     an acknowledged scan whose journal entry carries another request id
    recovered      a scan the gate died answering, whose decision was journalled and reached the hub
    not applied    a scan the gate died answering before it journalled anything
    refused        a scan the gate refused with a reason from the closed list
                   (`gate.control.refusals.Reason`), counted by reason
    failed         any other failure: an internal error, a failure text with no listed reason

Every scan carries a request id of the harness's own, journalled with its decision: a scan and
its journal entry are matched by it, never by gate and band.

The child-safety invariant is checked over the hub's whole history, in its hybrid-clock order:
no child leaves without an adult of its group let out at the same gate within the pairing window
before it; no child goes out temporarily; a solo child leaves only by a staff override (the
guardian pickup); every forced move names its staff badge.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from bench.chaos.regrants import recount
from gate.core import BandBound, BandLearned, MemberMoved, MemberState, Role
from gate.link.codec import CodecError, events_of
from venue.as_planned import (
    Judgement,
    Scanned,
    family_of,
    happened_at_hub,
    judge_day,
    judge_scans,
)
from venue.plan import Plan
from venue.socket_hands import Op
from venue.truth import MOVED_IN, moved_out

# A denial within this long of a fault (under way, or healed this recently) may be the fault's:
# a gate that missed a binding or a move while it, the desk or the broker was cut off or down.
FAULT_SHADOW_S = 10.0
EXPLAINING = frozenset({"gate_kill", "broker_outage", "partition", "clock_jump", "disk_full"})


class Fault(Protocol):
    fault: str

    def covers(self, at: float, shadow_s: float) -> bool: ...


@dataclass(frozen=True)
class Row:
    """One journal entry, as a gate's journal or the hub's store holds it."""

    gate: str
    seq: int
    nonce: str
    hlc: str
    kind: str
    body: Mapping[str, Any]


@dataclass
class Accounting:
    attempted: int = 0
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)  # by reason
    indeterminate: int = 0
    recovered: int = 0
    not_applied: int = 0
    unavailable: int = 0
    refused: int = 0
    journalled: int = 0  # entries in the gates' journals
    at_hub: int = 0  # of those, stored at the hub
    truth_inside: int = 0
    codes: Counter[str] = field(default_factory=Counter)


def account(
    ops: Sequence[Op],
    journals: Mapping[str, Sequence[Row]],
    hub: Sequence[Row],
    hub_conflicts: int,
) -> Accounting:
    result = Accounting(attempted=len(ops))
    stored = {(r.gate, r.seq): r for r in hub}
    result.duplicated += _stored_twice(hub)
    if hub_conflicts:
        result.duplicated.append(f"{hub_conflicts} (gate, seq) sent again with another nonce")
    for gate, rows in journals.items():
        for row in rows:
            result.journalled += 1
            at_hub = stored.get((gate, row.seq))
            if at_hub is None:
                result.lost.append(f"{gate}/{row.seq} {row.kind}: journalled, not at the hub")
            elif at_hub.nonce != row.nonce:
                result.unexpected.append(f"{gate}/{row.seq}: the hub holds another entry")
            else:
                result.at_hub += 1
    journalled = {(r.gate, r.seq) for rows in journals.values() for r in rows}
    for key, row in stored.items():
        if key not in journalled and row.gate in journals:
            result.unexpected.append(
                f"{row.gate}/{row.seq} {row.kind}: at the hub, journalled by no gate"
            )

    effective = _decisions(ops, journals, stored, result)
    result.truth_inside = _inside(effective)
    return result


def _stored_twice(hub: Sequence[Row]) -> list[str]:
    seen: dict[tuple[str, str], int] = {}
    twice = []
    for row in hub:
        first = seen.setdefault((row.gate, row.nonce), row.seq)
        if first != row.seq:
            twice.append(f"{row.gate}: one entry stored as seq {first} and {row.seq}")
    return twice


def _decisions(
    ops: Sequence[Op],
    journals: Mapping[str, Sequence[Row]],
    stored: Mapping[tuple[str, int], Row],
    result: Accounting,
) -> list[tuple[Op, str]]:
    """Each op with the code it took effect with (answered, or recovered from the journal by
    its request id)."""
    by_seq = {(gate, r.seq): r for gate, rows in journals.items() for r in rows}
    by_request: dict[tuple[str, str], Row] = {}
    for gate, rows in journals.items():
        for row in rows:
            if row.kind == "decision":
                request = str(row.body.get("request") or "")
                if not request or (gate, request) in by_request:
                    what = "no request id" if not request else f"request {request} again"
                    result.unexpected.append(f"{gate}/{row.seq}: a decision with {what}")
                    continue
                by_request[(gate, request)] = row
    sent = {(op.gate, op.request) for op in ops}
    effective = []
    for op in ops:
        journalled = by_request.get((op.gate, op.request))
        if op.outcome == "ok":
            result.acknowledged += 1
            result.codes[op.code or "?"] += 1
            mine = by_seq.get((op.gate, op.seq or 0))
            if mine is None or mine.body.get("request") != op.request:
                found = f"{journalled.seq}" if journalled else "none"
                result.mismatched.append(
                    f"{op.gate}/{op.seq}: answered for request {op.request}, whose entry is {found}"
                )
            at_hub = stored.get((op.gate, op.seq or 0))
            if at_hub is None:
                result.lost.append(f"{op.gate}/{op.seq}: {op.value} {op.code} acknowledged")
            elif at_hub.body.get("decision", {}).get("code") != op.code:
                result.unexpected.append(f"{op.gate}/{op.seq}: the hub holds another decision")
            effective.append((op, op.code or ""))
        elif op.outcome == "indeterminate":
            result.indeterminate += 1
            if journalled is not None:
                result.recovered += 1
                effective.append((op, str(journalled.body.get("decision", {}).get("code"))))
            else:
                result.not_applied += 1
        elif op.outcome == "unavailable":
            result.unavailable += 1
        elif op.outcome == "refused":
            result.refused += 1
            result.refusals[op.reason] += 1
            if journalled is not None:
                result.unexpected.append(
                    f"{op.gate}/{journalled.seq}: journalled, yet refused ({op.reason})"
                )
        else:
            result.failed.append(f"{op.gate} {op.value} ({op.request}): {op.error}")
    for (gate, request), row in by_request.items():
        if (gate, request) not in sent:
            value = row.body.get("scan", {}).get("value")
            result.unexpected.append(f"{gate}/{row.seq}: a decision on {value} nobody scanned")
    return effective


def as_planned(
    ops: Sequence[Op],
    hub: Sequence[Row],
    plan: Plan,
    overrides: bool,
    faults: Sequence[Fault],
    finished: Collection[str] | None = None,
) -> Judgement:
    """Whether the day happened as planned (`venue.as_planned`): each answered scan's code the
    one the simulator expected, or explained (a lost answer of its family before it; a denial
    while a fault was under way or within FAULT_SHADOW_S of its end); and the hub holding the
    moves and flags the plan called for, exactly for every family no fault disturbed; a move
    the gates made right from what they knew, of another kind than planned or the same again
    after a lost answer, counted as the planned move it answers (`bench.chaos.regrants`)."""
    families = family_of(plan)

    def explain(scan: Scanned) -> str | None:
        for fault in faults:
            if fault.fault in EXPLAINING and fault.covers(scan.at, FAULT_SHADOW_S):
                return f"during a {fault.fault.replace('_', ' ')}"
        return None

    scans = [
        Scanned(op.gate, op.value, op.code if op.outcome == "ok" else None, op.expected, op.sent)
        for op in sorted(ops, key=lambda op: op.sent)
    ]
    judgement = judge_scans(scans, families, explain)
    happened = happened_at_hub([row.body for row in hub], families)
    recounted = recount(ops, hub, families)
    for family, change in recounted.change.items():
        happened.setdefault(family, Counter()).update(change)
    judgement.recounted.update(recounted.said)
    return judge_day(plan, overrides, happened, judgement, finished)


def _inside(effective: Iterable[tuple[Op, str]]) -> int:
    """The ground truth: each band where its last effective movement put it."""
    inside: dict[str, bool] = {}
    for op, code in sorted(effective, key=lambda e: e[0].sent):
        if code in MOVED_IN:
            inside[op.value] = True
        elif moved_out(code, op.gate):
            inside[op.value] = False
    return sum(inside.values())


def child_safety_violations(hub: Sequence[Row], pairing_window_s: float) -> list[str]:
    """See the module's docstring; `hub` in the hub's order (hybrid clock, gate, seq)."""
    window = timedelta(seconds=pairing_window_s)
    roles: dict[str, Role] = {}
    adults_out: dict[tuple[str, str], list[Any]] = defaultdict(list)  # (gate, group): times
    found = []
    for row in hub:
        try:
            events = events_of(dict(row.body))
        except CodecError as exc:
            found.append(f"{row.gate}/{row.seq}: undecodable events ({exc})")
            continue
        for event in events:
            if isinstance(event, BandBound | BandLearned):
                roles[event.uid] = event.role
            if not isinstance(event, MemberMoved) or event.state is MemberState.INSIDE:
                continue
            role = roles.get(event.uid)
            where = f"{row.gate}/{row.seq} {event.uid}"
            if role is Role.ADULT:
                adults_out[(event.gate, event.group)].append(event.at)
            elif role is None or not role.is_child:
                continue
            elif event.forced:
                if not event.staff:
                    found.append(f"{where}: a child let out by a forced move with no staff badge")
            elif event.state is MemberState.TEMP_OUT:
                found.append(f"{where}: a child went out temporarily")
            elif role is Role.SOLO_CHILD:
                found.append(f"{where}: a solo child left without a guardian pickup")
            elif not any(
                at <= event.at <= at + window for at in adults_out[(event.gate, event.group)]
            ):
                found.append(f"{where}: a child left with no adult of its group")
    return found
