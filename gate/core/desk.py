"""Binding at the desk: a ticket scanned opens a binding, then each wristband scanned takes a
free slot of the ticket's group (`bind`); `mask_phone` shows the guardian's phone as staff see it.
Pure, like the rules (`gate.core.rules`)."""

from __future__ import annotations

from datetime import datetime

from gate.core.bands import band_is_of_the_stock
from gate.core.events import BandBound, BindingOpened
from gate.core.families import left_short
from gate.core.model import (
    Code,
    Decision,
    Kind,
    Member,
    MemberState,
    Policy,
    Refusal,
    Role,
    Scan,
    Ticket,
)
from gate.core.passages import carried
from gate.core.rules import Outcome, deny, within
from gate.core.state import Group, State


def bind(state: State, scan: Scan, now: datetime, policy: Policy) -> Outcome:
    """A scan in bind mode: a ticket opens its binding here, a wristband takes a slot in it."""
    ticket = state.allowlist.tickets.get(scan.value)
    if ticket is not None:
        return _open_binding(state, scan, now, policy, ticket)
    if scan.kind is Kind.BARCODE:
        reason = state.revoked(scan.value)
        if reason is not None:
            return deny(scan, Code.DENY_REVOKED, f"ticket {scan.value} revoked: {reason}")
        return deny(scan, Code.DENY_UNKNOWN, "ticket not in the allowlist")
    return _bind_band(state, scan, now)


def _open_binding(
    state: State, scan: Scan, now: datetime, policy: Policy, ticket: Ticket
) -> Outcome:
    reason = state.revoked(ticket.code)
    if reason is not None:
        return deny(scan, Code.DENY_REVOKED, f"ticket revoked: {reason}")
    today = policy.session_day(now)
    if not ticket.valid_on(today):
        valid = f"{ticket.valid_from.isoformat()}..{ticket.valid_to.isoformat()}"
        return deny(scan, Code.DENY_NOT_VALID_NOW, f"ticket valid {valid}, not {today}")
    group = state.groups.get(ticket.code)
    if group is not None and group.full:
        bound = len(group.members)
        return deny(scan, Code.DENY_BINDING, f"all {bound} bands of this ticket are bound")
    people = f"{ticket.adults} adults, {ticket.children} children"
    if ticket.is_solo:
        phone = mask_phone(ticket.guardian_phone) or "registered at the hub"
        people = f"child alone, guardian {phone}"
    message = f"binding open: {people}; scan the bands"
    short = left_short(state, scan.gate, ticket.code)
    if short is not None:  # 提示一家人是否到齐: the family left behind is said, not dropped
        message += f"; ticket {short.group} left short: {short.text()}"
    decision = Decision(Code.OK_BIND, message, scan.value, scan.gate, ticket.code)
    return decision, [BindingOpened(scan.gate, now, ticket.code, ticket.adults, ticket.children)]


def _bind_band(state: State, scan: Scan, now: datetime) -> Outcome:
    uid = scan.value
    reason = state.revoked(uid)
    if reason is not None:
        return deny(scan, Code.DENY_REVOKED, f"band revoked: {reason}")
    foreign = band_is_of_the_stock(state, uid)
    if foreign is not None:
        return deny(scan, foreign.code, foreign.message)
    earlier = state.members.get(uid)
    if earlier is not None and earlier.state is not MemberState.EXITED:
        if scan.tag and scan.token is None:  # a replacement, a re-issued band: blank
            return _token_for(scan, earlier)
        return deny(scan, Code.DENY_BINDING, f"band already bound to group {earlier.group}")
    group_id = state.bindings.get(scan.gate)
    if group_id is None:
        return deny(scan, Code.DENY_BINDING, "no open binding here: scan the ticket first")
    reason = state.revoked(group_id)
    if reason is not None:
        return deny(scan, Code.DENY_REVOKED, f"ticket {group_id} revoked: {reason}")
    group = state.groups[group_id]
    role = _free_slot(group, state.allowlist.bands.get(uid))
    if isinstance(role, Refusal):
        return deny(scan, role.code, role.message)
    adults = group.bound_adults + (role is Role.ADULT)
    children = group.bound_children + (role is not Role.ADULT)
    message = (
        f"bound as {role}: {adults}/{group.adults} adults, {children}/{group.children} children"
    )
    decision = Decision(Code.OK_BIND, message, uid, scan.gate, group_id, role)
    return decision, [BandBound(scan.gate, now, uid, group_id, role, carried(scan, group_id))]


def _token_for(scan: Scan, member: Member) -> Outcome:
    """A blank band of a member held to the desk's reader (a replacement, a band re-issued):
    the desk writes its token (`OK_CORRECTED`, no event: the member is as it was)."""
    message = f"token written: {member.role} of group {member.group} ({member.state})"
    decision = Decision(
        Code.OK_CORRECTED, message, scan.value, scan.gate, member.group, member.role
    )
    return decision, []


def _free_slot(group: Group, stock: Role | None) -> Role | Refusal:
    """The role a band takes in the group: its stock role, or the next free slot, adults first."""
    adult_free = group.bound_adults < group.adults
    child_free = group.bound_children < group.children
    if stock is Role.ADULT and not adult_free:
        return Refusal(Code.DENY_BINDING, "adult band, but every adult slot is bound")
    if stock is Role.CHILD and not child_free:
        return Refusal(Code.DENY_BINDING, "child band, but every child slot is bound")
    if stock is Role.ADULT or (stock is None and adult_free):
        return Role.ADULT
    return Role.SOLO_CHILD if group.solo else Role.CHILD


def staff_at_desk(state: State, gate: str, now: datetime, policy: Policy) -> str | Refusal:
    """Who authorises a desk action (a correction, a registration, a join from the console): the
    staff badge tapped on this desk's reader within the pairing window (`OverrideArmed`), its
    badge UID; or why nobody does. Every desk action's decision and events carry it."""
    armed = state.overrides.get(gate)
    if armed is None or not within(armed.at, now, policy):
        return Refusal(Code.DENY_BINDING, "tap a staff badge on this desk's reader first")
    reason = state.allowlist.revoked.get(armed.staff)
    if reason is not None or armed.staff not in state.allowlist.staff:
        return Refusal(Code.DENY_REVOKED, f"staff badge no longer valid: {reason or 'removed'}")
    return armed.staff


def mask_phone(phone: str) -> str:
    """Show only the last four digits of a guardian phone."""
    return "*" * max(len(phone) - 4, 0) + phone[-4:] if phone else ""
