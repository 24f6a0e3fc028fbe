"""Events and decisions as JSON-ready dicts, and back, validated (journal bodies, MQTT payloads).

An event is written as `{"type": "MemberMoved", ...its fields}`; times as ISO-8601 with offset,
enums as their values. Reading validates every field with pydantic: a malformed or foreign
record raises `CodecError` with the reason, never builds a half-valid event.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from pydantic import TypeAdapter, ValidationError

from gate.config import abridged, describe, time_problem
from gate.core import (
    BandBound,
    BandLearned,
    BandReissued,
    BandReplaced,
    BandUnbound,
    BindingOpened,
    ChildRegistered,
    Decision,
    Event,
    GroupFlagged,
    GroupsJoined,
    IncidentClosed,
    IncidentOpened,
    MemberMoved,
    NotAuthorisedSet,
    OverrideArmed,
    OverrideSpent,
    PairingClosed,
    PairingExtended,
    PairingOpened,
    PickupAsked,
    PickupCodeIssued,
    PickupCodeRefused,
    StockRecorded,
    ValueRestored,
    ValueRevoked,
    VoucherUsed,
)

EVENT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        BindingOpened,
        BandBound,
        BandLearned,
        MemberMoved,
        PairingOpened,
        PairingClosed,
        GroupFlagged,
        OverrideArmed,
        OverrideSpent,
        PairingExtended,
        VoucherUsed,
        GroupsJoined,
        BandReplaced,
        BandUnbound,
        BandReissued,
        ChildRegistered,
        PickupCodeIssued,
        NotAuthorisedSet,
        PickupAsked,
        PickupCodeRefused,
        ValueRevoked,
        ValueRestored,
        IncidentOpened,
        IncidentClosed,
        StockRecorded,
    )
}


class CodecError(ValueError):
    """An event or decision record that is malformed or foreign; the message says why."""


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}  # by class: building one costs milliseconds


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


def _plain(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = _adapter(type(obj)).dump_python(obj, mode="json")
    return out


def event_to_dict(event: Event) -> dict[str, Any]:
    return {"type": type(event).__name__, **_plain(event)}


def event_from_dict(data: object) -> Event:
    if not isinstance(data, dict):
        raise CodecError("an event is a JSON object")
    kind = data.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise CodecError(f"unknown event type {abridged(kind)}")
    body = {k: v for k, v in data.items() if k != "type"}
    expected = {f.name for f in fields(cls)}
    if extra := sorted(set(body) - expected):
        shown = ", ".join(abridged(name) for name in extra[:5])
        more = f" ({len(extra)} in all)" if len(extra) > 5 else ""
        raise CodecError(f"{kind}: unexpected fields {shown}{more}")
    try:
        event: Event = _adapter(cls).validate_python(body, strict=False)
    except ValidationError as exc:
        raise CodecError(describe(exc, str(kind)).replace("\n", "; ")) from exc
    except RecursionError:  # an enum's own message shows the value: nested thousands deep
        raise CodecError(f"{kind}: a field is nested too deeply") from None
    if event.at.tzinfo is None:
        raise CodecError(f"{kind}: at: a time needs its UTC offset")
    if (problem := time_problem(event.at)) is not None:
        raise CodecError(f"{kind}: at: {problem} (got {event.at.isoformat()})")
    return event


def events_of(body: dict[str, Any]) -> list[Event]:
    """The events of a journal entry's body (none when it has no `events`), or CodecError."""
    raw = body.get("events", [])
    if not isinstance(raw, list):
        raise CodecError("events is not a list")
    return [event_from_dict(data) for data in raw]


def decision_to_dict(decision: Decision) -> dict[str, Any]:
    return _plain(decision)


def decision_from_dict(data: object) -> Decision:
    try:
        decision: Decision = _adapter(Decision).validate_python(data)
    except ValidationError as exc:
        raise CodecError(describe(exc, "decision").replace("\n", "; ")) from exc
    except RecursionError:  # as in event_from_dict
        raise CodecError("decision: a field is nested too deeply") from None
    return decision


__all__ = [
    "CodecError",
    "decision_from_dict",
    "decision_to_dict",
    "event_from_dict",
    "event_to_dict",
]
