"""The venue's rules: `decide(state, scan, now, policy) -> (decision, events)` and `expire`.

Pure: no clock (`now` is passed in), no I/O, no threads, no globals, and the state is only read.

Precedence, when several denials apply to one scan, is the order of the lists below and follows
one principle: *who you are, then whether your band still counts, then where you are, then
whether the venue can take you, then who you are with*.

    tag        DENY_BAD_TOKEN: not an original wristband (any scan of a tag, staff and desk too)
    identity   DENY_BAD_TOKEN: no token, or not its own; DENY_REVOKED (no member), DENY_UNKNOWN
               (never overridden)
    entry      DENY_REVOKED, DENY_ALREADY_EXITED, DENY_NOT_VALID_NOW, DENY_ALREADY_INSIDE,
               DENY_CLOSED, DENY_CAPACITY, DENY_CHILD_NEEDS_ADULT
    exit       DENY_REVOKED, DENY_ALREADY_EXITED, DENY_NOT_INSIDE, DENY_CHILD_TEMP_EXIT,
               DENY_GUARDIAN_PICKUP, DENY_CHILD_NEEDS_ADULT
    binding    DENY_UNKNOWN, DENY_REVOKED, DENY_NOT_VALID_NOW, DENY_BINDING (not in stock,
               already bound, no open binding, no free slot)
    staff      DENY_REVOKED (a lost badge arms nothing), DENY_BAD_TOKEN (not read from a tag:
               a test scan or a barcode of a badge's UID arms nothing)

Exits never look at validity, opening hours or capacity: people must always be able to leave.
A gate cut off from the others (`Scan.offline`) lets out a band it believes outside: it may have
come in at another gate meanwhile; the journal marks the scan offline for the hub to judge.
Validity is judged by the session's local day (a night session past midnight keeps its day).
Every band read from a tag must be an original wristband carrying its own token, known to the
gate or not (`gate.core.bands`); a technician's test scan (no tag) opens no pairing window.

A staff badge read from a tag (`Scan.tag`) arms an override at its gate for the pairing window:
the next passage denial there becomes OK_OVERRIDE, journalled as forced with the staff badge and
the code it overrode. An override can always let someone out, but never lets in a revoked band
or a returned one (DENY_REVOKED, DENY_ALREADY_EXITED at entry). Unknown credentials and binding
are never overridden, and a denial that cannot be overridden leaves the override armed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gate.core.bands import (
    band_carries_its_token,
    band_is_of_the_stock,
    staff_badge_was_read,
    tag_is_an_original_wristband,
)
from gate.core.events import (
    BandBound,
    BandLearned,
    BindingOpened,
    Event,
    GroupFlagged,
    MemberMoved,
    OverrideArmed,
    OverrideSpent,
    PairingClosed,
    PairingOpened,
)
from gate.core.model import (
    Code,
    Decision,
    Intent,
    Kind,
    Member,
    MemberState,
    Mode,
    Policy,
    Refusal,
    Role,
    Scan,
    Ticket,
)
from gate.core.state import Group, State

Outcome = tuple[Decision, list[Event]]


@dataclass(frozen=True, slots=True)
class Attempt:
    """A known member asking to pass a gate: everything a passage rule may look at."""

    state: State
    scan: Scan
    now: datetime
    policy: Policy
    member: Member
    group: Group
    ticket: Ticket | None

    @property
    def target(self) -> MemberState:
        if self.scan.mode is Mode.ENTRY:
            return MemberState.INSIDE
        if self.scan.intent is Intent.TEMPORARY:
            return MemberState.TEMP_OUT
        return MemberState.EXITED

    def paired_at_gate(self) -> bool:
        """An adult of the group was granted at this gate, this way, within the window."""
        pairing = self.state.pairings.get((self.scan.gate, self.group.id, self.scan.mode))
        return pairing is not None and within(pairing.opened_at, self.now, self.policy)


Rule = Callable[[Attempt], Refusal | None]


def within(start: datetime, now: datetime, policy: Policy) -> bool:
    """`now` falls in the window opened at `start` (a clock that went backwards does not count)."""
    return start <= now <= start + timedelta(seconds=policy.pairing_window_s)


# --- passage rules, in precedence order ---------------------------------------------------------


def not_revoked(a: Attempt) -> Refusal | None:
    for value in (a.member.uid, a.member.group):
        reason = a.state.allowlist.revoked.get(value)
        if reason is not None:
            return Refusal(Code.DENY_REVOKED, f"{value} revoked: {reason}")
    return None


def band_returned_is_final(a: Attempt) -> Refusal | None:
    if a.member.state is MemberState.EXITED:
        return Refusal(Code.DENY_ALREADY_EXITED, "band was returned at a final exit")
    return None


def ticket_valid_today(a: Attempt) -> Refusal | None:
    if a.ticket is None:
        gone = f"ticket {a.group.id} is no longer in the allowlist"
        return Refusal(Code.DENY_NOT_VALID_NOW, gone)
    today = a.policy.session_day(a.now)
    if not a.ticket.valid_on(today):
        t = a.ticket
        return Refusal(
            Code.DENY_NOT_VALID_NOW,
            f"ticket valid {t.valid_from.isoformat()}..{t.valid_to.isoformat()}, "
            f"today is {today.isoformat()}",
        )
    return None


def no_passback(a: Attempt) -> Refusal | None:
    if a.member.state is MemberState.INSIDE:
        where = f"entered at {a.member.last_gate} {a.member.last_at.isoformat(timespec='seconds')}"
        return Refusal(Code.DENY_ALREADY_INSIDE, f"already inside ({where})")
    return None


def within_opening_hours(a: Attempt) -> Refusal | None:
    if not a.policy.is_open(a.now):
        p = a.policy
        return Refusal(Code.DENY_CLOSED, f"venue open {p.open:%H:%M}-{p.close:%H:%M} local time")
    return None


def below_capacity(a: Attempt) -> Refusal | None:
    if a.state.inside >= a.policy.capacity:
        return Refusal(Code.DENY_CAPACITY, f"venue full: {a.state.inside}/{a.policy.capacity}")
    return None


def child_enters_with_adult(a: Attempt) -> Refusal | None:
    if a.member.role is not Role.CHILD:
        return None
    if a.state.adult_inside(a.group.id) or a.paired_at_gate():
        return None
    return Refusal(
        Code.DENY_CHILD_NEEDS_ADULT,
        f"child needs an adult of group {a.group.id} inside or scanned here first",
    )


def must_be_inside(a: Attempt) -> Refusal | None:
    if a.member.state is MemberState.INSIDE:
        return None
    if a.scan.offline:  # cut off: it may have come in at another gate; people must get out
        return None
    return Refusal(Code.DENY_NOT_INSIDE, f"not inside (state {a.member.state})")


def children_never_exit_temporarily(a: Attempt) -> Refusal | None:
    if a.member.role.is_child and a.scan.intent is Intent.TEMPORARY:
        return Refusal(Code.DENY_CHILD_TEMP_EXIT, "children may not exit temporarily")
    return None


def solo_child_needs_guardian_pickup(a: Attempt) -> Refusal | None:
    if a.member.role is Role.SOLO_CHILD:
        return Refusal(
            Code.DENY_GUARDIAN_PICKUP,
            "child entered alone: staff check the guardian against the ticket's registered "
            "phone (desk or hub lookup), then badge",
        )
    return None


def child_exits_with_adult(a: Attempt) -> Refusal | None:
    if a.member.role is Role.CHILD and not a.paired_at_gate():
        return Refusal(
            Code.DENY_CHILD_NEEDS_ADULT,
            f"child needs an adult of group {a.group.id} scanned out here first",
        )
    return None


ENTRY_RULES: Sequence[Rule] = (
    not_revoked,
    band_returned_is_final,
    ticket_valid_today,
    no_passback,
    within_opening_hours,
    below_capacity,
    child_enters_with_adult,
)

EXIT_RULES: Sequence[Rule] = (
    not_revoked,
    band_returned_is_final,
    must_be_inside,
    children_never_exit_temporarily,
    solo_child_needs_guardian_pickup,
    child_exits_with_adult,
)

# What no staff badge lets in. Out, an override always lets people go.
NEVER_LET_IN = frozenset({Code.DENY_REVOKED, Code.DENY_ALREADY_EXITED})


# --- decide -------------------------------------------------------------------------------------


def decide(state: State, scan: Scan, now: datetime, policy: Policy) -> Outcome:
    """The one decision for `scan` at `now`, and the events that carry it out."""
    foreign = tag_is_an_original_wristband(scan)
    if foreign is not None:
        return _deny(scan, foreign.code, foreign.message)
    staff = state.allowlist.staff.get(scan.value)
    if staff is not None:
        reason = state.allowlist.revoked.get(scan.value)
        if reason is not None:
            return _deny(scan, Code.DENY_REVOKED, f"staff badge of {staff} revoked: {reason}")
        if (not_read := staff_badge_was_read(scan)) is not None:
            return _deny(scan, not_read.code, not_read.message)
        return _arm_override(scan, now, policy, staff)
    if scan.mode is Mode.BIND:
        return _bind(state, scan, now, policy)
    return _pass(state, scan, now, policy)


def _deny(scan: Scan, code: Code, message: str, member: Member | None = None) -> Outcome:
    group, role = (member.group, member.role) if member else (None, None)
    return Decision(code, message, scan.value, scan.gate, group, role), []


def _arm_override(scan: Scan, now: datetime, policy: Policy, staff: str) -> Outcome:
    message = f"{staff}: the next denial here within {policy.pairing_window_s:g} s is overridden"
    decision = Decision(Code.OK_STAFF, message, scan.value, scan.gate, role=Role.STAFF)
    return decision, [OverrideArmed(scan.gate, now, scan.value)]


def _pass(state: State, scan: Scan, now: datetime, policy: Policy) -> Outcome:
    bad_token = band_carries_its_token(scan)
    if bad_token is not None:
        return _deny(scan, bad_token.code, bad_token.message)
    member = state.members.get(scan.value)
    learned: list[Event] = []
    if member is None and scan.token is not None:
        member, learned = _learn_from_token(scan, now)
    if member is None:
        if scan.value in state.allowlist.revoked:
            reason = state.allowlist.revoked[scan.value]
            return _deny(scan, Code.DENY_REVOKED, f"{scan.value} revoked: {reason}")
        return _deny(scan, Code.DENY_UNKNOWN, _why_unknown(state, scan.value))
    group = state.groups.get(member.group) or _token_group(member.group, scan)
    ticket = state.allowlist.tickets.get(group.id) or _token_ticket(group.id, scan)
    attempt = Attempt(state, scan, now, policy, member, group, ticket)
    rules = ENTRY_RULES if scan.mode is Mode.ENTRY else EXIT_RULES
    refusal = next((r for rule in rules if (r := rule(attempt)) is not None), None)
    if refusal is None:
        decision, events = _grant(attempt)
        return decision, learned + events
    armed = state.overrides.get(scan.gate)
    if armed is None or not within(armed.at, now, policy) or not _overridable(refusal, scan):
        return _deny(scan, refusal.code, refusal.message, member)
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
    return Ticket(group, "from wristband token", t.adults, t.children, t.valid_from, t.valid_to)


def _why_unknown(state: State, value: str) -> str:
    if value in state.allowlist.tickets:
        return "a ticket opens a binding at the desk: scan a wristband here"
    if value in state.allowlist.bands:
        return "band not bound to a ticket: bind it at the desk"
    return "not in the allowlist"


def _overridable(refusal: Refusal, scan: Scan) -> bool:
    return scan.mode is Mode.EXIT or refusal.code not in NEVER_LET_IN


def _grant(a: Attempt, forced_by: str | None = None, overrode: Refusal | None = None) -> Outcome:
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
        )
    ]
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
    else:
        code, message = _grant_code(m, target), _grant_message(m, target)
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
    )
    return decision, events


def _grant_code(m: Member, target: MemberState) -> Code:
    if target is MemberState.INSIDE:
        return Code.OK_REENTRY if m.state is MemberState.TEMP_OUT else Code.OK_ENTRY
    return Code.OK_TEMP_EXIT if target is MemberState.TEMP_OUT else Code.OK_EXIT


def _grant_message(m: Member, target: MemberState) -> str:
    if target is MemberState.INSIDE:
        return f"welcome {'back ' if m.state is MemberState.TEMP_OUT else ''}({m.role})"
    if target is MemberState.TEMP_OUT:
        return "temporary exit: come back with this band"
    if m.state is not MemberState.INSIDE:
        return "goodbye (offline: not known to be inside, for the hub to check)"
    return "goodbye: please return the band"


def _leaves_children_alone(state: State, leaving: Member) -> bool:
    others = (m for m in state.members_of(leaving.group) if m.uid != leaving.uid)
    adult_stays = any(m.role is Role.ADULT and m.state is MemberState.INSIDE for m in others)
    return not adult_stays and state.child_inside(leaving.group)


# --- binding at the desk ------------------------------------------------------------------------


def _bind(state: State, scan: Scan, now: datetime, policy: Policy) -> Outcome:
    ticket = state.allowlist.tickets.get(scan.value)
    if ticket is not None:
        return _open_binding(state, scan, now, policy, ticket)
    if scan.kind is Kind.BARCODE:
        reason = state.allowlist.revoked.get(scan.value)
        if reason is not None:
            return _deny(scan, Code.DENY_REVOKED, f"ticket {scan.value} revoked: {reason}")
        return _deny(scan, Code.DENY_UNKNOWN, "ticket not in the allowlist")
    return _bind_band(state, scan, now)


def _open_binding(
    state: State, scan: Scan, now: datetime, policy: Policy, ticket: Ticket
) -> Outcome:
    reason = state.allowlist.revoked.get(ticket.code)
    if reason is not None:
        return _deny(scan, Code.DENY_REVOKED, f"ticket revoked: {reason}")
    today = policy.session_day(now)
    if not ticket.valid_on(today):
        valid = f"{ticket.valid_from.isoformat()}..{ticket.valid_to.isoformat()}"
        return _deny(scan, Code.DENY_NOT_VALID_NOW, f"ticket valid {valid}, not {today}")
    group = state.groups.get(ticket.code)
    if group is not None and group.full:
        bound = len(group.members)
        return _deny(scan, Code.DENY_BINDING, f"all {bound} bands of this ticket are bound")
    people = f"{ticket.adults} adults, {ticket.children} children"
    if ticket.is_solo:
        phone = mask_phone(ticket.guardian_phone) or "registered at the hub"
        people = f"child alone, guardian {phone}"
    decision = Decision(
        Code.OK_BIND, f"binding open: {people}; scan the bands", scan.value, scan.gate, ticket.code
    )
    return decision, [BindingOpened(scan.gate, now, ticket.code, ticket.adults, ticket.children)]


def _bind_band(state: State, scan: Scan, now: datetime) -> Outcome:
    uid = scan.value
    reason = state.allowlist.revoked.get(uid)
    if reason is not None:
        return _deny(scan, Code.DENY_REVOKED, f"band revoked: {reason}")
    foreign = band_is_of_the_stock(state, uid)
    if foreign is not None:
        return _deny(scan, foreign.code, foreign.message)
    earlier = state.members.get(uid)
    if earlier is not None and earlier.state is not MemberState.EXITED:
        return _deny(scan, Code.DENY_BINDING, f"band already bound to group {earlier.group}")
    group_id = state.bindings.get(scan.gate)
    if group_id is None:
        return _deny(scan, Code.DENY_BINDING, "no open binding here: scan the ticket first")
    reason = state.allowlist.revoked.get(group_id)
    if reason is not None:
        return _deny(scan, Code.DENY_REVOKED, f"ticket {group_id} revoked: {reason}")
    group = state.groups[group_id]
    role = _free_slot(group, state.allowlist.bands.get(uid))
    if isinstance(role, Refusal):
        return _deny(scan, role.code, role.message)
    adults = group.bound_adults + (role is Role.ADULT)
    children = group.bound_children + (role is not Role.ADULT)
    message = (
        f"bound as {role}: {adults}/{group.adults} adults, {children}/{group.children} children"
    )
    decision = Decision(Code.OK_BIND, message, uid, scan.gate, group_id, role)
    return decision, [BandBound(scan.gate, now, uid, group_id, role)]


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


# --- time: pairing windows that close -----------------------------------------------------------


def expire(state: State, now: datetime, policy: Policy, gate: str | None = None) -> list[Event]:
    """Close the pairing windows that ended by `now` (only `gate`'s, when given: a gate closes
    its own windows; the others' closings reach it as their events).

    An adult who left first cannot know whether the children follow. When an exit window closes
    with children of the group inside and no adult of the group inside, the adults who left
    through it become `temp_out` (they must come back for the children) and the group is flagged.
    """
    window = timedelta(seconds=policy.pairing_window_s)
    events: list[Event] = []
    due = sorted(
        (
            p
            for p in state.pairings.values()
            if now > p.opened_at + window and (gate is None or p.gate == gate)
        ),
        key=lambda p: (p.opened_at, p.gate, p.group, p.direction),
    )
    flagged: set[str] = set()
    for p in due:
        closed_at = p.opened_at + window
        events.append(PairingClosed(p.gate, closed_at, p.group, p.direction))
        if p.direction is not Mode.EXIT:
            continue
        if state.adult_inside(p.group) or not state.child_inside(p.group):
            continue
        for uid in p.adults:
            m = state.members.get(uid)
            if m is not None and m.group == p.group and m.state is MemberState.EXITED:
                events.append(MemberMoved(p.gate, closed_at, uid, p.group, MemberState.TEMP_OUT))
        if not state.groups[p.group].unaccompanied and p.group not in flagged:
            flagged.add(p.group)
            events.append(GroupFlagged(p.gate, closed_at, p.group))
    return events


def mask_phone(phone: str) -> str:
    """Show only the last four digits of a guardian phone."""
    return "*" * max(len(phone) - 4, 0) + phone[-4:] if phone else ""
