"""Reading a peer gate's journal entry for the authority check (`gate.core.authority`): the
shape first (before anything is decoded), then its events and decision, then what it says.

Used by both consumers: a gate following the others, and the hub's ingest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gate.core import Event
from gate.core.authority import (
    GATE_ROLES,
    GateRole,
    Knowledge,
    PastDecision,
    PeerEntry,
    Reason,
    Refused,
    check_clock,
    check_shape,
)
from gate.core.hlc import Timestamp
from gate.core.peer_events import vet
from gate.link.codec import CodecError, decision_from_dict, events_of

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def roles_of(gates: Mapping[str, str]) -> dict[str, GateRole]:
    """A roster's gates with a role this version knows (others are left out: not named)."""
    return {gate: role for gate, role in gates.items() if role in GATE_ROLES}


def body_size(body: dict[str, Any]) -> int:
    """The body's size as the gates serialize it (UTF-8 bytes of compact JSON)."""
    return text_size(_encode(body))


def text_size(text: str) -> int:
    """The UTF-8 bytes of a body's JSON text as it came (what the size bounds measure)."""
    return len(text.encode(errors="surrogatepass"))


def past_decision(kind: str, body: Mapping[str, Any]) -> PastDecision | None:
    """A stored entry as the decision a passage record may undo; None if it is none (another
    kind, a quarantined stub, or unreadable)."""
    if kind != "decision" or not isinstance(body.get("decision"), dict):
        return None
    try:
        return PastDecision(decision_from_dict(body["decision"]), tuple(events_of(dict(body))))
    except CodecError:
        return None


def check_entry_clock(hlc: str, clock_ms: int, max_drift_ms: int) -> None:
    """`Refused` (`clock_ahead`) when the entry's hybrid timestamp runs more than `max_drift_ms`
    ahead of the receiver's clock `clock_ms` (`schema` when it is no timestamp)."""
    try:
        stamp = Timestamp.parse(hlc)
    except ValueError:
        raise Refused(Reason.SCHEMA, "not a hybrid timestamp") from None
    check_clock(stamp.wall_ms, clock_ms, max_drift_ms)


def check_peer_entry(
    gate: str,
    roster: Mapping[str, GateRole],
    kind: str,
    body: dict[str, Any],
    knows: Knowledge,
    size: int | None = None,
    *,
    seq: int = 0,
) -> list[Event]:
    """The events of `gate`'s entry number `seq` if it may say them; `Refused` (with a stable
    reason) otherwise. `size`: the body's JSON size when known (the hub keeps the text it got).
    Without `seq`, a passage record undoes nothing (it must follow the decision it names)."""
    check_shape(kind, body, body_size(body) if size is None else size)
    try:
        events = events_of(body)
        decision = decision_from_dict(body["decision"]) if kind == "decision" else None
    except CodecError as exc:
        raise Refused(Reason.SCHEMA, str(exc)[:200]) from None
    entry = PeerEntry(gate, roster.get(gate), bool(roster), kind, body, events, decision, seq)
    try:
        return vet(entry, knows)
    except Refused:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a shape vet did not foresee
        raise Refused(Reason.SCHEMA, f"unreadable {kind} entry ({type(exc).__name__})") from None


__all__ = [
    "Knowledge",
    "Reason",
    "Refused",
    "body_size",
    "check_entry_clock",
    "check_peer_entry",
    "past_decision",
    "roles_of",
    "text_size",
]
