"""`decide(state, scan, now, policy) -> (decision, events)`: the one decision for a scan.

Pure, like the rules it applies (`gate.core.rules`, whose docstring gives their precedence and
what a staff badge's override may set aside); a scan at the desk binds (`gate.core.desk`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from gate.core.bands import (
    band_carries_its_token,
    staff_badge_was_read,
    tag_is_an_original_wristband,
)
from gate.core.closing import COLLECT_RULES, collect_message, collects, exit_notice
from gate.core.desk import bind
from gate.core.events import (
    BandLearned,
    Event,
    GroupFlagged,
    MemberMoved,
    OverrideArmed,
    OverrideSpent,
    PairingExtended,
    PairingOpened,
    VoucherUsed,
)
from gate.core.groups import reopen, reopens_window
from gate.core.guardians import override_barred, pick_up, walkin_ticket
from gate.core.model import (
    Code,
    Decision,
    Member,
    MemberState,
    Mode,
    Policy,
    Refusal,
    Role,
    Scan,
    Ticket,
)
from gate.core.passages import as_band_says, band_rolled_back, next_counter
from gate.core.pickup_tries import asked
from gate.core.rules import ENTRY_RULES, EXIT_RULES, NEVER_LET_IN, Attempt, Outcome, deny, within
from gate.core.state import Group, State
from gate.core.vouchers import is_reentry_barcode, who_comes_back


def decide(state: State, scan: Scan, now: datetime, policy: Policy) -> Outcome:
    """The one decision for `scan` at `now`, and the events that carry it out."""
    foreign = tag_is_an_original_wristband(scan)
    if foreign is not None:
        return deny(scan, foreign.code, foreign.message)
    if scan.pickup:  # a guardian's pickup code, read by this gate
        return pick_up(state, scan, now, policy)
    staff = state.allowlist.staff.get(scan.value)
    if staff is not None:
        reason = state.allowlist.revoked.get(scan.value)
        if reason is not None:
            return deny(scan, Code.DENY_REVOKED, f"staff badge of {staff} revoked: {reason}")
        if (not_read := staff_badge_was_read(scan)) is not None:
            return deny(scan, not_read.code, not_read.message)
        return _arm_override(scan, now, policy, staff)
    if scan.mode is Mode.BIND:
        return bind(state, scan, now, policy)
    return _pass(state, scan, now, policy)


def _arm_override(scan: Scan, now: datetime, policy: Policy, staff: str) -> Outcome:
    message = f"{staff}: the next denial here within {policy.pairing_window_s:g} s is overridden"
    decision = Decision(Code.OK_STAFF, message, scan.value, scan.gate, role=Role.STAFF)
    return decision, [OverrideArmed(scan.gate, now, scan.value)]


def _pass(state: State, scan: Scan, now: datetime, policy: Policy) -> Outcome:
    bad_token = band_carries_its_token(scan)
    if bad_token is not None:
        return deny(scan, bad_token.code, bad_token.message)
    lost = state.revocations.get(scan.value)  # replaced at a desk: whatever its token says
    if lost is not None:
        return deny(scan, Code.DENY_REVOKED, f"{scan.value} revoked: {lost}")
    learned: list[Event] = []
    reentry = is_reentry_barcode(state, scan)
    if reentry:
        found = who_comes_back(state, scan, now)
        if isinstance(found, Refusal):
            return deny(scan, found.code, found.message)
        member: Member | None = found
    else:
        member = state.members.get(scan.value)
    if member is None and scan.value in state.unbound:  # its token names a group it left
        gone = f"band unbound from group {state.unbound[scan.value]} at the desk: bind it there"
        return deny(scan, Code.DENY_UNKNOWN, gone)
    if member is None and scan.token is not None:
        member, learned = _learn_from_token(scan, now)
    if member is None:
        reason = state.revoked(scan.value)
        if reason is not None:
            return deny(scan, Code.DENY_REVOKED, f"{scan.value} revoked: {reason}")
        return deny(scan, Code.DENY_UNKNOWN, _why_unknown(state, scan.value))
    rolled_back = band_rolled_back(member, scan)
    if rolled_back is not None:
        return deny(scan, rolled_back.code, rolled_back.message, member)
    member = as_band_says(member, scan)  # its own record, newer than what this gate heard
    group = state.groups.get(member.group) or _token_group(member.group, scan)
    ticket = (
        state.allowlist.tickets.get(group.id)
        or walkin_ticket(state, group.id)
        or _token_ticket(group.id, scan)
    )
    if not reentry and reopens_window(state, scan, member):
        return reopen(scan, now, policy, member)
    attempt = Attempt(state, scan, now, policy, member, group, ticket)
    collect = collects(attempt)  # after closing: in only to collect the children
    rules = COLLECT_RULES if collect else ENTRY_RULES if scan.mode is Mode.ENTRY else EXIT_RULES
    refusal = next((r for rule in rules if (r := rule(attempt)) is not None), None)
    if refusal is None:
        decision, events = _grant(attempt, collect=collect)
        return decision, learned + events
    waits = asked(scan, now, member, refusal)  # a solo child waiting for its guardian's code
    armed = state.overrides.get(scan.gate)
    if armed is None or not within(armed.at, now, policy) or not _overridable(refusal, scan):
        return deny(scan, refusal.code, refusal.message, member)[0], waits
    barred = override_barred(attempt, refusal)
    if barred is not None:  # the staff named, so the hub raises its alert
        denied, _ = deny(scan, barred.code, barred.message, member)
        return replace(denied, staff=armed.staff), waits
    decision, events = _grant(attempt, forced_by=armed.staff, overrode=refusal)
    return decision, learned + events


def _learn_from_token(scan: Scan, now: datetime) -> tuple[Member, list[Event]]:
    """A band never seen here, known by its verified token: inside if scanned on the way out,
    not yet in if on the way in. Learned only if the scan is granted (a denial changes nothing)."""
    t = scan.token
    assert t is not None
    where = MemberState.INSIDE if scan.mode is Mode.EXIT else MemberState.BOUND
    member = Member(scan.value, t.group, t.role, where, scan.gate, now)
    learned = BandLearned(scan.gate, now, scan.value, t.group, t.role, where, t.adults, t.children)
    return member, [learned]


def _token_group(group: str, scan: Scan) -> Group:
    t = scan.token
    assert t is not None
    return Group(group, t.adults, t.children)


def _token_ticket(group: str, scan: Scan) -> Ticket | None:
    """Validity from the token, for a group this gate's allowlist does not list (yet)."""
    t = scan.token
    if t is None or t.group != group:
        return None
    return Ticket(
        group,
        "from wristband token",
        t.adults,
        t.children,
        t.valid_from,
        t.valid_to,
        session=t.session,
    )


def _why_unknown(state: State, value: str) -> str:
    if value in state.allowlist.tickets:
        return "a ticket opens a binding at the desk: scan a wristband here"
    if value in state.allowlist.bands:
        return "band not bound to a ticket: bind it at the desk"
    return "not in the allowlist"


def _overridable(refusal: Refusal, scan: Scan) -> bool:
    return scan.mode is Mode.EXIT or refusal.code not in NEVER_LET_IN


def _grant(
    a: Attempt,
    forced_by: str | None = None,
    overrode: Refusal | None = None,
    collect: bool = False,
) -> Outcome:
    m, scan, now = a.member, a.scan, a.now
    target = a.target
    events: list[Event] = [
        MemberMoved(
            scan.gate,
            now,
            m.uid,
            m.group,
            target,
            forced=forced_by is not None,
            staff=forced_by,
            overrode=overrode.code if overrode else None,
            counter=next_counter(m, scan),
        )
    ]
    if scan.voucher is not None:
        events.append(VoucherUsed(scan.gate, now, scan.voucher.serial, m.uid, m.group))
    if m.role is Role.CHILD and _extends(a):
        events.append(PairingExtended(scan.gate, now, m.group, scan.mode, m.uid))
    if m.role is Role.ADULT:
        if scan.pairs:  # a test scan stands for no adult a child could follow
            events.append(PairingOpened(scan.gate, now, m.group, scan.mode, m.uid))
        leaves = target is MemberState.TEMP_OUT or (target is MemberState.EXITED and not scan.pairs)
        if leaves and _leaves_children_alone(a.state, m):  # no window will close to flag it
            events.append(GroupFlagged(scan.gate, now, m.group))
    if forced_by is not None and overrode is not None:
        events.append(OverrideSpent(scan.gate, now, forced_by, m.uid, overrode.code))
        name = a.state.allowlist.staff.get(forced_by, forced_by)
        code, message = Code.OK_OVERRIDE, f"override by {name}: {overrode.code} set aside"
    elif collect:
        code, message = Code.OK_COLLECT, collect_message(a)
    else:
        code, message = _grant_code(m, target), exit_notice(a) or _grant_message(m, target)
        if is_reentry_barcode(a.state, scan):
            way = "voucher" if scan.voucher is not None else "ticket"
            code, message = Code.OK_REENTRY, f"welcome back ({m.role}, by {way})"
    decision = Decision(
        code,
        message,
        scan.value,
        scan.gate,
        m.group,
        m.role,
        forced=forced_by is not None,
        staff=forced_by,
        overrode=overrode.code if overrode else None,
        member=m.uid if m.uid != scan.value else None,
    )
    return decision, events


def _extends(a: Attempt) -> bool:
    """A child of a group ticket granted through its group's open window here runs it on."""
    if not a.state.is_group_ticket(a.group.id):
        return False
    pairing = a.state.pairings.get((a.scan.gate, a.group.id, a.scan.mode))
    return pairing is not None and within(pairing.opened_at, a.now, a.policy)


def _grant_code(m: Member, target: MemberState) -> Code:
    if target is MemberState.INSIDE:
        return Code.OK_REENTRY if m.state is MemberState.TEMP_OUT else Code.OK_ENTRY
    return Code.OK_TEMP_EXIT if target is MemberState.TEMP_OUT else Code.OK_EXIT


def _grant_message(m: Member, target: MemberState) -> str:
    if target is MemberState.INSIDE:
        return f"welcome {'back ' if m.state is MemberState.TEMP_OUT else ''}({m.role})"
    if target is MemberState.TEMP_OUT:
        return "temporary exit: come back with this band"
    if m.role is Role.SOLO_CHILD:
        return "goodbye: collected by the guardian, pickup code verified"
    if m.state is not MemberState.INSIDE:
        return "goodbye (offline: not known to be inside, for the hub to check)"
    return "goodbye: please return the band"


def _leaves_children_alone(state: State, leaving: Member) -> bool:
    others = (m for m in state.family_members(leaving.group) if m.uid != leaving.uid)
    adult_stays = any(m.role is Role.ADULT and m.state is MemberState.INSIDE for m in others)
    return not adult_stays and state.child_inside(leaving.group)
