"""What staff record at a desk or handheld besides corrections: a ticket or band revoked or
restored (`revoke`, `restore`: the console's forms, `gatectl desk revoke value=... reason=...`),
a lost-child or separated-family incident opened or closed (`incident_open`, `incident_close`:
the console's form, `gatectl incident open|close ...`).

Each has the shape of every desk action (`gate.daemon.desk_actions`): authorised by the staff
badge tapped on this gate's reader within the pairing window (`gate.core.staff_at_desk`; none: a
denial saying to tap it), decided by the rules core (`gate.core.desk_records`), journalled as a
decision entry with its event and the badge (a denial too), folded here and published like
every entry: every gate refuses a revoked value at once, and the hub revokes it in its
allowlist (a delta for the gates that missed the event) and records the incident.

    revoke(DeskCall(ledger, settings, policy, now, {"value": "T17", "reason": "refund"}, None))
    incident_open(DeskCall(..., {"kind": "lost_child", "band": "04A1..."}, asked_by))

Arguments are checked as hostile; what is wrong is said in the console's words (a fixed
sentence each, translated where the console shows it).
"""

from __future__ import annotations

from typing import Any

from gate.core import Kind, Mode, Scan
from gate.core import desk_records as core
from gate.core.state import State
from gate.daemon.desk_journal import DeskAction, DeskCall, desk_role
from gate.i18n import N_
from gate.store.allowlist import normalise_uid

SAY_VALUE = N_("Band or ticket: a band's UID (as on the reader) or a ticket code")
SAY_REASON = N_("Reason: say why it is revoked (lost band, refund, ...), in one line")
SAY_FAMILY = N_("Name the family by one band of it, or by its ticket, not both")
SAY_BAND = N_("Band: a band's UID, as on the reader")
SAY_TICKET = N_("Ticket: a ticket code, without spaces")
SAY_KIND = N_("Kind: lost-child or separated-family")
SAY_NOTE = N_("Note: one line of at most 200 characters")
SAY_OUTCOME = N_("Outcome: found or cancelled")


def _text(args: dict[str, Any], name: str, say: str, *, required: bool = True) -> str:
    value = args.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(say)
    return value.strip()


def _value(state: State, args: dict[str, Any]) -> str:
    """A ticket code of the allowlist as it is filed, else a band UID normalised (as the hub's
    `hub revoke` files them)."""
    value = _text(args, "value", SAY_VALUE)
    if len(value) > 64 or not value.isprintable() or any(c.isspace() for c in value):
        raise ValueError(SAY_VALUE)
    tickets = state.allowlist.tickets
    for code in (value, value.upper()):
        if code in tickets:
            return code
    try:
        return normalise_uid(value)
    except ValueError:
        raise ValueError(SAY_VALUE) from None


def _scan(call: DeskCall, value: str) -> Scan:
    kind = Kind.BARCODE if value in call.state.allowlist.tickets else Kind.NFC
    return Scan(call.gate, Mode.BIND, kind, value)


def revoke(call: DeskCall) -> dict[str, Any]:
    """Revoke ticket or band `args["value"]` for `args["reason"]`."""
    desk_role(call.settings, "a band or ticket is revoked")
    value = _value(call.state, call.args)
    reason = _text(call.args, "reason", SAY_REASON)
    try:
        reason = core.revocation_reason(reason)
    except ValueError:
        raise ValueError(SAY_REASON) from None
    return call.by_badge(
        _scan(call, value),
        lambda state, staff: core.revoke_value(
            state, call.gate, call.now, call.policy, value, reason, staff
        ),
        "revoke",
    )


def restore(call: DeskCall) -> dict[str, Any]:
    """Lift the revocation of ticket or band `args["value"]`."""
    desk_role(call.settings, "a band or ticket is restored")
    value = _value(call.state, call.args)
    return call.by_badge(
        _scan(call, value),
        lambda state, staff: core.restore_value(
            state, call.gate, call.now, call.policy, value, staff
        ),
        "restore",
    )


def _family(args: dict[str, Any]) -> tuple[str, str]:
    """(band, "") or ("", ticket): the family an incident is for."""
    band, group = args.get("band"), args.get("group")
    if (band is None or band == "") == (group is None or group == ""):
        raise ValueError(SAY_FAMILY)
    if band:
        try:
            return normalise_uid(_text(args, "band", SAY_BAND)), ""
        except ValueError:
            raise ValueError(SAY_BAND) from None
    ticket = _text(args, "group", SAY_TICKET)
    if len(ticket) > 64 or not ticket.isprintable() or any(c.isspace() for c in ticket):
        raise ValueError(SAY_TICKET)
    return "", ticket


def _family_scan(call: DeskCall, band: str, group: str) -> Scan:
    return Scan(call.gate, Mode.BIND, Kind.NFC if band else Kind.BARCODE, band or group)


def incident_open(call: DeskCall) -> dict[str, Any]:
    """Open a lost-child (`kind` lost-child, the default) or separated-family incident for the
    family of `band` or of ticket `group`, with an optional `note`."""
    desk_role(call.settings, "an incident is opened")
    kind = _text(call.args, "kind", SAY_KIND, required=False) or "lost_child"
    kind = kind.replace("-", "_")
    if kind not in core.INCIDENT_KINDS:
        raise ValueError(SAY_KIND)
    band, group = _family(call.args)
    try:
        note = core.incident_note(_text(call.args, "note", SAY_NOTE, required=False))
    except ValueError:
        raise ValueError(SAY_NOTE) from None
    return call.by_badge(
        _family_scan(call, band, group),
        lambda state, staff: core.open_incident(
            state, call.gate, call.now, call.policy, kind, band, group, note, staff
        ),
        "incident opened for",
    )


def incident_close(call: DeskCall) -> dict[str, Any]:
    """Close the open incident of the family of `band` or of ticket `group`: `outcome` found
    (the default) or cancelled."""
    desk_role(call.settings, "an incident is closed")
    outcome = _text(call.args, "outcome", SAY_OUTCOME, required=False) or "found"
    if outcome not in core.INCIDENT_OUTCOMES:
        raise ValueError(SAY_OUTCOME)
    band, group = _family(call.args)
    return call.by_badge(
        _family_scan(call, band, group),
        lambda state, staff: core.close_incident(
            state, call.gate, call.now, call.policy, band, group, outcome, staff
        ),
        "incident closed for",
    )


ACTIONS: dict[str, DeskAction] = {
    "revoke": revoke,
    "restore": restore,
    "incident_open": incident_open,
    "incident_close": incident_close,
}
