"""School groups and joined families: a leader reopening the group's window, and two tickets
joined at the desk. Pure, like the rules (`gate.core.rules`).

A group ticket (`Ticket.leaders`, 团体接待) has leaders for adults. A leader's grant opens a
pairing window at that gate like any adult's; each child of the group granted through it
extends it (`PairingExtended`, made by the decider), so a class passes one lane however long it
takes, as long as no child is more than a window behind the one before. When the window has
closed, a leader scanned again at the gate reopens it (`OK_GROUP_WINDOW`): at an entry gate
while inside, at an exit gate when already out (or recalled `temp_out` by a window that closed
on children inside). Nobody moves and the turnstile stays shut.

Staff join two tickets into one family at the desk (`gatectl join`): `GroupsJoined`, folded
by every gate and the hub; from then on either ticket's adults may take either's children
(`State.family`).
"""

from __future__ import annotations

from datetime import datetime

from gate.core.events import Event, GroupsJoined, PairingOpened
from gate.core.model import Code, Decision, Kind, Member, MemberState, Mode, Policy, Role, Scan
from gate.core.rules import Outcome, deny
from gate.core.state import State


def reopens_window(state: State, scan: Scan, member: Member) -> bool:
    """A leader of a group ticket scanned where a passage makes no sense: inside at an entry
    gate, out at an exit gate. Reopens the group's window there instead of being refused."""
    if member.role is not Role.ADULT or not scan.pairs or not state.is_group_ticket(member.group):
        return False
    if state.revoked(member.group) is not None or state.revoked(member.uid) is not None:
        return False
    if scan.mode is Mode.ENTRY:
        return member.state is MemberState.INSIDE
    return scan.mode is Mode.EXIT and member.state in (MemberState.TEMP_OUT, MemberState.EXITED)


def reopen(scan: Scan, now: datetime, policy: Policy, member: Member) -> Outcome:
    way = "in" if scan.mode is Mode.ENTRY else "out"
    message = (
        f"group {member.group}: window reopened for {policy.pairing_window_s:g} s; "
        f"the children scan {way}"
    )
    decision = Decision(
        Code.OK_GROUP_WINDOW, message, scan.value, scan.gate, member.group, member.role
    )
    return decision, [PairingOpened(scan.gate, now, member.group, scan.mode, member.uid)]


def join(
    state: State, gate: str, first: str, second: str, now: datetime, policy: Policy
) -> Outcome:
    """Join ticket `second` to `first`'s family at desk `gate` (a staff action)."""
    scan = Scan(gate, Mode.BIND, Kind.BARCODE, first)
    tickets = state.allowlist.tickets
    for code in (first, second):
        if code not in tickets:
            return deny(scan, Code.DENY_UNKNOWN, f"ticket {code} is not in the allowlist")
        reason = state.revoked(code)
        if reason is not None:
            return deny(scan, Code.DENY_REVOKED, f"ticket {code} revoked: {reason}")
        if not tickets[code].valid_on(policy.session_day(now)):
            return deny(scan, Code.DENY_NOT_VALID_NOW, f"ticket {code} is not valid today")
    if second in state.family(first):
        return deny(scan, Code.DENY_BINDING, f"tickets {first} and {second} are one family")
    family = sorted(state.family(first) | state.family(second))
    message = f"one family now: {', '.join(family)}"
    decision = Decision(Code.OK_JOIN, message, first, gate, first)
    events: list[Event] = [GroupsJoined(gate, now, first, second)]
    return decision, events
