"""A peer's decision entries of walk-in children and verified pickup (`gate.core.guardians`):
their events must follow from their decision, as the desk and the exit gate make them. Pure."""

from __future__ import annotations

import re

from gate.core.authority import Knowledge, PeerEntry, Reason, Refused, mismatch
from gate.core.events import (
    ChildRegistered,
    NotAuthorisedSet,
    PairingOpened,
    PickupAsked,
    PickupCodeIssued,
    PickupCodeRefused,
    StockRecorded,
)
from gate.core.guardians import MASKED, WALKIN, guardian_name, guardian_phone, not_authorised_names
from gate.core.model import Code, Decision, Mode
from gate.core.peer_desk_records import INCIDENTS, check_incident, check_stock
from gate.core.pickup_tries import ASKING
from gate.core.rules import PICKUP_PREFIX

DIGEST = re.compile(r"[0-9a-f]{64}")


def check_registered(entry: PeerEntry, d: Decision, mode: object, knows: Knowledge) -> None:
    """OK_REGISTERED: staff at a desk registered a walk-in child, or a not-authorised list."""
    if mode == Mode.BIND and entry.events and isinstance(entry.events[0], INCIDENTS):
        check_incident(entry, d, knows)  # a lost-child incident opened or closed
        return
    if mode == Mode.BIND and entry.events and isinstance(entry.events[0], StockRecorded):
        check_stock(entry, d, knows)  # band stock, or a band handed back
        return
    events = list(entry.events)
    issued = events[-1] if len(events) == 2 else None
    if isinstance(issued, PickupCodeIssued) and isinstance(events[0], ChildRegistered):
        check_pickup_issued(issued, d)  # a walk-in child's pickup code, given at once
        events.pop()
    event = events[0] if len(events) == 1 else None
    if mode != Mode.BIND or not isinstance(event, (ChildRegistered, NotAuthorisedSet)):
        raise mismatch("OK_REGISTERED registers one child or one list at a desk, and nothing else")
    badges, revoked = knows.allowlist.staff, knows.allowlist.revoked
    if d.staff is None or d.staff not in badges or d.staff in revoked or event.staff != d.staff:
        raise mismatch("OK_REGISTERED names an enrolled, unrevoked staff badge, as its event")
    if event.group != d.value or event.group != d.group:
        raise mismatch("OK_REGISTERED registers the group it names")
    try:
        if isinstance(event, ChildRegistered):
            found = WALKIN.fullmatch(event.group)
            if found is None or found["desk"] != entry.gate:
                raise mismatch("a walk-in group is named W-<this desk>-<yyyymmdd>-<n>")
            if guardian_name(event.guardian) != event.guardian or not (
                MASKED.fullmatch(event.phone) or guardian_phone(event.phone) == event.phone
            ):  # masked; in full in an entry written before phones were masked in events
                raise mismatch("a guardian's name and phone as the desk writes them")
        elif not_authorised_names(list(event.names)) != tuple(event.names):
            raise mismatch("a not-authorised list as the desk writes it")
    except ValueError as exc:
        raise mismatch(f"OK_REGISTERED: {str(exc)[:80]}") from None


def check_pickup_issued(event: PickupCodeIssued, d: Decision) -> None:
    """A pickup code is issued with its group's band, as its digest only."""
    if event.group != d.group or not DIGEST.fullmatch(event.digest):
        raise mismatch("a pickup code is issued for the band's group, as a digest")


def check_pickup(entry: PeerEntry, d: Decision, mode: object) -> None:
    """OK_PICKUP opens one exit window of the group whose code was read, by that code."""
    event = entry.events[0] if len(entry.events) == 1 else None
    if mode != Mode.EXIT or not isinstance(event, PairingOpened):
        raise mismatch("OK_PICKUP opens one exit window at an exit gate, and nothing else")
    digest = d.value.removeprefix(PICKUP_PREFIX)
    if not d.value.startswith(PICKUP_PREFIX) or not DIGEST.fullmatch(digest):
        raise mismatch("OK_PICKUP is of a pickup code's digest")
    if (event.group, event.direction, event.adult) != (d.group, Mode.EXIT, d.value):
        raise mismatch("OK_PICKUP opens its group's exit window by the code read")


def check_pickup_tried(entry: PeerEntry, d: Decision, mode: object) -> None:
    """A denial changes nothing, but for the wrong pickup codes it counts
    (`gate.core.pickup_tries`): at an exit gate, a solo child's pickup refusal journals that it
    waits at this lane (`PickupAsked`, its own band and group), and a pickup code that matched
    no child journals one wrong code (`PickupCodeRefused`, for the group the decision names)."""
    event = entry.events[0] if len(entry.events) == 1 else None
    if mode != Mode.EXIT or event is None:
        raise Refused(Reason.DECISION_MISMATCH, f"{d.code} changes nothing")
    code = d.value.startswith(PICKUP_PREFIX)
    match event:
        case PickupAsked(uid=uid, group=group) if not code and d.code in ASKING:
            if (uid, group) != (d.value, d.group):
                raise mismatch("a child waits for its code with its own band and group")
        case PickupCodeRefused(group=group) if code and d.code is Code.DENY_PICKUP_MISMATCH:
            if group != (d.group or ""):
                raise mismatch("a wrong code counts for the group its decision names")
        case _:
            raise Refused(Reason.DECISION_MISMATCH, f"{d.code} changes nothing")
