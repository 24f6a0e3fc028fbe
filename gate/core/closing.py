"""Closing and collection: who may come in after closing, and what a leaving adult is told.

From the exit procedure (临时出园): an adult leaving temporarily with no other adult of the group
inside must collect the children before closing (如果没有要求客人在闭馆前接小朋友). So after the
closing of its hours (the venue's, or its session's: `gate.core.hours`) an entry gate lets in an
adult of a group whose children are still inside, only to collect them (`OK_COLLECT`; the
adult's grant opens the pairing window as any adult's does), and nobody else: `DENY_CLOSED`, or
`DENY_NOT_VALID_NOW` for a session's ticket. A collection still passes the identity and the
day's checks (revoked, band returned, not valid today, already inside), never the hours or the
capacity.

The messages of a temporary exit that leaves children with no adult, and of an adult's final exit
with others of the group inside, say who is still inside and the closing time. They are English
here (the core has no words); `gate.i18n.notices` holds the same templates, translated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from gate.core.hours import Hours, ticket_hours, venue_hours
from gate.core.model import MemberState, Mode, Role
from gate.core.rules import (
    Attempt,
    Rule,
    band_returned_is_final,
    no_passback,
    not_revoked,
    ticket_valid_today,
)

# What an entry after closing must still pass: who you are, whether your band still counts.
COLLECT_RULES: Sequence[Rule] = (
    not_revoked,
    band_returned_is_final,
    ticket_valid_today,
    no_passback,
)

# The templates, word for word as `gate.i18n.notices` translates them.
COLLECT = (
    "in only to collect {children} child(ren) of group {group}: leave with them (closed {close})"
)
TEMP_ALONE = (
    "temporary exit: come back with this band; group {group} has {children} child(ren) inside "
    "with no adult: collect them before closing at {close}"
)
FINAL_OTHERS = (
    "goodbye: please return the band; still inside of group {group}: {adults} adult(s), "
    "{children} child(ren); closing at {close}"
)
# The same, once the hours have closed: the closing is past, the children are to be collected now.
TEMP_ALONE_CLOSED = (
    "temporary exit: come back with this band; group {group} has {children} child(ren) inside "
    "with no adult: collect them now (closed at {close})"
)
FINAL_OTHERS_CLOSED = (
    "goodbye: please return the band; still inside of group {group}: {adults} adult(s), "
    "{children} child(ren); closed at {close}"
)


def collects(a: Attempt) -> bool:
    """An adult at an entry gate, after the closing of its hours, whose group's children are
    still inside: in only to collect them."""
    if a.scan.mode is not Mode.ENTRY or a.member.role is not Role.ADULT:
        return False
    if not a.state.child_inside(a.group.id):
        return False
    own = ticket_hours(a.policy, a.ticket)
    venue = venue_hours(a.policy)
    return (own is not None and own.closed_after(a.policy, a.now)) or venue.closed_after(
        a.policy, a.now
    )


def collect_message(a: Attempt) -> str:
    return COLLECT.format(
        children=_inside(a, Role.CHILD), group=a.group.id, close=_close(a, _closed_hours(a))
    )


def exit_notice(a: Attempt) -> str | None:
    """What an adult leaving is told beyond goodbye, or None: a temporary exit that leaves the
    children with no adult, a final exit with others of the group still inside."""
    if a.member.role is not Role.ADULT or a.scan.mode is not Mode.EXIT:
        return None
    if a.member.state is not MemberState.INSIDE:
        return None  # let out offline, not known to be inside: its own message says so
    adults, children = _inside(a, Role.ADULT), _inside(a, Role.CHILD)
    hours = ticket_hours(a.policy, a.ticket) or venue_hours(a.policy)
    close = _close(a, hours)
    closed = hours.closed_after(a.policy, a.now)
    if a.target is MemberState.TEMP_OUT:
        if adults or not children:
            return None
        temp = TEMP_ALONE_CLOSED if closed else TEMP_ALONE
        return temp.format(group=a.group.id, children=children, close=close)
    if a.target is MemberState.EXITED and (adults or children):
        final = FINAL_OTHERS_CLOSED if closed else FINAL_OTHERS
        return final.format(group=a.group.id, adults=adults, children=children, close=close)
    return None


def _inside(a: Attempt, role: Role) -> int:
    """Members of the group (and of the tickets joined with it) with `role` inside, the one
    scanning left out."""
    return sum(
        m.role is role and m.state is MemberState.INSIDE and m.uid != a.member.uid
        for m in a.state.family_members(a.group.id)
    )


def _closed_hours(a: Attempt) -> Hours:
    own = ticket_hours(a.policy, a.ticket)
    if own is not None and own.closed_after(a.policy, a.now):
        return own
    return venue_hours(a.policy)


def _close(a: Attempt, hours: Hours) -> str:
    at: datetime = hours.closes_at(a.policy, a.now)
    return f"{at:%H:%M}"
