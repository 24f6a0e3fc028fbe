"""The desk's guardian actions: registering a walk-in child, and a child's not-authorised list.

Each is authorised by the staff badge tapped on this desk's reader within the pairing window
(`gate.core.staff_at_desk`), decided by the rules core (`gate.core.guardians`), journalled as a
decision entry of this desk (a denial too: the journal keeps every attempt), folded here and
published like every entry. Only a desk or a handheld registers (its role's row in
`gate.core.authority`). Both have the shape of every desk action:

    walkin(DeskCall(ledger, settings, policy, now, {"guardian": "李娜", "phone": "138..."}, None))
    not_authorised(DeskCall(..., {"group": "T1", "names": ["张伟"]}, asked_by))

A walk-in child's group is given its pickup code at once (policy `pickup_codes` "solo" or
"all"): the journal holds its digest (`PickupCodeIssued`), the answer the code itself
(`pickup`), for staff to hand over; its band, scanned next at this desk, binds as `solo_child`.
The journal holds the guardian's phone masked; the answer holds it in full (`guardian_phone`)
for the desk's own book and the hub alone (`gate.daemon.walkin_hand_over`), which takes it out.
"""

from __future__ import annotations

import secrets
from typing import Any

from gate.core import Code, PickupCodeIssued, register_child, set_not_authorised
from gate.core.guardians import guardian_name, guardian_phone, not_authorised_names
from gate.daemon.desk_journal import DeskCall, desk_role
from gate.daemon.pickups import Pickups
from gate.daemon.walkin_hand_over import PHONE
from gate.devices.nfc.token import load_keyring

MAX_GROUP = 64  # characters of a ticket code or walk-in group named by a request


def walkin(call: DeskCall) -> dict[str, Any]:
    """Register a walk-in child here: guardian's name and mobile number in `args`."""
    settings, policy, now = call.settings, call.policy, call.now
    desk_role(settings, "a walk-in child is registered")
    name = guardian_name(call.args.get("guardian"))
    phone = guardian_phone(call.args.get("phone"))
    staff = call.badge()
    decision, events = register_child(call.state, call.gate, now, policy, name, phone, staff)
    code = None
    if decision.code is Code.OK_REGISTERED and policy.pickup_codes != "off":
        code = f"{secrets.randbelow(1_000_000):06d}"
        pickups = Pickups(load_keyring(settings.site_key), policy.pickup_codes, None, _no_count)
        group = decision.value
        events = [*events, PickupCodeIssued(call.gate, now, group, pickups.digests(code)[0])]
    answer = call.record((decision, events), "walk-in")
    if decision.code is Code.OK_REGISTERED:  # for the desk's book and the hub, never further
        answer[PHONE] = phone
    if code is not None:
        answer["pickup"] = {"group": decision.value, "code": code, "printed": False}
    return answer


def not_authorised(call: DeskCall) -> dict[str, Any]:
    """Set who may not collect a group's children: `group` and `names` (none clears it)."""
    desk_role(call.settings, "a not-authorised list is set")
    group = call.args.get("group")
    if not isinstance(group, str) or not 0 < len(group) <= MAX_GROUP:
        raise ValueError(f"group: a ticket code or walk-in group of 1 to {MAX_GROUP} characters")
    names = not_authorised_names(call.args.get("names", []))
    outcome = set_not_authorised(
        call.state, call.gate, call.now, call.policy, group, names, call.badge()
    )
    return call.record(outcome, "not authorised for")


def _no_count(*_args: Any) -> None:
    """Counted by the gate that prints the code (`Pickups.hand_over`), not here."""
