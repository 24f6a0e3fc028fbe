"""What staff record at the desk besides a band's corrections: one ticket or band revoked or
restored, and a lost-child or separated-family incident opened or closed. Staff actions, each
authorised by the staff badge tapped on the desk's reader (`gate.core.desk.staff_at_desk`, whose
badge the caller passes in as `staff`). Pure, like the rules.

    revoke_value(state, gate, now, policy, value, reason, staff)   OK_CORRECTED + ValueRevoked
    restore_value(state, gate, now, policy, value, staff)          OK_CORRECTED + ValueRestored
    open_incident(state, gate, now, policy, kind, band, group, note, staff)
                                                                   OK_REGISTERED + IncidentOpened
    close_incident(state, gate, now, policy, band, group, outcome, staff)
                                                                   OK_REGISTERED + IncidentClosed

A revocation is every gate's at once (`State.desk_revoked`, folded from the event); the hub,
storing it, revokes the value in its allowlist too, so a gate that missed the event refuses it
all the same. A restore lifts a desk's revocation and the allowlist's (`State.restored`); a lost
band replaced at a desk stays revoked (its member wears the new band). A staff badge is revoked
and restored at the hub only: what a badge may authorise is the hub's to say.

An incident names the family by one band of it or by its ticket: the family must be bound. The
hub records it from the event (one per family open at a time) and shows it on the display.
"""

from __future__ import annotations

from datetime import datetime

from gate.core.events import IncidentClosed, IncidentOpened, ValueRestored, ValueRevoked
from gate.core.model import Code, Decision, Kind, Mode, Policy, Scan
from gate.core.rules import Outcome, deny
from gate.core.state import State

INCIDENT_KINDS = ("lost_child", "separated_family")
INCIDENT_OUTCOMES = ("found", "cancelled")
MAX_REASON = 200  # characters of a revocation's reason, as `hub revoke` takes it
MAX_NOTE = 200  # characters of an incident's note, as `hub incident` takes it


def _scan(state: State, gate: str, value: str) -> Scan:
    kind = Kind.BARCODE if value in state.allowlist.tickets else Kind.NFC
    return Scan(gate, Mode.BIND, kind, value)


def _what(state: State, value: str) -> str:
    return "ticket" if value in state.allowlist.tickets else "band"


def revocation_reason(reason: str) -> str:
    """A reason as a revocation keeps it: one line, at most MAX_REASON characters, printable;
    ValueError when there is none."""
    text = " ".join(reason.split())
    if not text:
        raise ValueError("a revocation says why (lost band, refund, ...)")
    if len(text) > MAX_REASON or not text.isprintable():
        raise ValueError(f"a reason is one line of at most {MAX_REASON} characters")
    return text


def incident_note(note: str) -> str:
    """A note as an incident keeps it; ValueError for one too long or not printable."""
    text = " ".join(note.split())
    if len(text) > MAX_NOTE or not text.isprintable():
        raise ValueError(f"a note is one line of at most {MAX_NOTE} characters")
    return text


def revoke_value(
    state: State, gate: str, now: datetime, policy: Policy, value: str, reason: str, staff: str
) -> Outcome:
    """Ticket or band `value` revoked at desk `gate`, for `reason`, authorised by `staff`."""
    scan = _scan(state, gate, value)
    if value in state.allowlist.staff:
        return deny(scan, Code.DENY_BINDING, f"{value} is a staff badge: revoked at the hub only")
    try:
        reason = revocation_reason(reason)
    except ValueError as exc:
        return deny(scan, Code.DENY_BINDING, str(exc))
    earlier = state.revoked(value)
    if earlier is not None:
        return deny(scan, Code.DENY_REVOKED, f"{value} is revoked already: {earlier}")
    what = _what(state, value)
    member = state.members.get(value)
    group = value if what == "ticket" else (member.group if member else None)
    message = f"{what} {value} revoked ({reason}): refused at every gate"
    decision = Decision(
        Code.OK_CORRECTED, message, value, gate, group, member.role if member else None, staff=staff
    )
    return decision, [ValueRevoked(gate, now, value, reason, staff)]


def restore_value(
    state: State, gate: str, now: datetime, policy: Policy, value: str, staff: str
) -> Outcome:
    """The revocation of ticket or band `value` lifted at desk `gate`, authorised by `staff`."""
    scan = _scan(state, gate, value)
    if value in state.allowlist.staff:
        return deny(scan, Code.DENY_BINDING, f"{value} is a staff badge: restored at the hub only")
    replaced = state.revocations.get(value)
    if replaced is not None:
        return deny(scan, Code.DENY_REVOKED, f"{value} stays revoked: {replaced}")
    lifted = state.revoked(value)
    if lifted is None:
        return deny(scan, Code.DENY_BINDING, f"{value} is not revoked")
    what = _what(state, value)
    member = state.members.get(value)
    group = value if what == "ticket" else (member.group if member else None)
    message = f"{what} {value} restored (was: {lifted}): accepted again"
    decision = Decision(
        Code.OK_CORRECTED, message, value, gate, group, member.role if member else None, staff=staff
    )
    return decision, [ValueRestored(gate, now, value, lifted, staff)]


def _family(state: State, scan: Scan, band: str, group: str) -> str | Outcome:
    """The group an incident is for: the band's, or the ticket's; a denial when not bound."""
    if band:
        member = state.members.get(band)
        if member is None:
            return deny(scan, Code.DENY_UNKNOWN, f"band {band} is bound to no family")
        return member.group
    if group not in state.groups and group.upper() in state.groups:
        group = group.upper()
    if group not in state.groups:
        return deny(scan, Code.DENY_UNKNOWN, f"ticket {group}: no family bound to it")
    return group


def open_incident(
    state: State,
    gate: str,
    now: datetime,
    policy: Policy,
    kind: str,
    band: str,
    group: str,
    note: str,
    staff: str,
) -> Outcome:
    """A lost-child (or separated-family) incident opened at `gate` for the family of band
    `band` or of ticket `group` (one of them given), authorised by `staff`."""
    scan = Scan(gate, Mode.BIND, Kind.NFC if band else Kind.BARCODE, band or group)
    if kind not in INCIDENT_KINDS:
        return deny(scan, Code.DENY_BINDING, "an incident is lost_child or separated_family")
    found = _family(state, scan, band, group)
    if not isinstance(found, str):
        return found
    try:
        note = incident_note(note)
    except ValueError as exc:
        return deny(scan, Code.DENY_BINDING, str(exc))
    earlier = state.incidents.get(found)
    if earlier is not None:
        already = f"group {found} has an incident open (at {earlier.gate})"
        return deny(scan, Code.DENY_BINDING, already)
    message = f"{kind.replace('_', ' ')} incident opened for group {found}: shown on the display"
    decision = Decision(Code.OK_REGISTERED, message, scan.value, gate, found, staff=staff)
    return decision, [IncidentOpened(gate, now, kind, found, band, note, staff)]


def close_incident(
    state: State,
    gate: str,
    now: datetime,
    policy: Policy,
    band: str,
    group: str,
    outcome: str,
    staff: str,
) -> Outcome:
    """The open incident of the family of band `band` or ticket `group` closed at `gate`
    (`outcome` found or cancelled), authorised by `staff`. The hub closes the family's open
    incident, wherever it was opened."""
    scan = Scan(gate, Mode.BIND, Kind.NFC if band else Kind.BARCODE, band or group)
    if outcome not in INCIDENT_OUTCOMES:
        return deny(scan, Code.DENY_BINDING, "an incident is closed found or cancelled")
    found = _family(state, scan, band, group)
    if not isinstance(found, str):
        return found
    message = f"incident of group {found} closed ({outcome})"
    decision = Decision(Code.OK_REGISTERED, message, scan.value, gate, found, staff=staff)
    return decision, [IncidentClosed(gate, now, found, outcome, staff)]
