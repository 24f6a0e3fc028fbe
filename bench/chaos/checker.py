"""What a chaos run is judged by, once the venue is healed and settled. Pure: no I/O.

The accounting follows Jepsen's queue checker. Each scan the harness sent is an `Op`; each gate's
journal and the hub's store are read at the end:

    acknowledged   the gate answered with the journal entry its decision was committed as
    lost           an acknowledged decision, or any entry of a gate's journal, not at the hub
    duplicated     an entry the hub holds twice (one gate entry under two seqs) or refused as a
                   conflict, or a headcount above the ground truth
    unexpected     an entry at the hub that no gate journalled, or a decision for no scan sent
    recovered      a scan the gate died answering, whose decision was journalled and reached the hub
    not applied    a scan the gate died answering before it journalled anything

The child-safety invariant is checked over the hub's whole history, in its hybrid-clock order:
no child leaves without an adult of its group let out at the same gate within the pairing window
before it; no child goes out temporarily; a solo child leaves only by a staff override (the
guardian pickup); every forced move names its staff badge.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from gate.core import BandBound, BandLearned, MemberMoved, MemberState, Role
from gate.link.codec import CodecError, events_of
from venue.socket_hands import Op
from venue.truth import MOVED_IN, moved_out


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
    """Each op with the code it took effect with (answered, or recovered from the journal)."""
    answered = {(op.gate, op.seq) for op in ops if op.outcome == "ok"}
    unanswered: dict[tuple[str, str], list[Row]] = defaultdict(list)  # (gate, value): decisions
    for gate, rows in journals.items():
        for row in rows:
            if row.kind == "decision" and (gate, row.seq) not in answered:
                unanswered[(gate, str(row.body.get("scan", {}).get("value")))].append(row)
    effective = []
    for op in ops:
        if op.outcome == "ok":
            result.acknowledged += 1
            result.codes[op.code or "?"] += 1
            at_hub = stored.get((op.gate, op.seq or 0))
            if at_hub is None:
                result.lost.append(f"{op.gate}/{op.seq}: {op.value} {op.code} acknowledged")
            elif at_hub.body.get("decision", {}).get("code") != op.code:
                result.unexpected.append(f"{op.gate}/{op.seq}: the hub holds another decision")
            effective.append((op, op.code or ""))
        elif op.outcome == "indeterminate":
            result.indeterminate += 1
            matches = unanswered.get((op.gate, op.value))
            if matches:
                decided = matches.pop(0)
                result.recovered += 1
                effective.append((op, str(decided.body.get("decision", {}).get("code"))))
            else:
                result.not_applied += 1
        elif op.outcome == "unavailable":
            result.unavailable += 1
        else:
            result.refused += 1
    for (gate, value), rows in unanswered.items():
        for row in rows:
            result.unexpected.append(f"{gate}/{row.seq}: a decision on {value} nobody scanned")
    return effective


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
