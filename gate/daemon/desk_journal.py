"""How every desk action is journalled: a decision entry of the desk, with its events (none for
a denial: the journal keeps every attempt), the staff badge that authorised it in the body's
`staff` (the report's desk actions, the hub's audit), `desk_action` (true: a desk action, not
a scan, also when refused with no badge: the daily report lists it with the desk's actions,
never with a technician's test scans), who asked, and, for the console, the id of its request.
Then folded, like every entry (`Ledger.record`).

Every desk action takes one `DeskCall`: the gate's books, settings and policy, the time, its
checked arguments and who asked. `DeskCall.by_badge` is the path of most: the core decides with
the staff badge armed at this desk (none: a denial saying to tap it), and the decision is
journalled with the badge its events name."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gate.core import Decision, Event, Kind, Policy, Scan, State, staff_at_desk
from gate.core.model import Refusal
from gate.core.rules import Outcome, deny
from gate.daemon.ledger import Ledger
from gate.link.codec import decision_to_dict
from gate.settings import GateSettings

log = logging.getLogger("gate")

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
    badges = (getattr(e, "staff", None) for e in events)
    return next((b for b in badges if isinstance(b, str) and b), None)


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


@dataclass(frozen=True)
class DeskCall:
    """One desk action asked of this gate: its books, settings and policy, the time, the
    action's checked arguments, and who asked (the kernel's word, or the hub's console)."""

    ledger: Ledger
    settings: GateSettings
    policy: Policy
    now: datetime
    args: dict[str, Any]
    asked_by: dict[str, Any] | None

    @property
    def gate(self) -> str:
        return self.settings.id

    @property
    def state(self) -> State:
        return self.ledger.state

    def badge(self) -> str | Refusal:
        """The staff badge armed at this desk now, or the refusal saying to tap one."""
        return staff_at_desk(self.state, self.gate, self.now, self.policy)

    def record(
        self,
        outcome: Outcome,
        what: str,
        kind: Kind = Kind.BARCODE,
        *,
        staff: str | None = None,
        request: object = None,
    ) -> dict[str, Any]:
        """Journal and fold the outcome, with `staff` (default: the badge its events name);
        logged as `what`, the value, its code and message."""
        decision, events = outcome
        badge = staff if staff is not None else authorised_by(events)
        answer = record_desk_decision(
            self.ledger, decision, events, badge, self.asked_by, kind, request
        )
        log.info("%s %s: %s (%s)", what, decision.value, decision.code.value, decision.message)
        return answer

    def by_badge(
        self,
        scan: Scan,
        decide: Callable[[State, str], Outcome],
        what: str,
        request: object = None,
    ) -> dict[str, Any]:
        """The core's `decide(state, badge)` with the badge armed here (none: a denial of
        `scan` saying to tap it), journalled with the badge its events name."""
        staff = self.badge()
        if isinstance(staff, Refusal):
            outcome = deny(scan, staff.code, staff.message)
        else:
            outcome = decide(self.state, staff)
        return self.record(outcome, what, scan.kind, request=request)


DeskAction = Callable[[DeskCall], dict[str, Any]]  # the shape of every desk action
