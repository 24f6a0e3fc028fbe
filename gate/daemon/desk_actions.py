"""The desk's actions, by name: one table for the control socket (`gatectl desk ACTION
key=value...`, `{"cmd": "desk", "action": NAME, "args": {...}}`) and for the hub's console
(`hub/desk/{gate}`, `gate.daemon.desk_requests`).

Each action is a function of one shape:

    def action(ledger, settings, policy, now, args, asked_by) -> {"seq": ..., **decision}

It checks the gate's role, validates `args` (a `ValueError` with a sentence an operator can act
on), finds the staff badge tapped on this desk's reader within the pairing window
(`gate.core.staff_at_desk`), decides with the rules core, and records the decision with
`ledger.record("decision", body, events)`, a denial too (the journal keeps every attempt), the
badge in the body's `staff`. `dispatch` runs the one named, with the asker's request id carried
into the decision's body (`Ledger.carrying`): the console finds the outcome by it.

`ACTIONS` holds the actions this gate knows. The names are the venue's: `join` here; `replace`,
`unbind`, `reissue` (corrections), `walkin`, `not_authorised` (walk-in children and their
guardians), `revoke`, `restore`, `incident_open`, `incident_close` (`gate.daemon.desk_records`),
`stock`, `hand_back` (`gate.daemon.desk_stock`) are registered beside it by their own modules.
A name not in the table is refused with the names that are.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from gate.core import Kind, Mode, Policy, Scan, join, staff_at_desk
from gate.core.model import Refusal
from gate.core.rules import deny
from gate.daemon.desk_corrections import ACTIONS as CORRECTIONS
from gate.daemon.desk_guardians import not_authorised, walkin
from gate.daemon.desk_journal import desk_role, record_desk_decision
from gate.daemon.desk_records import ACTIONS as RECORDS
from gate.daemon.desk_stock import ACTIONS as STOCK
from gate.daemon.ledger import Ledger
from gate.settings import GateSettings

log = logging.getLogger("gate")

DeskAction = Callable[
    [Ledger, GateSettings, Policy, datetime, dict[str, Any], dict[str, Any] | None],
    dict[str, Any],
]
ACTION_NAME = re.compile(r"[a-z][a-z_]{0,31}")
ARG_NAME = re.compile(r"[a-z][a-z_]{0,31}")
MAX_ARGS = 16
MAX_ARG_TEXT = 256
MAX_ARG_LIST = 32
TICKET_CODE = re.compile(r"[^\s\x00-\x1f\x7f]{1,64}")


class UnknownAction(ValueError):
    """A desk action this gate does not know."""


def check_args(args: object) -> dict[str, Any]:
    """`args` as every action may take them, or ValueError: at most MAX_ARGS names of lower-case
    letters, each a text of at most MAX_ARG_TEXT characters or a list of at most MAX_ARG_LIST
    such texts. What each action makes of them is its own check."""
    if not isinstance(args, Mapping):
        raise ValueError("args: an object of names and texts")
    if len(args) > MAX_ARGS:
        raise ValueError(f"args: at most {MAX_ARGS} of them")
    for name, value in args.items():
        if not isinstance(name, str) or not ARG_NAME.fullmatch(name):
            raise ValueError(f"args: {str(name)[:32]!r} is not an argument's name")
        texts = value if isinstance(value, list) else [value]
        if len(texts) > MAX_ARG_LIST or not all(
            isinstance(t, str) and len(t) <= MAX_ARG_TEXT for t in texts
        ):
            raise ValueError(
                f"{name}: a text of at most {MAX_ARG_TEXT} characters, or a list of at most "
                f"{MAX_ARG_LIST} of them"
            )
    return dict(args)


def ticket_arg(args: Mapping[str, Any], name: str) -> str:
    """A ticket code given as `name`, or ValueError saying what is wanted."""
    value = args.get(name)
    if not isinstance(value, str) or not TICKET_CODE.fullmatch(value.strip()):
        raise ValueError(f"{name}: a ticket code (1 to 64 characters, no spaces)")
    return value.strip()


def join_action(
    ledger: Ledger,
    settings: GateSettings,
    policy: Policy,
    now: datetime,
    args: dict[str, Any],
    asked_by: dict[str, Any] | None,
) -> dict[str, Any]:
    """Staff join ticket `other` to ticket `ticket`'s family (`gate.core.join`), authorised by
    the badge tapped on this desk's reader."""
    desk_role(settings, "tickets are joined")
    ticket, other = ticket_arg(args, "ticket"), ticket_arg(args, "other")
    staff = staff_at_desk(ledger.state, settings.id, now, policy)
    if isinstance(staff, Refusal):
        scan = Scan(settings.id, Mode.BIND, Kind.BARCODE, ticket)
        decision, events = deny(scan, staff.code, staff.message)
        badge = None
    else:
        decision, events = join(ledger.state, settings.id, ticket, other, now, policy)
        badge = staff
    result = record_desk_decision(ledger, decision, events, badge, asked_by)
    log.info("desk join %s + %s: %s (%s)", ticket, other, decision.code.value, decision.message)
    return result


ACTIONS: dict[str, DeskAction] = {
    "join": join_action,
    **CORRECTIONS,  # replace, unbind, reissue
    "walkin": walkin,
    "not_authorised": not_authorised,
    **RECORDS,  # revoke, restore, incident_open, incident_close
    **STOCK,  # stock, hand_back
}


def dispatch(
    ledger: Ledger,
    settings: GateSettings,
    policy: Policy,
    now: datetime,
    action: str,
    args: object,
    asked_by: dict[str, Any] | None,
    request: str | None = None,
    actions: Mapping[str, DeskAction] = ACTIONS,
) -> dict[str, Any]:
    """Run desk action `action` with `args`: its decision as a dict with its journal seq.
    Raises `UnknownAction` for a name not in `actions`, ValueError for arguments it refuses
    (nothing journalled then)."""
    if not isinstance(action, str) or not ACTION_NAME.fullmatch(action):
        raise UnknownAction("action: a desk action's name (lower-case letters)")
    function = actions.get(action)
    if function is None:
        known = ", ".join(sorted(actions))
        raise UnknownAction(f"this desk knows no action {action!r} (it knows: {known})")
    checked = check_args(args)
    with ledger.carrying(**({"request": request} if request else {})):
        return function(ledger, settings, policy, now, checked, asked_by)
