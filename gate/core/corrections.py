"""Corrections at the desk: a lost band replaced, a band bound by mistake unbound, a band
returned by mistake re-issued. Staff actions, each authorised by the staff badge tapped on the
desk's reader (`gate.core.desk.staff_at_desk`, whose badge the caller passes in as `staff`).
Pure, like the rules (`gate.core.rules`).

    replace_band(state, gate, now, policy, old, new, staff)   OK_CORRECTED + BandReplaced
    unbind_band(state, gate, now, policy, uid, staff)         OK_CORRECTED + BandUnbound
                                                              (+ GroupFlagged: see below)
    reissue_band(state, gate, now, policy, uid, staff)        OK_CORRECTED + BandReissued

A replaced band is revoked for every gate by the event itself (`State.revocations`), whatever
its token says; the new band takes the member's group, role, state and slot, so a family whose
child lost a band leaves together, with no false alarm. An unbound band frees its slot (the
desk's binding of its group is open again) and leaves the headcount if it was inside; its token
is no longer believed (`State.unbound`) until it is bound again. Unbinding the last adult inside
of a group whose children are inside flags the group, as an adult leaving them would. A
re-issued band is its member's again: `temp_out` for an adult (back in through an entry gate),
`bound` for a child (children are never `temp_out`; in again with an adult of the group).
"""

from __future__ import annotations

from datetime import datetime

from gate.core.events import BandReissued, BandReplaced, BandUnbound, Event, GroupFlagged
from gate.core.model import Code, Decision, Kind, Member, MemberState, Mode, Policy, Role, Scan
from gate.core.rules import Outcome, deny
from gate.core.state import State


def _scan(gate: str, uid: str) -> Scan:
    return Scan(gate, Mode.BIND, Kind.NFC, uid)


def _granted(gate: str, member: Member, message: str, staff: str) -> Decision:
    return Decision(
        Code.OK_CORRECTED, message, member.uid, gate, member.group, member.role, staff=staff
    )


def _known(state: State, scan: Scan, what: str) -> Member | Outcome:
    member = state.members.get(scan.value)
    if member is None:
        why = "revoked" if state.revoked(scan.value) is not None else "not bound to any group"
        return deny(scan, Code.DENY_UNKNOWN, f"{what} {scan.value}: {why}")
    return member


def replace_band(
    state: State, gate: str, now: datetime, policy: Policy, old: str, new: str, staff: str
) -> Outcome:
    """Band `new` replaces member `old`'s lost band, at desk `gate`, authorised by `staff`."""
    scan = _scan(gate, old)
    member = _known(state, scan, "lost band")
    if not isinstance(member, Member):
        return member
    if member.state is MemberState.EXITED:
        return deny(scan, Code.DENY_ALREADY_EXITED, "band was returned at a final exit", member)
    if new == old:
        return deny(scan, Code.DENY_BINDING, "the new band is the lost one: scan another", member)
    reason = state.revoked(new)
    if reason is not None:
        return deny(scan, Code.DENY_REVOKED, f"new band {new} revoked: {reason}", member)
    if new in state.allowlist.staff:
        return deny(scan, Code.DENY_BINDING, f"{new} is a staff badge, not a wristband", member)
    stock = state.allowlist.bands
    if stock and new not in stock:
        return deny(scan, Code.DENY_BINDING, f"new band {new} is not of the venue's stock", member)
    if stock and (stock[new] is Role.ADULT) != (member.role is Role.ADULT):
        need = "an adult" if member.role is Role.ADULT else "a child's"
        return deny(
            scan, Code.DENY_BINDING, f"new band {new} is {stock[new]} stock: {need}", member
        )
    earlier = state.members.get(new)
    if earlier is not None and earlier.state is not MemberState.EXITED:
        return deny(scan, Code.DENY_BINDING, f"new band already bound to group {earlier.group}")
    message = (
        f"band {old} revoked as lost; {new} now {member.role} of group {member.group} "
        f"({member.state}): hold it to the reader to write its token"
    )
    carried = earlier.counter if earlier is not None and earlier.group == member.group else 0
    event = BandReplaced(gate, now, old, new, member.group, staff, carried)
    return _granted(gate, member, message, staff), [event]


def unbind_band(
    state: State, gate: str, now: datetime, policy: Policy, uid: str, staff: str
) -> Outcome:
    """Band `uid`, bound by mistake (wrong role, wrong family), leaves its group."""
    scan = _scan(gate, uid)
    member = _known(state, scan, "band")
    if not isinstance(member, Member):
        return member
    if member.state is MemberState.EXITED:
        return deny(scan, Code.DENY_ALREADY_EXITED, "band was returned at a final exit", member)
    group = member.group
    where = " and out of the headcount" if member.state is MemberState.INSIDE else ""
    message = f"band {uid} unbound from group {group}{where}: its {member.role} slot is free"
    events: list[Event] = [BandUnbound(gate, now, uid, group, member.role, member.state, staff)]
    if _leaves_children_alone(state, member):
        events.append(GroupFlagged(gate, now, group))
        message += "; children of the group are inside with no adult"
    return _granted(gate, member, message, staff), events


def _leaves_children_alone(state: State, member: Member) -> bool:
    if member.role is not Role.ADULT or member.state is not MemberState.INSIDE:
        return False
    if state.groups[member.group].unaccompanied or not state.child_inside(member.group):
        return False
    others = (m for m in state.family_members(member.group) if m.uid != member.uid)
    return not any(m.role is Role.ADULT and m.state is MemberState.INSIDE for m in others)


def reissue_band(
    state: State, gate: str, now: datetime, policy: Policy, uid: str, staff: str
) -> Outcome:
    """Band `uid`, returned by mistake at a final exit, is its member's again."""
    scan = _scan(gate, uid)
    member = _known(state, scan, "band")
    if not isinstance(member, Member):
        return member
    if member.state is not MemberState.EXITED:
        return deny(scan, Code.DENY_BINDING, f"band not returned: {member.state}", member)
    for value in (uid, member.group):
        reason = state.revoked(value)
        if reason is not None:
            return deny(scan, Code.DENY_REVOKED, f"{value} revoked: {reason}", member)
    ticket = state.allowlist.tickets.get(member.group)
    if ticket is not None and not ticket.valid_on(policy.session_day(now)):
        return deny(scan, Code.DENY_NOT_VALID_NOW, f"ticket {ticket.code} is not valid today")
    back = MemberState.TEMP_OUT if member.role is Role.ADULT else MemberState.BOUND
    way = "back in through an entry gate" if back is MemberState.TEMP_OUT else "in with an adult"
    message = f"band {uid} re-issued to group {member.group} ({back}): {way}"
    event = BandReissued(gate, now, uid, member.group, back, staff)
    return _granted(gate, member, message, staff), [event]
