"""Walk-in children and verified pickup: a child registered alone at the desk, the guardian's
pickup code at an exit gate, and the children nobody on a not-authorised list may collect.
Pure, like the rules (`gate.core.rules`).

    register_child     OK_REGISTERED: a walk-in child's one-child group `W-<desk>-<yyyymmdd>-<n>`
                       (`ChildRegistered`), its binding open at the desk for a `solo_child` band
    set_not_authorised OK_REGISTERED: who may not collect a group's children (`NotAuthorisedSet`)
    pick_up            OK_PICKUP: a pickup code (its digest, `Scan.pickup`) that matches a group
                       with a child inside opens that group's exit window at this gate, by the
                       code (`PairingOpened`, its `adult` the digest); DENY_PICKUP_MISMATCH
                       when it matches none (a wrong code, counted: `PickupCodeRefused`);
                       DENY_PICKUP_LOCKED after too many (`gate.core.pickup_tries`)
    pickup_refusal     at an exit: a solo child leaves through its own group's open pickup
                       window; DENY_PICKUP_MISMATCH when only another group's is open here,
                       DENY_GUARDIAN_PICKUP when none
    override_barred    a staff override never releases a child of a group with a not-authorised
                       list: only the guardian's code does (the hub raises the alert)

Each desk action is authorised by the staff badge tapped on that desk (`staff_at_desk`); the
caller hands in its badge or its Refusal. Names and phones are validated here (`guardian_name`,
`guardian_phone`) so that a desk and every consumer of its journal judge them alike.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime

from gate.core.desk import mask_phone
from gate.core.events import ChildRegistered, Event, NotAuthorisedSet, PairingOpened
from gate.core.model import (
    Code,
    Decision,
    Kind,
    MemberState,
    Mode,
    Policy,
    Refusal,
    Role,
    Scan,
    Ticket,
)
from gate.core.pickup_tries import (
    child_locked,
    code_refused,
    lane_locked,
    lane_refusal,
    locked_refusal,
    waiting,
)
from gate.core.rules import PICKUP_PREFIX, Attempt, Outcome, deny
from gate.core.state import State

MAX_NAME = 40  # characters of a guardian's (or a not-authorised person's) name
MAX_NAMES = 10  # people on one child's not-authorised list
WALKIN = re.compile(r"W-(?P<desk>[A-Za-z0-9_-]{1,32})-(?P<day>\d{8})-(?P<n>\d{1,5})")
MAX_GROUP = 32  # bytes of a group id a band's token carries
_MOBILE = re.compile(r"1\d{10}")
# the denials of a child's exit a staff override may not set aside for a listed group
BARRED = frozenset(
    {
        Code.DENY_GUARDIAN_PICKUP,
        Code.DENY_PICKUP_MISMATCH,
        Code.DENY_PICKUP_LOCKED,
        Code.DENY_CHILD_NEEDS_ADULT,
    }
)


def guardian_name(name: object) -> str:
    """A person's name as written at the desk, trimmed; ValueError saying what to fix."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("write the guardian's name (1 to 40 characters)")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise ValueError(f"a name is at most {MAX_NAME} characters (got {len(name)})")
    if not name.isprintable():
        raise ValueError("a name holds letters, not control characters")
    return name


MASKED = re.compile(r"\*{7}\d{4}")  # a mobile number as every gate hears it


def registered_phone(state: State, group: str) -> str:
    """The full phone registered at a desk for walk-in `group`: as the hub was told it by the
    desk (`State.guardian_phones`), else from an event written before phones were masked in
    it; "" when neither is known here."""
    told = state.guardian_phones.get(group)
    if told:
        return told
    registered = state.guardians.get(group)
    phone = registered.phone if registered is not None else ""
    return phone if _MOBILE.fullmatch(phone) else ""


def guardian_phone(phone: object) -> str:
    """A Chinese mobile number: 11 digits starting with 1 (spaces, dashes and +86 allowed);
    ValueError saying what to fix."""
    if not isinstance(phone, str):
        raise ValueError("write the guardian's mobile number: 11 digits starting with 1")
    digits = re.sub(r"[\s-]", "", phone)
    if digits.startswith("+86"):
        digits = digits[3:]
    if not _MOBILE.fullmatch(digits):
        shown = "".join(c for c in digits[:16] if c.isdigit())
        raise ValueError(
            f"not a mobile number ({len(shown)} digits): write 11 digits starting with 1, "
            "like 138 0013 8000"
        )
    return digits


def not_authorised_names(names: object) -> tuple[str, ...]:
    """A not-authorised list as entered (none clears it); ValueError saying what to fix."""
    if not isinstance(names, (list, tuple)) or len(names) > MAX_NAMES:
        raise ValueError(f"list at most {MAX_NAMES} names")
    out: list[str] = []
    for name in names:
        clean = guardian_name(name)
        if clean not in out:
            out.append(clean)
    return tuple(out)


def next_walkin_group(state: State, desk: str, now: datetime, policy: Policy) -> str:
    """The next walk-in group id of `desk` on the session day of `now`: one more than the
    highest this state holds of that desk and day (a state folded from the desk's journal, so
    a restart never gives one twice)."""
    day = f"{policy.session_day(now):%Y%m%d}"
    taken = [0]
    for group in state.guardians:
        found = WALKIN.fullmatch(group)
        if found and found["desk"] == desk and found["day"] == day:
            taken.append(int(found["n"]))
    return f"W-{desk}-{day}-{max(taken) + 1}"


def register_child(
    state: State,
    gate: str,
    now: datetime,
    policy: Policy,
    guardian: str,
    phone: str,
    staff: str | Refusal,
) -> Outcome:
    """Register a walk-in child at desk `gate` (a staff action); its band binds next here."""
    group = next_walkin_group(state, gate, now, policy)
    scan = Scan(gate, Mode.BIND, Kind.BARCODE, group)
    if isinstance(staff, Refusal):
        return deny(scan, staff.code, staff.message)
    if len(group) > MAX_GROUP:
        return deny(scan, Code.DENY_BINDING, f"desk id {gate} too long to name walk-in groups")
    try:
        name, mobile = guardian_name(guardian), guardian_phone(phone)
    except ValueError as exc:
        return deny(scan, Code.DENY_BINDING, str(exc))
    message = f"walk-in child {group}: guardian {name} {mask_phone(mobile)}; scan the child's band"
    decision = Decision(
        Code.OK_REGISTERED, message, group, gate, group, Role.SOLO_CHILD, staff=staff
    )
    # every gate hears the event: the phone in it is masked; the desk keeps it in full and
    # sends it to the hub alone (gate.store.phone_book, gate.link.guardian_phone)
    return decision, [ChildRegistered(gate, now, group, name, mask_phone(mobile), staff)]


def set_not_authorised(
    state: State,
    gate: str,
    now: datetime,
    policy: Policy,
    group: str,
    names: tuple[str, ...],
    staff: str | Refusal,
) -> Outcome:
    """Set who may not collect `group`'s children, at desk `gate` (a staff action)."""
    scan = Scan(gate, Mode.BIND, Kind.BARCODE, group)
    if isinstance(staff, Refusal):
        return deny(scan, staff.code, staff.message)
    if group not in state.groups and group not in state.allowlist.tickets:
        return deny(scan, Code.DENY_UNKNOWN, f"no ticket or walk-in group {group}")
    ticket = state.allowlist.tickets.get(group)
    if ticket is not None and ticket.children == 0:
        return deny(scan, Code.DENY_BINDING, f"ticket {group} has no child to collect")
    try:
        listed = not_authorised_names(names)
    except ValueError as exc:
        return deny(scan, Code.DENY_BINDING, str(exc))
    who = ", ".join(listed) if listed else "nobody"
    message = f"not authorised to collect {group}'s children: {who}"
    decision = Decision(Code.OK_REGISTERED, message, group, gate, group, staff=staff)
    return decision, [NotAuthorisedSet(gate, now, group, listed, staff)]


def pick_up(state: State, scan: Scan, now: datetime, policy: Policy) -> Outcome:
    """A guardian's pickup code read at a gate (`scan.value` its digest, `Scan.pickup`), tried
    for the solo child waiting at this lane, if one is (`gate.core.pickup_tries`)."""
    if scan.mode is not Mode.EXIT:
        return deny(scan, Code.DENY_PICKUP_MISMATCH, "a pickup code is shown at an exit gate")
    child = waiting(state, scan.gate, now, policy)
    if child is None and lane_locked(state, scan.gate, now, policy):
        return _refused(scan, lane_refusal(scan.gate), None)
    if child is not None and child_locked(state, child, now, policy):
        return _refused(scan, locked_refusal(child, now, policy, state), child)
    digest = scan.value.removeprefix(PICKUP_PREFIX)
    groups = sorted(g for g, d in state.pickup_codes.items() if d == digest)
    inside = [g for g in groups if state.child_inside(g) or _solo_inside(state, g)]
    if not inside:
        why = "no child inside has this pickup code" if not groups else "its child is not inside"
        decision, _ = _refused(
            scan, Refusal(Code.DENY_PICKUP_MISMATCH, f"{why}: check the code with the desk"), child
        )
        return decision, code_refused(scan, now, child)  # a wrong code, counted
    group = inside[0]
    if child_locked(state, group, now, policy):  # shown with no child: its codes are refused
        return _refused(scan, locked_refusal(group, now, policy, state), group)
    message = (
        f"pickup code of {group} matched: its child may leave here within "
        f"{policy.pairing_window_s:g} s"
    )
    decision = Decision(Code.OK_PICKUP, message, scan.value, scan.gate, group)
    events: list[Event] = [PairingOpened(scan.gate, now, group, Mode.EXIT, scan.value)]
    return decision, events


def _refused(scan: Scan, refusal: Refusal, group: str | None) -> Outcome:
    """A pickup code refused, naming the child's group it was tried for (if any)."""
    decision, events = deny(scan, refusal.code, refusal.message)
    return replace(decision, group=group), events


def _solo_inside(state: State, group: str) -> bool:
    return any(
        m.role is Role.SOLO_CHILD and m.state is MemberState.INSIDE for m in state.members_of(group)
    )


def override_barred(a: Attempt, refusal: Refusal) -> Refusal | None:
    """An override never releases a child of a group with a not-authorised list."""
    if not a.member.role.is_child or a.scan.mode is not Mode.EXIT:
        return None
    if refusal.code not in BARRED:
        return None
    listed = a.state.not_authorised.get(a.group.id)
    if not listed:
        return None
    return Refusal(
        refusal.code,
        f"no override: {a.group.id} has a not-authorised list ({len(listed)} named): only the "
        "guardian's pickup code releases the child; the duty manager is alerted",
    )


def walkin_ticket(state: State, group: str) -> Ticket | None:
    """A walk-in group's ticket, as the desk registered it: valid on the day its id names."""
    registered = state.guardians.get(group)
    found = WALKIN.fullmatch(group)
    if registered is None or found is None:
        return None
    try:
        day = date(int(found["day"][:4]), int(found["day"][4:6]), int(found["day"][6:]))
    except ValueError:
        return None
    return Ticket(group, "walk-in", 0, 1, day, day, guardian_phone=registered_phone(state, group))
