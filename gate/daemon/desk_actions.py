"""The desk's actions, by name: one table for the control socket (`gatectl desk ACTION
key=value...`, `{"cmd": "desk", "action": NAME, "args": {...}}`) and for the hub's console
(`hub/desk/{gate}`, `gate.daemon.desk_requests`).

Each action is a function of one shape (`gate.daemon.desk_journal.DeskCall`: the gate's books,
settings and policy, the time, the checked `args`, who asked):

    def action(call: DeskCall) -> {"seq": ..., **decision}

It checks the gate's role, validates `args` (a `ValueError` with a sentence an operator can act
on), finds the staff badge tapped on this desk's reader within the pairing window
(`gate.core.staff_at_desk`), decides with the rules core, and records the decision with
`DeskCall.record` (`DeskCall.by_badge` for most), a denial too (the journal keeps every
attempt), the badge in the body's `staff`. `dispatch` runs the one named, with the asker's
request id carried into the decision's body (`Ledger.carrying`): the console finds the outcome
by it.

`ACTIONS` holds the actions this gate knows. The names are the venue's: `join` here; `replace`,
`unbind`, `reissue` (corrections), `walkin`, `not_authorised` (walk-in children and their
guardians), `revoke`, `restore`, `incident_open`, `incident_close` (`gate.daemon.desk_records`),
`stock`, `hand_back` (`gate.daemon.desk_stock`) are registered beside it by their own modules.
A name not in the table is refused with the names that are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gate.core import Kind, Mode, Policy, Scan, join
from gate.core.model import Refusal
from gate.core.rules import deny
from gate.daemon.desk_corrections import ACTIONS as CORRECTIONS
from gate.daemon.desk_guardians import not_authorised, walkin
from gate.daemon.desk_journal import DeskAction, DeskCall, desk_role
from gate.daemon.desk_records import ACTIONS as RECORDS
from gate.daemon.desk_stock import ACTIONS as STOCK
from gate.daemon.ledger import Ledger
from gate.settings import GateSettings

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


def join_action(call: DeskCall) -> dict[str, Any]:
    """Staff join ticket `other` to ticket `ticket`'s family (`gate.core.join`), authorised by
    the badge tapped on this desk's reader (its event names no badge: the entry does)."""
    desk_role(call.settings, "tickets are joined")
    ticket, other = ticket_arg(call.args, "ticket"), ticket_arg(call.args, "other")
    staff = call.badge()
    if isinstance(staff, Refusal):
        scan = Scan(call.gate, Mode.BIND, Kind.BARCODE, ticket)
        return call.record(deny(scan, staff.code, staff.message), f"desk join + {other}:")
    outcome = join(call.state, call.gate, ticket, other, call.now, call.policy)
    return call.record(outcome, f"desk join + {other}:", staff=staff)


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
    call = DeskCall(ledger, settings, policy, now, check_args(args), asked_by)
    with ledger.carrying(**({"request": request} if request else {})):
        return function(call)
