"""A peer desk's revocation, restoration, incident (`gate.core.desk_records`) and band stock
(`gate.core.desk_stock`): one event,
following from its decision, authorised by an enrolled, unrevoked staff badge, as the desk
writes it. Pure."""

from __future__ import annotations

from gate.core.authority import Knowledge, PeerEntry, mismatch, shown
from gate.core.desk_records import (
    INCIDENT_KINDS,
    INCIDENT_OUTCOMES,
    incident_note,
    revocation_reason,
)
from gate.core.desk_stock import (
    MAX_COUNT,
    STOCK_KINDS,
    STOCK_VALUE,
    shift_label,
    write_off_reason,
)
from gate.core.events import (
    IncidentClosed,
    IncidentOpened,
    StockRecorded,
    ValueRestored,
    ValueRevoked,
)
from gate.core.model import Decision

REVOCATIONS = (ValueRevoked, ValueRestored)
INCIDENTS = (IncidentOpened, IncidentClosed)


def _one(entry: PeerEntry, d: Decision, knows: Knowledge) -> object:
    if len(entry.events) != 1:
        raise mismatch(f"{d.code} records one thing")
    event = entry.events[0]
    badges, revoked = knows.allowlist.staff, knows.allowlist.revoked
    if d.staff is None or d.staff not in badges or d.staff in revoked:
        raise mismatch(f"{d.code} names an enrolled, unrevoked staff badge")
    if getattr(event, "staff", None) != d.staff:
        raise mismatch(f"{shown(event)} names the decision's staff badge")
    return event


def check_revocation(entry: PeerEntry, d: Decision, knows: Knowledge) -> None:
    """A ticket or band revoked or restored at a desk: the decision's value, never a badge."""
    event = _one(entry, d, knows)
    if not isinstance(event, REVOCATIONS) or event.value != d.value:
        raise mismatch("a desk revokes or restores the value its decision names")
    if event.value in knows.allowlist.staff:
        raise mismatch("a staff badge is revoked and restored at the hub only")
    said = event.reason if isinstance(event, ValueRevoked) else event.lifted
    try:
        if revocation_reason(said) != said:
            raise mismatch("a reason as the desk writes it")
    except ValueError as exc:
        raise mismatch(f"{shown(event)}: {str(exc)[:80]}") from None


def check_incident(entry: PeerEntry, d: Decision, knows: Knowledge) -> None:
    """An incident opened or closed at a desk or handheld, for the decision's family."""
    event = _one(entry, d, knows)
    if not isinstance(event, INCIDENTS) or event.group != d.group:
        raise mismatch("a desk opens or closes the incident of the family its decision names")
    if isinstance(event, IncidentOpened):
        if event.kind not in INCIDENT_KINDS or (event.band and event.band != d.value):
            raise mismatch("an incident of a known kind, by the band the decision names")
        try:
            if incident_note(event.note) != event.note:
                raise mismatch("a note as the desk writes it")
        except ValueError as exc:
            raise mismatch(f"IncidentOpened: {str(exc)[:80]}") from None
    elif event.outcome not in INCIDENT_OUTCOMES:
        raise mismatch("an incident is closed found or cancelled")


def check_stock(entry: PeerEntry, d: Decision, knows: Knowledge) -> None:
    """Band stock recorded at a desk or handheld: a count of a known kind, or one band handed
    back, named by the decision, with its group."""
    event = _one(entry, d, knows)
    if not isinstance(event, StockRecorded) or event.kind not in STOCK_KINDS:
        raise mismatch("a desk records stock taken, returned or written off")
    if type(event.count) is not int or not 0 < event.count <= MAX_COUNT:
        raise mismatch(f"a stock record counts 1 to {MAX_COUNT} bands")
    if event.band:
        if (event.kind, event.count) != ("returned", 1) or event.band != d.value:
            raise mismatch("a band handed back is one band returned, the decision's")
        if event.group != d.group or not event.group:
            raise mismatch("a band handed back names its family, as the decision does")
    elif d.value != STOCK_VALUE or event.group or d.group is not None:
        raise mismatch("a count of bands names no band and no family")
    try:
        if not event.shift or shift_label(event.shift) != event.shift:
            raise mismatch("a shift as the desk writes it")
        reason = write_off_reason(event.reason) if event.kind == "written_off" else ""
        if reason != event.reason:
            raise mismatch("a write-off's reason as the desk writes it, none otherwise")
    except ValueError as exc:
        raise mismatch(f"StockRecorded: {str(exc)[:80]}") from None
