"""Events and decisions as JSON-ready dicts, and back, validated (journal bodies, MQTT payloads).

An event is written as `{"type": "MemberMoved", ...its fields}`; times as ISO-8601 with offset,
enums as their values. Reading validates every field with pydantic: a malformed or foreign
record raises `CodecError` with the reason, never builds a half-valid event.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from gate.config import describe
from gate.core import (
    BandBound,
    BandLearned,
    BindingOpened,
    Decision,
    Event,
    GroupFlagged,
    MemberMoved,
    OverrideArmed,
    OverrideSpent,
    PairingClosed,
    PairingOpened,
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
    )
}


class CodecError(ValueError):
    """An event or decision record that is malformed or foreign; the message says why."""


@cache
def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


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
        raise CodecError(f"unknown event type {kind!r}")
    body = {k: v for k, v in data.items() if k != "type"}
    expected = {f.name for f in fields(cls)}
    if extra := sorted(set(body) - expected):
        raise CodecError(f"{kind}: unexpected fields {', '.join(extra)}")
    try:
        event: Event = _adapter(cls).validate_python(body, strict=False)
    except ValidationError as exc:
        raise CodecError(describe(exc, kind).replace("\n", "; ")) from exc
    if event.at.tzinfo is None:
        raise CodecError(f"{kind}: at: a time needs its UTC offset")
    return event


def decision_to_dict(decision: Decision) -> dict[str, Any]:
    return _plain(decision)


def decision_from_dict(data: object) -> Decision:
    try:
        decision: Decision = _adapter(Decision).validate_python(data)
    except ValidationError as exc:
        raise CodecError(describe(exc, "decision").replace("\n", "; ")) from exc
    return decision


__all__ = [
    "CodecError",
    "decision_from_dict",
    "decision_to_dict",
    "event_from_dict",
    "event_to_dict",
]
