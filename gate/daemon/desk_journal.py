"""How every desk action is journalled: a decision entry of the desk, with its events (none for
a denial: the journal keeps every attempt), the staff badge that authorised it in the body's
`staff` (the report's desk actions, the hub's audit), `desk_action` (true: a desk action, not
a scan, also when refused with no badge: the daily report lists it with the desk's actions,
never with a technician's test scans), who asked, and, for the console, the id of its request.
Then folded, like every entry (`Ledger.record`)."""

from __future__ import annotations

from typing import Any

from gate.core import Decision, Event, Kind
from gate.daemon.ledger import Ledger
from gate.link.codec import decision_to_dict
from gate.settings import GateSettings

MAX_REQUEST_ID = 64
DESK_ROLES = ("desk", "handheld")


class NotAtDesk(ValueError):
    """A desk action asked of a gate that is no desk (an entry or exit lane)."""


def desk_role(settings: GateSettings, what: str) -> None:
    """Refuses (`NotAtDesk`) a desk action asked of a lane."""
    if settings.role not in DESK_ROLES:
        raise NotAtDesk(f"{what} at a desk, not at the {settings.role} gate")


def authorised_by(events: list[Event]) -> str | None:
    """The staff badge a desk action's events name (a denial has none)."""
    return next((e.staff for e in events if getattr(e, "staff", None)), None)


def record_desk_decision(
    ledger: Ledger,
    decision: Decision,
    events: list[Event],
    staff: str | None,
    asked_by: dict[str, Any] | None,
    kind: Kind = Kind.BARCODE,
    request: object = None,
) -> dict[str, Any]:
    """Journal a desk action's decision and fold it: the decision as a dict, with its seq."""
    scanned = {"kind": kind.value, "value": decision.value, "mode": "bind", "intent": "final"}
    body: dict[str, Any] = {
        "scan": {**scanned, "token": False, "tag": False, "offline": False},
        "decision": decision_to_dict(decision),
        "desk_action": True,
    }
    if staff is not None:
        body["staff"] = staff
    if asked_by is not None:
        body["asked_by"] = asked_by
    if isinstance(request, str) and 0 < len(request) <= MAX_REQUEST_ID:
        body["request"] = request  # the asker's id for this action, to find its outcome
    entry = ledger.record("decision", body, events)
    return {"seq": entry.seq, **decision_to_dict(decision)}
