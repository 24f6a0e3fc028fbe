"""Joining two tickets into one family at the desk (a staff action, `gatectl join A B`).

Decided by the rules core (`gate.core.groups.join`), journalled as a decision entry of this desk
with the `GroupsJoined` event, folded here, and published like every entry: every gate and the
hub fold it, and from then on either ticket's adults may take either's children. Only a desk or
a handheld joins (its role's row in `gate.core.authority`); the control socket's peer check says
who asked.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from gate.core import Policy, join
from gate.daemon.ledger import Ledger
from gate.link.codec import decision_to_dict
from gate.settings import GateSettings

log = logging.getLogger("gate")


def join_at_desk(
    ledger: Ledger,
    settings: GateSettings,
    policy: Policy,
    now: datetime,
    tickets: tuple[str, str],
    asked_by: dict[str, Any] | None,
) -> dict[str, Any]:
    """Join `tickets` at this desk; the decision as a dict, with the journal entry's seq."""
    if settings.role not in ("desk", "handheld"):
        raise ValueError(f"tickets are joined at a desk, not at the {settings.role} gate")
    first, second = tickets
    decision, events = join(ledger.state, settings.id, first, second, now, policy)
    scanned = {"kind": "barcode", "value": first, "mode": "bind", "intent": "final"}
    body: dict[str, Any] = {
        "scan": {**scanned, "token": False, "tag": False, "offline": False},
        "decision": decision_to_dict(decision),
    }
    if asked_by is not None:
        body["asked_by"] = asked_by
    entry = ledger.record("decision", body, events)
    log.info("join %s + %s: %s (%s)", first, second, decision.code.value, decision.message)
    return {"seq": entry.seq, **decision_to_dict(decision)}
