"""The venue's rules: the passage rules `decide` applies (`gate.core.decider`), and `expire`.

Pure: no clock (`now` is passed in), no I/O, no threads, no globals, and the state is only read.

Precedence, when several denials apply to one scan, is the order of the lists below and follows
one principle: *who you are, then whether your band still counts, then where you are, then
whether the venue can take you, then who you are with*.

    tag        DENY_BAD_TOKEN: not an original wristband (any scan of a tag, staff and desk too)
    re-entry   DENY_VOUCHER_FORGED, DENY_VOUCHER_EXPIRED, DENY_VOUCHER_USED, DENY_UNKNOWN: a
               voucher or a ticket's code at an entry gate (`gate.core.vouchers`), never
               overridden; then the entry rules, for the member it names
    identity   DENY_BAD_TOKEN: no token, or not its own; DENY_REVOKED (no member), DENY_UNKNOWN
               (never overridden); DENY_BAD_TOKEN: a passage record behind what was journalled
               of the band, "band copied or rolled back" (never overridden). A band whose
               record is newer than what the gate heard is judged where it says it is
               (`gate.core.passages`)
    entry      DENY_REVOKED, DENY_ALREADY_EXITED, DENY_NOT_VALID_NOW (the day, then the
               session), DENY_ALREADY_INSIDE, DENY_CLOSED, DENY_CAPACITY, DENY_CHILD_NEEDS_ADULT
    collect    after the closing of its hours (venue or session) an adult of a group whose
               children are inside comes in only to collect them: OK_COLLECT past the day's
               and the identity checks, with no hours or capacity (`gate.core.closing`)
    exit       DENY_REVOKED, DENY_ALREADY_EXITED, DENY_NOT_INSIDE, DENY_CHILD_TEMP_EXIT,
               DENY_PICKUP_LOCKED (too many wrong codes tried for it), DENY_GUARDIAN_PICKUP or
               DENY_PICKUP_MISMATCH (a solo child, without its own group's pickup window open
               here), DENY_CHILD_NEEDS_ADULT
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

from gate.core.events import Event, GroupFlagged, MemberMoved, PairingClosed
from gate.core.hours import ticket_hours
from gate.core.model import (
    Code,
    Decision,
    Intent,
    Member,
    MemberState,
    Mode,
    Policy,
    Refusal,
    Role,
    Scan,
    Ticket,
)
from gate.core.passages import left_for_good
from gate.core.pickup_tries import child_locked, locked_refusal
from gate.core.state import Group, State

Outcome = tuple[Decision, list[Event]]

LEFT_FOR_GOOD = (
    "not inside (state {state}): its band left for good at {gate} and has not come in since; "
    "in through an entry gate first"
)


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
        """An adult of the group (or of a ticket joined with it) was granted at this gate, this
        way, within the window (a group ticket's window runs on with each child granted)."""
        for group in sorted(self.state.family(self.group.id)):
            pairing = self.state.pairings.get((self.scan.gate, group, self.scan.mode))
            if pairing is not None and within(pairing.opened_at, self.now, self.policy):
                return True
        return False


Rule = Callable[[Attempt], Refusal | None]


def within(start: datetime, now: datetime, policy: Policy) -> bool:
    """`now` falls in the window opened at `start` (a clock that went backwards does not count)."""
    return start <= now <= start + timedelta(seconds=policy.pairing_window_s)


# --- passage rules, in precedence order ---------------------------------------------------------


def not_revoked(a: Attempt) -> Refusal | None:
    for value in (a.member.uid, a.member.group):
        reason = a.state.revoked(value)
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


def ticket_valid_in_its_session(a: Attempt) -> Refusal | None:
    """A session's ticket (场次) comes in only within its session's hours."""
    if a.ticket is None or not a.ticket.session:
        return None
    hours = ticket_hours(a.policy, a.ticket)
    if hours is None:
        return Refusal(
            Code.DENY_NOT_VALID_NOW,
            f"ticket of session {a.ticket.session}, which the venue policy does not name",
        )
    if hours.admits(a.policy, a.now):
        return None
    now = f"{a.policy.local(a.now):%H:%M}"
    return Refusal(
        Code.DENY_NOT_VALID_NOW, f"ticket valid in session {hours.words()} only, now {now}"
    )


def no_passback(a: Attempt) -> Refusal | None:
    if a.scan.voucher is not None and a.scan.offline:
        return None  # signed proof of a temporary exit this gate, cut off, may not have heard of
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
    if not a.scan.offline:
        return Refusal(Code.DENY_NOT_INSIDE, f"not inside (state {a.member.state})")
    if a.scan.passage is None or not left_for_good(a.member, a.scan):
        return None  # cut off: it may have come in at another gate; people must get out
    # its band says not: no entry since it left for good, or it would carry a newer record
    said = LEFT_FOR_GOOD.format(gate=a.scan.passage.gate, state=a.member.state)
    return Refusal(Code.DENY_NOT_INSIDE, said)


def children_never_exit_temporarily(a: Attempt) -> Refusal | None:
    if a.member.role.is_child and a.scan.intent is Intent.TEMPORARY:
        return Refusal(Code.DENY_CHILD_TEMP_EXIT, "children may not exit temporarily")
    return None


PICKUP_PREFIX = "pickup:"  # a pickup scan's value: this, then the code's digest (hex)


def picked_up(a: Attempt) -> bool:
    """The member's own group has a pickup window open at this gate (a guardian's code read
    here: `gate.core.guardians.pick_up`)."""
    pairing = a.state.pairings.get((a.scan.gate, a.group.id, Mode.EXIT))
    return (
        a.scan.mode is Mode.EXIT
        and pairing is not None
        and any(p.startswith(PICKUP_PREFIX) for p in pairing.adults)
        and within(pairing.opened_at, a.now, a.policy)
    )


def solo_child_needs_guardian_pickup(a: Attempt) -> Refusal | None:
    """A solo child leaves only through its own group's pickup window here: a code of another
    group read here is a mismatch, none at all the guardian's pickup to verify."""
    if a.member.role is not Role.SOLO_CHILD or picked_up(a):
        return None
    if child_locked(a.state, a.group.id, a.now, a.policy):  # too many wrong codes tried
        return locked_refusal(a.group.id, a.now, a.policy, a.state)
    for (gate, group, way), p in a.state.pairings.items():
        if (gate, way) != (a.scan.gate, Mode.EXIT) or group == a.group.id:
            continue
        if any(x.startswith(PICKUP_PREFIX) for x in p.adults) and within(
            p.opened_at, a.now, a.policy
        ):
            return Refusal(
                Code.DENY_PICKUP_MISMATCH,
                f"the pickup code read here is of group {group}, not of this child's "
                f"({a.group.id}): the guardian shows this child's code",
            )
    return Refusal(
        Code.DENY_GUARDIAN_PICKUP,
        "child entered alone: the guardian shows the pickup code here first, or staff check "
        "the guardian against the registered phone (desk or hub lookup), then badge",
    )


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
    ticket_valid_in_its_session,
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


def deny(scan: Scan, code: Code, message: str, member: Member | None = None) -> Outcome:
    """A scan denied: the decision, and no events (a denial changes nothing)."""
    group, role = (member.group, member.role) if member else (None, None)
    return Decision(code, message, scan.value, scan.gate, group, role), []


# --- time: pairing windows that close -----------------------------------------------------------


def expire(state: State, now: datetime, policy: Policy, gate: str | None = None) -> list[Event]:
    """Close the pairing windows that ended by `now` (only `gate`'s, when given: a gate closes
    its own windows; the others' closings reach it as their events).

    An adult who left first cannot know whether the children follow. When an exit window closes
    with children of the group inside and no adult of the group inside, the adults who left
    through it become `temp_out` (they must come back for the children) and the group is flagged.
    A recall names the passage counter it recalls from: folded after a passage of the band its
    gate never heard of (an entry at a gate cut off from it), it changes nothing.
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
                # from the passage it left by, as this gate knows it: a later passage of the
                # band that it did not know of stays where the band is (`recall_stands`)
                out = MemberState.TEMP_OUT
                events.append(
                    MemberMoved(p.gate, closed_at, uid, p.group, out, recalled_from=m.counter)
                )
        if not state.groups[p.group].unaccompanied and p.group not in flagged:
            flagged.add(p.group)
            events.append(GroupFlagged(p.gate, closed_at, p.group))
    return events
