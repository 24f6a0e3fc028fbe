"""The closing sweep and the lost-child lookup: who is still inside, and where a family stands.

Design §2: from 30 minutes before closing, staff clear the venue (闭场前半小时 清场提示), and a
lost child or a separated family is a routine incident (家长与孩子走失). Both read the venue's
folded state (`VenueState.reading()`, or any `gate.core.State`) and change nothing:

    with venue.reading() as state:
        rows = closing_sweep(state, staff=False)     # every child still inside, worst first
        found = lookup(state, "04:a1:b2:c3:d4:e5:f6", staff=True)
        flagged = unaccompanied_groups(state)

A guardian's phone number is shown masked (`mask_phone`: the last four digits) unless the
caller is staff allowed to see it (`staff=True`).

Times are the gates' own (`Member.last_at`), shown in `tz` when one is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from gate.core import Group, Member, MemberState, Role, State, mask_phone
from gate.core.families import missing
from gate.core.guardians import walkin_ticket
from gate.store.allowlist import normalise_uid


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One member of a group as the sweep and the lookup show it."""

    uid: str
    role: Role
    state: MemberState
    last_gate: str
    last_at: datetime

    @classmethod
    def of(cls, member: Member) -> MemberRow:
        return cls(member.uid, member.role, member.state, member.last_gate, member.last_at)

    def as_dict(self, tz: tzinfo | None = None) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "role": self.role.value,
            "state": self.state.value,
            "last_gate": self.last_gate,
            "last_at": _iso(self.last_at, tz),
        }


@dataclass(frozen=True, slots=True)
class SweepRow:
    """A child (or a child who came alone) still inside at the sweep."""

    uid: str
    group: str
    role: Role
    adult_inside: bool  # an adult of its own group (or of a ticket joined with it) is inside
    adults: tuple[MemberRow, ...]  # the adults of its group and joined ones, wherever they are
    children_unaccompanied: bool  # the group's flag (design §4)
    last_gate: str
    last_at: datetime
    guardian_phone: str  # masked unless the sweep was made for staff

    @property
    def unaccompanied(self) -> bool:
        """The group's flag, as the headcount counts `unaccompanied_children`."""
        return self.children_unaccompanied

    @property
    def alone(self) -> bool:
        """No adult of its group is inside (flagged, or a family child left alone otherwise)."""
        return self.children_unaccompanied or (self.role is Role.CHILD and not self.adult_inside)

    def as_dict(self, tz: tzinfo | None = None) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "group": self.group,
            "role": self.role.value,
            "adult_inside": self.adult_inside,
            "children_unaccompanied": self.children_unaccompanied,
            "adults": [a.as_dict(tz) for a in self.adults],
            "last_gate": self.last_gate,
            "last_at": _iso(self.last_at, tz),
            "guardian_phone": self.guardian_phone,
        }


def closing_sweep(state: State, *, staff: bool) -> list[SweepRow]:
    """Every child (role child or solo_child) still inside.

    Sorted as staff walk it: children with no adult of theirs inside first (the group flagged
    `children_unaccompanied`, or otherwise alone), then children who came alone, then the rest;
    by group and band within each."""
    rows = []
    for m in state.members.values():
        if not m.role.is_child or m.state is not MemberState.INSIDE:
            continue
        group = state.groups.get(m.group)
        members = state.family_members(m.group)  # its ticket's, and any joined with it
        adults = tuple(MemberRow.of(a) for a in members if a.role is Role.ADULT)
        rows.append(
            SweepRow(
                uid=m.uid,
                group=m.group,
                role=m.role,
                adult_inside=any(a.state is MemberState.INSIDE for a in adults),
                adults=adults,
                children_unaccompanied=bool(group and group.unaccompanied),
                last_gate=m.last_gate,
                last_at=m.last_at,
                guardian_phone=_phone(state, m.group, staff),
            )
        )
    return sorted(rows, key=_sweep_order)


def _sweep_order(row: SweepRow) -> tuple[int, str, str]:
    rank = 0 if row.alone else 1 if row.role is Role.SOLO_CHILD else 2
    return (rank, row.group, row.uid)


def lookup(
    state: State, credential: str, *, staff: bool, tz: tzinfo | None = None
) -> dict[str, Any] | None:
    """Where a family stands, found by any band of it or by its ticket code.

    A band UID may be written in any case, with colons or spaces between the bytes. Returns
    the group, each member's role, state, last gate and time, the group's flag, the ticket
    (product and validity), any revocation, and the guardian phone (masked unless `staff`);
    None when the credential names no bound band and no known ticket or group."""
    text = credential.strip()
    match: dict[str, str] | None = None
    group_id: str | None = None
    uid = _uid(text)
    if uid is not None and uid in state.members:
        group_id = state.members[uid].group
        match = {"kind": "band", "value": uid}
    else:
        for code in dict.fromkeys((text, text.upper())):
            if code in state.groups or code in state.allowlist.tickets:
                group_id, match = code, {"kind": "ticket", "value": code}
                break
    if group_id is None or match is None:
        return None
    group = state.groups.get(group_id)
    ticket = state.allowlist.tickets.get(group_id)
    members = [MemberRow.of(m) for m in state.members_of(group_id)]
    revoked = {
        value: reason
        for value in (match["value"], group_id)
        if (reason := state.revoked(value)) is not None  # the allowlist's, or a desk's
    }
    return {
        "match": match,
        "group": group_id,
        "bound": group is not None,
        "children_unaccompanied": bool(group and group.unaccompanied),
        # slots of its ticket with no band yet (gate.core.families): null once complete
        "incomplete": _incomplete(group),
        "inside": sum(m.state is MemberState.INSIDE for m in members),
        "members": [m.as_dict(tz) for m in members],
        "ticket": None
        if ticket is None
        else {
            "code": ticket.code,
            "product": ticket.product,
            "adults": ticket.adults,
            "children": ticket.children,
            "valid_from": ticket.valid_from.isoformat(),
            "valid_to": ticket.valid_to.isoformat(),
        },
        "revoked": revoked,
        "guardian_phone": _phone(state, group_id, staff),
    }


def _incomplete(group: Group | None) -> dict[str, int] | None:
    if group is None:
        return None
    short = missing(group)
    return {"adults": short.adults, "children": short.children} if short.any else None


def unaccompanied_groups(
    state: State,
    tz: tzinfo | None = None,
    show: Callable[[Member], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The groups flagged `children_unaccompanied`: their children inside and where their
    adults are, by group; each member as `show` writes it (default: the staff's row)."""
    show = show or (lambda m: MemberRow.of(m).as_dict(tz))
    found = []
    for group in sorted(state.groups.values(), key=lambda g: g.id):
        if not group.unaccompanied:
            continue
        members = state.members_of(group.id)
        found.append(
            {
                "group": group.id,
                "children": [
                    show(m) for m in members if m.role.is_child and m.state is MemberState.INSIDE
                ],
                "adults": [show(m) for m in members if m.role is Role.ADULT],
            }
        )
    return found


def _phone(state: State, group: str, staff: bool) -> str:
    ticket = state.allowlist.tickets.get(group) or walkin_ticket(state, group)
    phone = ticket.guardian_phone if ticket else ""
    return phone if staff else mask_phone(phone)


def _uid(text: str) -> str | None:
    try:
        return normalise_uid(text)
    except ValueError:
        return None


def _iso(at: datetime, tz: tzinfo | None) -> str:
    return (at.astimezone(tz) if tz else at).isoformat(timespec="seconds")
