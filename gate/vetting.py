"""Reading a peer gate's journal entry for the authority check (`gate.core.authority`): the
shape first (before anything is decoded), then its events and decision, then what it says.

Used by both consumers: a gate following the others, and the hub's ingest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gate.codec import CodecError, decision_from_dict, events_of
from gate.core import Event
from gate.core.authority import (
    GATE_ROLES,
    GateRole,
    Knowledge,
    PeerEntry,
    Reason,
    Refused,
    check_shape,
    vet,
)

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def roles_of(gates: Mapping[str, str]) -> dict[str, GateRole]:
    """A roster's gates with a role this version knows (others are left out: not named)."""
    return {gate: role for gate, role in gates.items() if role in GATE_ROLES}


def body_size(body: dict[str, Any]) -> int:
    """The body's size as the gates serialize it (UTF-8 bytes of compact JSON)."""
    return len(_encode(body).encode(errors="surrogatepass"))


def check_peer_entry(
    gate: str,
    roster: Mapping[str, GateRole],
    kind: str,
    body: dict[str, Any],
    knows: Knowledge,
    size: int | None = None,
) -> list[Event]:
    """The events of `gate`'s entry if it may say them; `Refused` (with a stable reason)
    otherwise. `size`: the body's JSON size when known (the hub keeps the text it got)."""
    check_shape(kind, body, body_size(body) if size is None else size)
    try:
        events = events_of(body)
        decision = decision_from_dict(body["decision"]) if kind == "decision" else None
    except CodecError as exc:
        raise Refused(Reason.SCHEMA, str(exc)[:200]) from None
    entry = PeerEntry(gate, roster.get(gate), bool(roster), kind, body, events, decision)
    try:
        return vet(entry, knows)
    except Refused:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a shape vet did not foresee
        raise Refused(Reason.SCHEMA, f"unreadable {kind} entry ({type(exc).__name__})") from None


__all__ = ["Knowledge", "Reason", "Refused", "body_size", "check_peer_entry", "roles_of"]
