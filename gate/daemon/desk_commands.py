"""`{"cmd": "desk", "action": NAME, "args": {...}}` on the gate's control socket (`gatectl desk
ACTION key=value...`): a desk action run by name (`gate.daemon.desk_actions`), journalled with
who asked (the kernel's word) and the request's id (the asker's, else one made here).

What the action refuses is said as a refusal with its reason, never as an internal error: an
action this desk does not know, or arguments it does not take (`bad_request`), an action asked
of a lane that is no desk (`not_here`). A denial by the rules (no staff badge tapped, a ticket
not valid today) is an answer: journalled, `granted` false.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from gate.control.refusals import Reason, Refused, required
from gate.control.socket import Peer, asked_by
from gate.core import Policy
from gate.daemon.desk_actions import dispatch
from gate.daemon.desk_journal import NotAtDesk
from gate.daemon.guardian_phones import GuardianPhones
from gate.daemon.ledger import Ledger
from gate.daemon.pickups import Pickups
from gate.daemon.walkin_hand_over import hand_over
from gate.settings import GateSettings

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # as a test scan's (gate.daemon.answers)


class ScanPathLike(Protocol):
    """What a desk action needs of the gate's scan path (`gate.daemon.scans.ScanPath`)."""

    settings: GateSettings
    policy: Policy
    ledger: Ledger
    clock: Callable[[], datetime]
    last: dict[str, Any] | None
    pickups: Pickups | None
    phones: GuardianPhones | None

    def advance_time(self, now: datetime | None = None) -> None: ...


class DeskRunner:
    """Runs desk actions on the loop, on the scan path's books: windows closed by now first
    (a staff badge's too), then the action; its decision is the gate's last.

    A walk-in child, once its registration is journalled, is handed over as `gatectl walkin`
    hands it (`gate.daemon.walkin_hand_over`): the guardian's phone kept here and sent to the
    hub alone, the pickup code printed on this desk's printer when it has one, sent to the hub
    for the guardian (`send_pickup_codes`) and, for a request of the hub's console (`console`),
    for that request's answer. The answer to the asker holds the code (`pickup`); the gate's
    `last` never does."""

    def __init__(self, scans: ScanPathLike) -> None:
        self.scans = scans

    def run(
        self,
        action: str,
        args: object,
        asked_by: dict[str, Any] | None,
        request: str | None,
        console: bool = False,
    ) -> dict[str, Any]:
        s = self.scans
        now = s.clock()
        s.advance_time(now)
        result = dispatch(s.ledger, s.settings, s.policy, now, action, args, asked_by, request)
        return hand_over(s, result, request if console else None)


class DeskGate(Protocol):
    desk: DeskRunner


def desk(gate: DeskGate, args: dict[str, Any], peer: Peer | None) -> dict[str, Any]:
    """Run one desk action by name (see the module's docstring)."""
    action = required(args, "action")
    if not isinstance(action, str):
        raise Refused(Reason.BAD_REQUEST, "action: a desk action's name")
    request = args.get("request") or secrets.token_hex(8)
    if not isinstance(request, str) or not REQUEST_ID.fullmatch(request):
        raise Refused(Reason.BAD_REQUEST, "request is 1 to 64 letters, digits or ._:-")
    who = asked_by(peer)
    try:
        result = gate.desk.run(action, args.get("args", {}), who, request)
    except NotAtDesk as exc:
        raise Refused(Reason.NOT_HERE, str(exc)) from None
    except ValueError as exc:  # an unknown action, or arguments it does not take
        raise Refused(Reason.BAD_REQUEST, str(exc)) from None
    granted = str(result["code"]).startswith("OK_")
    return {
        "action": action,
        "decision": result,
        "seq": result["seq"],
        "request": request,
        "granted": granted,
        "asked_by": who,
    }
