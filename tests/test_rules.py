"""The venue's rules (design.md §4), one behaviour per test, against the pure rules core.

Every scan goes through `gate.core.step` on a hand-built State (see `rules_helpers`): a Shanghai
children's city open 09:00-18:00, a pairing window of 60 s. Tests assert reason codes and state,
never messages.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time

import pytest
from rules_helpers import (
    ADULT_1,
    ADULT_2,
    ADULT_3,
    ADULT_4,
    CHILD_1,
    CHILD_2,
    CHILD_3,
    CHILD_4,
    CHILD_5,
    DAY,
    DESK,
    DESK_2,
    DUO,
    E1,
    E2,
    EXPIRED,
    FAMILY,
    FAMILY_BANDS,
    LOST,
    NEXT_DAY,
    REFUNDED,
    SOLO,
    SPARE_1,
    SPARE_2,
    SPARE_3,
    STAFF,
    STRANGER,
    T0,
    UNKNOWN_TICKET,
    WINDOW_S,
    X1,
    X2,
    Venue,
    at,
    badge,
    barcode,
    family_bound,
    family_inside,
    later,
    nfc,
    policy,
    solo_inside,
    ticket,
    venue_without_stock,
)
from test_rules_corrections import reached_here as corrections_reached
from test_rules_guardians import reached_by_guardians
from test_rules_pickup_tries import reached_by_pickup_tries
from test_rules_vouchers import reached_here

from gate.core import (
    BandBound,
    BandLearned,
    BandToken,
    BindingOpened,
    Code,
    Decision,
    GroupFlagged,
    Headcount,
    Intent,
    Kind,
    MemberMoved,
    MemberState,
    Mode,
    OverrideArmed,
    OverrideSpent,
    PairingOpened,
    PickupAsked,
    Role,
    Scan,
    advance,
    decide,
    expire,
    fold,
    headcount,
)
from gate.core.pickup_tries import ASKING

ENTRY, EXIT, BIND = Mode.ENTRY, Mode.EXIT, Mode.BIND
TEMPORARY = Intent.TEMPORARY
INSIDE, TEMP_OUT, EXITED, BOUND = (
    MemberState.INSIDE,
    MemberState.TEMP_OUT,
    MemberState.EXITED,
    MemberState.BOUND,
)
AFTER_CLOSING = at(18, 30)
NEXT_MORNING = at(10, day=NEXT_DAY)


def state_of(venue: Venue, uid: str) -> MemberState:
    return venue.state.members[uid].state


# --- set-ups shared by the tables below -----------------------------------------------------------


def family_adult_1_gone() -> Venue:
    """The family is inside; ADULT_1 left for good (ADULT_2 stays, so nobody is flagged)."""
    return family_inside().release(ADULT_1, now=later(T0, 600))


def family_adult_1_out_for_a_while() -> Venue:
    v = family_inside()
    assert v.step_out(ADULT_1, later(T0, 600)).code is Code.OK_TEMP_EXIT
    return v


def family_with_adult_1_and_children_inside() -> Venue:
    """ADULT_2 was bound but never came in."""
    return family_bound().admit(ADULT_1, CHILD_1, CHILD_2)


def family_adults_inside_at_capacity() -> Venue:
    """Capacity 2, both adults of the family inside: the venue is full."""
    v = Venue(policy=policy(capacity=2))
    return v.bind(FAMILY, *FAMILY_BANDS).admit(ADULT_1, ADULT_2)


def family_inside_at_capacity() -> Venue:
    """Capacity 4, the whole family inside: the venue is full."""
    return Venue(policy=policy(capacity=4)).bind(FAMILY, *FAMILY_BANDS).admit(*FAMILY_BANDS)


def duo_inside_at_capacity_1_family_bound() -> Venue:
    """Capacity 1, taken by the duo's adult; the family is bound, nobody of it inside."""
    v = Venue(policy=policy(capacity=1)).bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3)
    return v.bind(FAMILY, *FAMILY_BANDS)


def night_venue_duo_bound() -> Venue:
    """A night session, open 20:00 to 02:00 local; the duo (a two-day pass) is bound."""
    return Venue(policy=policy(open=time(20), close=time(2))).bind(DUO, ADULT_3, CHILD_3)


# --- grants ---------------------------------------------------------------------------------------

GRANTS: dict[str, Callable[[], tuple[Venue, Decision]]] = {}


def grant_play(fn: Callable[[], tuple[Venue, Decision]]) -> Callable[[], tuple[Venue, Decision]]:
    """Register a scenario that ends in a grant (the code-coverage test replays them all)."""
    GRANTS[fn.__name__] = fn
    return fn


@grant_play
def ticket_opens_binding() -> tuple[Venue, Decision]:
    v = Venue()
    return v, v.ticket(FAMILY)


@grant_play
def band_takes_slot() -> tuple[Venue, Decision]:
    v = Venue()
    v.ticket(FAMILY)
    return v, v.band(ADULT_1, later(T0, 5))


@grant_play
def first_entry() -> tuple[Venue, Decision]:
    v = family_bound()
    return v, v.enter(ADULT_1, later(T0, 60))


@grant_play
def reentry_after_temporary_exit() -> tuple[Venue, Decision]:
    v = family_adult_1_out_for_a_while()
    return v, v.enter(ADULT_1, later(T0, 3600))


@grant_play
def final_exit() -> tuple[Venue, Decision]:
    v = family_inside()
    return v, v.leave(ADULT_1, later(T0, 600))


@grant_play
def temporary_exit() -> tuple[Venue, Decision]:
    v = family_inside()
    return v, v.step_out(ADULT_1, later(T0, 600))


@grant_play
def staff_badge() -> tuple[Venue, Decision]:
    v = solo_inside()
    return v, v.badge(X1, later(T0, 600))


@grant_play
def guardian_pickup_by_override() -> tuple[Venue, Decision]:
    v = solo_inside()
    v.badge(X1, later(T0, 600))
    return v, v.leave(CHILD_4, later(T0, 610))


@grant_play
def collection_after_closing() -> tuple[Venue, Decision]:
    """Both adults out for a while, the children inside; one comes back after closing."""
    v = family_adult_1_out_for_a_while()
    assert v.step_out(ADULT_2, later(T0, 610)).code is Code.OK_TEMP_EXIT
    return v, v.enter(ADULT_1, at(18, 30))


def test_ok_collect_after_closing_an_adult_comes_in_for_the_children() -> None:
    v, d = collection_after_closing()
    assert (d.code, d.group, d.role) == (Code.OK_COLLECT, FAMILY, Role.ADULT)
    assert state_of(v, ADULT_1) is INSIDE
    assert PairingOpened(E1, at(18, 30), FAMILY, ENTRY, ADULT_1) in v.events


def test_ok_bind_a_ticket_opens_the_binding_of_its_group() -> None:
    v, d = ticket_opens_binding()
    assert (d.code, d.group) == (Code.OK_BIND, FAMILY)
    assert v.state.bindings == {DESK: FAMILY}
    group = v.state.groups[FAMILY]
    assert (group.adults, group.children, group.members) == (2, 2, ())
    assert BindingOpened(DESK, T0, FAMILY, 2, 2) in v.events


def test_ok_bind_a_band_takes_a_slot_of_the_open_binding() -> None:
    v, d = band_takes_slot()
    assert (d.code, d.group, d.role) == (Code.OK_BIND, FAMILY, Role.ADULT)
    member = v.state.members[ADULT_1]
    assert (member.group, member.role, member.state) == (FAMILY, Role.ADULT, BOUND)
    assert v.state.groups[FAMILY].members == (ADULT_1,)
    assert v.state.bindings == {DESK: FAMILY}  # three slots still free
    assert BandBound(DESK, later(T0, 5), ADULT_1, FAMILY, Role.ADULT) in v.events


def test_ok_entry_first_entry_of_a_bound_member() -> None:
    v, d = first_entry()
    assert (d.code, d.group, d.role) == (Code.OK_ENTRY, FAMILY, Role.ADULT)
    assert state_of(v, ADULT_1) is INSIDE
    assert v.state.inside == 1
    assert headcount(v.state) == Headcount(1, 1, 0, 0, 1)
    assert PairingOpened(E1, later(T0, 60), FAMILY, ENTRY, ADULT_1) in v.events


def test_ok_reentry_of_a_member_who_was_out_for_a_while() -> None:
    v, d = reentry_after_temporary_exit()
    assert d.code is Code.OK_REENTRY
    assert state_of(v, ADULT_1) is INSIDE
    assert v.state.inside == 4


def test_ok_exit_is_final() -> None:
    v, d = final_exit()
    assert (d.code, d.role) == (Code.OK_EXIT, Role.ADULT)
    assert state_of(v, ADULT_1) is EXITED
    assert v.state.inside == 3


def test_ok_temp_exit_of_an_adult() -> None:
    v, d = temporary_exit()
    assert d.code is Code.OK_TEMP_EXIT
    assert state_of(v, ADULT_1) is TEMP_OUT
    assert v.state.inside == 3
    assert not v.state.groups[FAMILY].unaccompanied  # ADULT_2 is still inside


def test_ok_staff_arms_an_override_at_its_gate() -> None:
    v, d = staff_badge()
    assert (d.code, d.role, d.gate) == (Code.OK_STAFF, Role.STAFF, X1)
    assert not d.forced
    assert set(v.state.overrides) == {X1}
    assert v.state.overrides[X1].staff == STAFF
    assert OverrideArmed(X1, later(T0, 600), STAFF) in v.events


def test_ok_override_is_journalled_as_forced_with_staff_and_overridden_code() -> None:
    v, d = guardian_pickup_by_override()
    now = later(T0, 610)
    assert d.code is Code.OK_OVERRIDE
    assert (d.forced, d.staff, d.overrode) == (True, STAFF, Code.DENY_GUARDIAN_PICKUP)
    assert (d.group, d.role) == (SOLO, Role.SOLO_CHILD)
    assert state_of(v, CHILD_4) is EXITED
    assert v.state.inside == 0
    moved = MemberMoved(
        X1, now, CHILD_4, SOLO, EXITED, forced=True, staff=STAFF, overrode=d.overrode
    )
    assert moved in v.events
    assert OverrideSpent(X1, now, STAFF, CHILD_4, Code.DENY_GUARDIAN_PICKUP) in v.events
    assert X1 not in v.state.overrides  # spent


# --- denials --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A venue, one scan at one time, and the code it must get."""

    id: str
    setup: Callable[[], Venue]
    scan: Scan
    now: datetime
    code: Code

    def run(self) -> tuple[Venue, Decision]:
        v = self.setup()
        advance(v.state, self.now, v.policy)  # close due windows first, so the scan alone is seen
        return v, v.scan(self.scan, self.now)

    def param(self) -> object:
        return pytest.param(self, id=self.id)


def case(
    id: str, setup: Callable[[], Venue], scan: Scan, code: Code, now: datetime | None = None
) -> Case:
    return Case(id, setup, scan, later(T0, 3600) if now is None else now, code)


DENIALS = [
    # DENY_BAD_TOKEN: the band's token fails its signature check or belongs to another UID
    case(
        "bad token: signature fails, known band",
        family_inside,
        Scan(X1, EXIT, Kind.NFC, ADULT_1, token_fault="signature does not match"),
        Code.DENY_BAD_TOKEN,
    ),
    case(
        "bad token: copied from another band",
        Venue,
        Scan(X1, EXIT, Kind.NFC, STRANGER, token_fault="token belongs to 04A10001"),
        Code.DENY_BAD_TOKEN,
    ),
    # DENY_UNKNOWN: credential not in the allowlist / not bound
    case("unknown: band in no list", Venue, nfc(E1, ENTRY, STRANGER), Code.DENY_UNKNOWN),
    case("unknown: stock band never bound", Venue, nfc(E1, ENTRY, ADULT_1), Code.DENY_UNKNOWN),
    case("unknown: unbound band at exit", Venue, nfc(X1, EXIT, CHILD_1), Code.DENY_UNKNOWN),
    case("unknown: ticket at entry gate", Venue, barcode(E1, ENTRY, FAMILY), Code.DENY_UNKNOWN),
    case(
        "unknown: barcode not a ticket, at the desk",
        Venue,
        barcode(DESK, BIND, UNKNOWN_TICKET),
        Code.DENY_UNKNOWN,
    ),
    # DENY_NOT_VALID_NOW: ticket not valid now (not today, or out of its session)
    case(
        "not valid: expired ticket at the desk",
        Venue,
        barcode(DESK, BIND, EXPIRED),
        Code.DENY_NOT_VALID_NOW,
    ),
    case(
        "not valid: band of yesterday's ticket at entry",
        family_bound,
        nfc(E1, ENTRY, ADULT_1),
        Code.DENY_NOT_VALID_NOW,
        NEXT_MORNING,
    ),
    case(
        "not valid: a session's ticket outside its session",
        lambda: family_bound().with_policy(sessions={"AM": "09:30-12:30"}, session_of=FAMILY),
        nfc(E1, ENTRY, ADULT_1),
        Code.DENY_NOT_VALID_NOW,
        at(14, 1),
    ),
    # DENY_REVOKED: refund, lost band reported
    case(
        "revoked: lost band at the desk",
        lambda: Venue().bind(FAMILY),
        nfc(DESK, BIND, LOST),
        Code.DENY_REVOKED,
    ),
    case(
        "revoked: refunded ticket at the desk",
        Venue,
        barcode(DESK, BIND, REFUNDED),
        Code.DENY_REVOKED,
    ),
    case(
        "revoked: bound band reported lost, at entry",
        lambda: family_bound().revoke(ADULT_1),
        nfc(E1, ENTRY, ADULT_1),
        Code.DENY_REVOKED,
    ),
    case(
        "revoked: ticket refunded after binding, at entry",
        lambda: family_bound().revoke(FAMILY),
        nfc(E1, ENTRY, CHILD_1),
        Code.DENY_REVOKED,
    ),
    # DENY_ALREADY_INSIDE: anti-passback
    case(
        "already inside: same gate",
        family_inside,
        nfc(E1, ENTRY, ADULT_1),
        Code.DENY_ALREADY_INSIDE,
    ),
    case(
        "already inside: other gate",
        family_inside,
        nfc(E2, ENTRY, CHILD_1),
        Code.DENY_ALREADY_INSIDE,
    ),
    # DENY_NOT_INSIDE: exit by a member who is not inside
    case("not inside: never entered", family_bound, nfc(X1, EXIT, ADULT_1), Code.DENY_NOT_INSIDE),
    case(
        "not inside: out for a while",
        family_adult_1_out_for_a_while,
        nfc(X1, EXIT, ADULT_1),
        Code.DENY_NOT_INSIDE,
    ),
    # DENY_ALREADY_EXITED: any use of a band after final exit
    case(
        "already exited: entry",
        family_adult_1_gone,
        nfc(E1, ENTRY, ADULT_1),
        Code.DENY_ALREADY_EXITED,
    ),
    case(
        "already exited: exit",
        family_adult_1_gone,
        nfc(X2, EXIT, ADULT_1),
        Code.DENY_ALREADY_EXITED,
    ),
    case(
        "already exited: temporary exit",
        family_adult_1_gone,
        nfc(X1, EXIT, ADULT_1, TEMPORARY),
        Code.DENY_ALREADY_EXITED,
    ),
    # DENY_CHILD_NEEDS_ADULT
    case(
        "child needs adult: entry, nobody of the group inside",
        family_bound,
        nfc(E1, ENTRY, CHILD_1),
        Code.DENY_CHILD_NEEDS_ADULT,
    ),
    case(
        "child needs adult: exit, no adult out here",
        family_inside,
        nfc(X1, EXIT, CHILD_1),
        Code.DENY_CHILD_NEEDS_ADULT,
    ),
    # DENY_CHILD_TEMP_EXIT
    case(
        "child temp exit: child",
        family_inside,
        nfc(X1, EXIT, CHILD_1, TEMPORARY),
        Code.DENY_CHILD_TEMP_EXIT,
    ),
    case(
        "child temp exit: solo child",
        solo_inside,
        nfc(X1, EXIT, CHILD_4, TEMPORARY),
        Code.DENY_CHILD_TEMP_EXIT,
    ),
    # DENY_GUARDIAN_PICKUP
    case("guardian pickup", solo_inside, nfc(X1, EXIT, CHILD_4), Code.DENY_GUARDIAN_PICKUP),
    # DENY_CAPACITY
    case(
        "capacity: venue full",
        family_adults_inside_at_capacity,
        nfc(E1, ENTRY, CHILD_1),
        Code.DENY_CAPACITY,
    ),
    # DENY_CLOSED: entry outside opening hours
    case(
        "closed: before opening",
        family_bound,
        nfc(E1, ENTRY, ADULT_1),
        Code.DENY_CLOSED,
        at(8, 59, 59),
    ),
    case(
        "closed: at closing time",
        family_bound,
        nfc(E1, ENTRY, ADULT_1),
        Code.DENY_CLOSED,
        at(18),
    ),
    case(
        "closed: after closing, an adult whose group has no child inside",
        family_bound,
        nfc(E1, ENTRY, ADULT_1),
        Code.DENY_CLOSED,
        at(18, 30),
    ),
    case(
        "closed: after a close past midnight",
        night_venue_duo_bound,
        nfc(E1, ENTRY, ADULT_3),
        Code.DENY_CLOSED,
        at(2, 0, day=NEXT_DAY),
    ),
    # DENY_BINDING: the scan does not fit the open binding
    case(
        "binding: group full, ticket scanned again",
        family_bound,
        barcode(DESK, BIND, FAMILY),
        Code.DENY_BINDING,
    ),
    case(
        "binding: adult band, every adult slot bound",
        lambda: Venue().bind(FAMILY, ADULT_1, ADULT_2),
        nfc(DESK, BIND, ADULT_3),
        Code.DENY_BINDING,
    ),
    case(
        "binding: band already bound to another group",
        lambda: family_bound().bind(DUO),
        nfc(DESK, BIND, ADULT_1),
        Code.DENY_BINDING,
    ),
    case("binding: no open binding", Venue, nfc(DESK, BIND, ADULT_1), Code.DENY_BINDING),
]


@pytest.mark.parametrize("c", [c.param() for c in DENIALS])
def test_denial_gets_its_code_and_changes_nothing(c: Case) -> None:
    v = c.setup()
    advance(v.state, c.now, v.policy)
    before = copy.deepcopy(v.state)
    d = v.scan(c.scan, c.now)
    assert d.code is c.code
    assert not d.granted
    assert (d.gate, d.value, d.forced, d.overrode) == (c.scan.gate, c.scan.value, False, None)
    # but a solo child refused at an exit for want of its guardian's code waits there for it:
    # the codes shown next count for it (gate.core.pickup_tries)
    waiting = d.role is Role.SOLO_CHILD and c.scan.mode is Mode.EXIT and d.code in ASKING
    waits = [PickupAsked(c.scan.gate, c.now, d.group or "", c.scan.value)] if waiting else []
    assert v.events == waits
    for event in waits:
        fold(before, event)
    assert v.state == before


# --- opening hours and the venue's local date -----------------------------------------------------


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (at(8, 59, 59), Code.DENY_CLOSED),
        (at(9), Code.OK_ENTRY),
        (at(17, 59, 59), Code.OK_ENTRY),
        (at(18), Code.DENY_CLOSED),
        (at(22), Code.DENY_CLOSED),
    ],
    ids=str,
)
def test_opening_hours_are_open_inclusive_close_exclusive(now: datetime, code: Code) -> None:
    assert family_bound().enter(ADULT_1, now).code is code


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (at(19, 59, 59), Code.DENY_CLOSED),
        (at(20), Code.OK_ENTRY),
        (at(23, 30), Code.OK_ENTRY),
        (at(0, 30, day=NEXT_DAY), Code.OK_ENTRY),
        (at(1, 59, 59, day=NEXT_DAY), Code.OK_ENTRY),
        (at(2, 0, day=NEXT_DAY), Code.DENY_CLOSED),
        (at(12, 0, day=NEXT_DAY), Code.DENY_CLOSED),
    ],
    ids=str,
)
def test_a_close_before_open_spans_midnight(now: datetime, code: Code) -> None:
    assert night_venue_duo_bound().enter(ADULT_3, now).code is code


def test_a_night_session_past_midnight_keeps_the_day_it_opened() -> None:
    """A ticket for July 1st, at 00:30 on July 2nd, in the session that opened on July 1st."""
    v = Venue(policy=policy(open=time(20), close=time(2))).bind(FAMILY, ADULT_1, ADULT_2)
    assert v.enter(ADULT_1, at(0, 30, day=NEXT_DAY)).code is Code.OK_ENTRY


def test_opening_hours_are_judged_in_the_venue_timezone() -> None:
    """08:30 UTC is 16:30 in Shanghai (open); 10:30 UTC is 18:30 there (closed)."""
    utc = datetime.fromisoformat
    assert family_bound().enter(ADULT_1, utc("2026-07-01T08:30:00+00:00")).code is Code.OK_ENTRY
    assert family_bound().enter(ADULT_1, utc("2026-07-01T10:30:00+00:00")).code is Code.DENY_CLOSED


# 23:30 on July 1st in UTC is already 07:30 on July 2nd in Shanghai.
LATE_UTC = datetime.fromisoformat("2026-07-01T23:30:00+00:00")


@pytest.mark.parametrize(
    ("valid_on", "code"),
    [(DAY, Code.DENY_NOT_VALID_NOW), (NEXT_DAY, Code.OK_BIND)],
    ids=["valid July 1st only: over", "valid July 2nd only: valid"],
)
def test_binding_validity_is_judged_by_the_venue_local_date(valid_on: date, code: Code) -> None:
    v = Venue()
    v.state.allowlist.tickets["T-ONE-DAY"] = ticket("T-ONE-DAY", 1, 1, valid_on, valid_on)
    assert v.ticket("T-ONE-DAY", LATE_UTC).code is code


def test_entry_validity_is_judged_by_the_venue_local_date() -> None:
    """Bound on July 1st (valid that day only); by UTC still July 1st, in Shanghai July 2nd."""
    assert family_bound().enter(ADULT_1, LATE_UTC).code is Code.DENY_NOT_VALID_NOW


# --- exits are never refused for hours, validity or capacity --------------------------------------


@pytest.mark.parametrize(
    ("venue", "now"),
    [
        pytest.param(family_inside, AFTER_CLOSING, id="after closing"),
        pytest.param(family_inside, at(3, day=NEXT_DAY), id="past midnight, ticket over"),
        pytest.param(family_inside, NEXT_MORNING, id="ticket no longer valid"),
        pytest.param(family_inside_at_capacity, T0, id="venue at capacity"),
    ],
)
def test_exits_are_never_refused_for_hours_validity_or_capacity(
    venue: Callable[[], Venue], now: datetime
) -> None:
    v = venue()
    assert v.step_out(ADULT_2, now).code is Code.OK_TEMP_EXIT
    assert v.leave(ADULT_1, later(now, 1)).code is Code.OK_EXIT
    assert v.leave(CHILD_1, later(now, 2)).code is Code.OK_EXIT
    assert v.leave(CHILD_2, later(now, 3)).code is Code.OK_EXIT
    assert v.state.inside == 0


# --- binding ------------------------------------------------------------------------------------


def test_binding_gives_each_band_its_stock_role_whatever_the_order() -> None:
    v = Venue().bind(FAMILY, CHILD_1, ADULT_1, CHILD_2, ADULT_2)
    roles = {uid: v.state.members[uid].role for uid in FAMILY_BANDS}
    assert roles == {
        ADULT_1: Role.ADULT,
        ADULT_2: Role.ADULT,
        CHILD_1: Role.CHILD,
        CHILD_2: Role.CHILD,
    }
    assert v.state.groups[FAMILY].members == (CHILD_1, ADULT_1, CHILD_2, ADULT_2)


def test_unknown_stock_bands_take_the_adult_slots_first() -> None:
    v = venue_without_stock().bind(FAMILY, SPARE_1, SPARE_2, SPARE_3, CHILD_1)
    roles = [v.state.members[uid].role for uid in (SPARE_1, SPARE_2, SPARE_3, CHILD_1)]
    assert roles == [Role.ADULT, Role.ADULT, Role.CHILD, Role.CHILD]


def test_an_unknown_stock_band_takes_a_child_slot_when_the_adults_are_bound() -> None:
    v = venue_without_stock().bind(FAMILY, ADULT_1, ADULT_2)
    d = v.band(SPARE_1)
    assert (d.code, d.role) == (Code.OK_BIND, Role.CHILD)


@pytest.mark.parametrize("band", [CHILD_4, SPARE_1], ids=["child stock", "unknown stock"])
def test_a_solo_ticket_binds_a_solo_child(band: str) -> None:
    v = venue_without_stock() if band == SPARE_1 else Venue()
    assert v.ticket(SOLO).code is Code.OK_BIND
    d = v.band(band)
    assert (d.code, d.group, d.role) == (Code.OK_BIND, SOLO, Role.SOLO_CHILD)
    assert v.state.members[band].role is Role.SOLO_CHILD
    assert v.state.bindings == {}  # the only slot is taken


@pytest.mark.parametrize(
    ("ticket_code", "bound", "band", "fits"),
    [
        pytest.param(
            FAMILY, (ADULT_1, ADULT_2), ADULT_3, CHILD_5, id="adult band, adults all bound"
        ),
        pytest.param(
            FAMILY, (CHILD_1, CHILD_2), CHILD_3, ADULT_4, id="child band, children all bound"
        ),
        pytest.param(SOLO, (), ADULT_1, CHILD_4, id="adult band on a solo child's ticket"),
    ],
)
def test_a_band_of_the_wrong_role_is_refused_and_the_binding_stays_open(
    ticket_code: str, bound: tuple[str, ...], band: str, fits: str
) -> None:
    v = Venue().bind(ticket_code, *bound)
    d = v.band(band)
    assert d.code is Code.DENY_BINDING
    assert band not in v.state.members
    assert v.state.bindings == {DESK: ticket_code}
    assert v.band(fits).code is Code.OK_BIND  # a band of the right role still fits


def test_binding_closes_when_the_group_is_full() -> None:
    v = Venue().bind(FAMILY, ADULT_1, ADULT_2, CHILD_1)
    assert v.state.bindings == {DESK: FAMILY}
    assert v.band(CHILD_2).code is Code.OK_BIND
    assert v.state.bindings == {}
    assert v.band(CHILD_5).code is Code.DENY_BINDING
    assert CHILD_5 not in v.state.members


def test_a_band_joins_only_the_binding_open_at_its_own_desk() -> None:
    v = Venue()
    v.ticket(FAMILY, desk=DESK)
    assert v.band(ADULT_1, desk=DESK_2).code is Code.DENY_BINDING
    assert v.band(ADULT_1, desk=DESK).code is Code.OK_BIND


def test_a_band_already_bound_in_the_same_group_is_refused() -> None:
    v = Venue().bind(FAMILY, ADULT_1)
    assert v.band(ADULT_1).code is Code.DENY_BINDING
    assert v.state.groups[FAMILY].members == (ADULT_1,)


def test_bands_scanned_after_their_ticket_was_revoked_are_not_bound() -> None:
    v = Venue().bind(FAMILY, ADULT_1).revoke(FAMILY, "refund")
    assert v.band(ADULT_2).code is Code.DENY_REVOKED
    assert v.state.groups[FAMILY].members == (ADULT_1,)


def test_a_returned_band_can_be_bound_to_a_new_ticket() -> None:
    v = family_inside()
    v.release(ADULT_1, ADULT_2, CHILD_1, CHILD_2, now=at(12))
    d = v.ticket(DUO, at(13)), v.band(ADULT_1, at(13)), v.band(CHILD_1, at(13))
    assert [x.code for x in d] == [Code.OK_BIND] * 3
    member = v.state.members[ADULT_1]
    assert (member.group, member.role, member.state) == (DUO, Role.ADULT, BOUND)
    assert v.enter(ADULT_1, at(13, 5)).code is Code.OK_ENTRY
    assert v.state.members_of(FAMILY) == [v.state.members[ADULT_2], v.state.members[CHILD_2]]


def test_a_full_ticket_stays_full_when_one_of_its_returned_bands_is_recycled() -> None:
    v = family_inside()
    v.release(ADULT_1, ADULT_2, CHILD_1, CHILD_2, now=at(12))
    v.bind(DUO, ADULT_1, CHILD_1, now=at(13))
    # The family's ticket had all four bands bound: it cannot bind a fifth one and let
    # someone in again.
    assert v.ticket(FAMILY, at(13, 5)).code is Code.DENY_BINDING
    assert v.band(ADULT_4, at(13, 6)).code is Code.DENY_BINDING


# --- pairing: adult first -----------------------------------------------------------------------


def test_at_entry_a_child_waits_for_an_adult_of_its_group() -> None:
    v = family_bound()
    assert v.enter(CHILD_1, T0).code is Code.DENY_CHILD_NEEDS_ADULT
    assert v.enter(ADULT_1, later(T0, 5)).code is Code.OK_ENTRY
    assert v.enter(CHILD_1, later(T0, 10)).code is Code.OK_ENTRY
    assert v.enter(CHILD_2, later(T0, 12)).code is Code.OK_ENTRY
    assert headcount(v.state) == Headcount(3, 1, 2, 0, 1)


def test_at_entry_a_child_passes_when_an_adult_of_its_group_is_already_inside() -> None:
    v = family_bound().admit(ADULT_1, now=at(10))
    assert v.enter(CHILD_1, at(14), gate=E2).code is Code.OK_ENTRY  # other gate, hours later


def test_at_entry_an_adult_of_another_group_does_not_pair_a_child() -> None:
    v = family_bound().bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3)
    assert v.enter(CHILD_1, later(T0, 5)).code is Code.DENY_CHILD_NEEDS_ADULT


def test_at_exit_a_child_follows_an_adult_of_its_group_out_of_the_same_gate() -> None:
    v = family_inside()
    assert v.leave(CHILD_1, at(12)).code is Code.DENY_CHILD_NEEDS_ADULT
    assert v.leave(ADULT_1, at(12, 0, 5)).code is Code.OK_EXIT
    assert v.leave(CHILD_1, at(12, 0, 10)).code is Code.OK_EXIT
    assert v.leave(CHILD_2, at(12, 0, 20)).code is Code.OK_EXIT
    assert [state_of(v, u) for u in FAMILY_BANDS] == [EXITED, INSIDE, EXITED, EXITED]


def test_at_exit_pairing_is_per_gate() -> None:
    v = family_inside()
    v.release(ADULT_1, now=at(12), gate=X1)
    assert v.leave(CHILD_1, at(12, 0, 5), gate=X2).code is Code.DENY_CHILD_NEEDS_ADULT
    assert v.leave(CHILD_1, at(12, 0, 6), gate=X1).code is Code.OK_EXIT


def test_at_exit_an_adult_of_another_group_does_not_pair_a_child() -> None:
    v = family_inside().bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3)
    v.release(ADULT_3, now=at(12))
    assert v.leave(CHILD_1, at(12, 0, 5)).code is Code.DENY_CHILD_NEEDS_ADULT


def test_pairing_is_per_direction_an_adult_entering_does_not_let_a_child_out() -> None:
    v = family_bound().admit(ADULT_1, CHILD_1)
    gate = "G1"  # a gate switched between entry and exit
    assert v.enter(ADULT_2, at(12), gate=gate).code is Code.OK_ENTRY
    assert v.leave(CHILD_1, at(12, 0, 5), gate=gate).code is Code.DENY_CHILD_NEEDS_ADULT


def test_a_denied_adult_opens_no_pairing_window() -> None:
    v = family_bound().admit(ADULT_1, CHILD_1)
    assert v.leave(ADULT_2, at(12)).code is Code.DENY_NOT_INSIDE  # never entered
    assert v.leave(CHILD_1, at(12, 0, 5)).code is Code.DENY_CHILD_NEEDS_ADULT


def test_a_temporary_exit_of_an_adult_also_opens_the_pairing_window() -> None:
    v = family_inside()
    assert v.step_out(ADULT_1, at(12)).code is Code.OK_TEMP_EXIT
    assert v.leave(CHILD_1, at(12, 0, 5)).code is Code.OK_EXIT


@pytest.mark.parametrize(
    ("after_s", "code"),
    [
        (0, Code.OK_EXIT),
        (WINDOW_S - 1, Code.OK_EXIT),
        (WINDOW_S, Code.OK_EXIT),
        (WINDOW_S + 0.001, Code.DENY_CHILD_NEEDS_ADULT),
        (WINDOW_S + 1, Code.DENY_CHILD_NEEDS_ADULT),
    ],
    ids=lambda x: str(x),
)
def test_the_pairing_window_includes_its_last_instant(after_s: float, code: Code) -> None:
    v = family_inside()
    v.release(ADULT_1, now=at(12))
    assert v.leave(CHILD_1, later(at(12), after_s)).code is code


def test_the_pairing_window_follows_the_policy() -> None:
    v = Venue(policy=policy(pairing_window_s=10)).bind(FAMILY, *FAMILY_BANDS).admit(*FAMILY_BANDS)
    v.release(ADULT_1, now=at(12))
    assert v.leave(CHILD_1, later(at(12), 10)).code is Code.OK_EXIT
    assert v.leave(CHILD_2, later(at(12), 11)).code is Code.DENY_CHILD_NEEDS_ADULT


# --- the adult who leaves first -----------------------------------------------------------------


def both_adults_left_children_inside() -> Venue:
    """Both adults of the family left for good through X1 at 12:00; the children stayed."""
    return family_inside().release(ADULT_1, ADULT_2, now=at(12))


def test_adults_leaving_first_stay_exited_while_the_window_is_open() -> None:
    v = both_adults_left_children_inside()
    assert advance(v.state, later(at(12), WINDOW_S), v.policy) == []
    assert [state_of(v, u) for u in FAMILY_BANDS] == [EXITED, EXITED, INSIDE, INSIDE]
    assert not v.state.groups[FAMILY].unaccompanied


def test_adults_leaving_first_become_temp_out_and_flag_the_group_when_the_window_closes() -> None:
    v = both_adults_left_children_inside()
    events = advance(v.state, later(at(12), WINDOW_S + 1), v.policy)
    assert [state_of(v, u) for u in FAMILY_BANDS] == [TEMP_OUT, TEMP_OUT, INSIDE, INSIDE]
    assert v.state.groups[FAMILY].unaccompanied
    assert [e for e in events if isinstance(e, GroupFlagged)] == [
        GroupFlagged(X1, later(at(12), WINDOW_S), FAMILY)
    ]
    assert headcount(v.state) == Headcount(
        inside=2, adults=0, children=2, unaccompanied_children=2, groups_inside=1
    )


def test_the_adult_coming_back_for_the_children_clears_the_flag() -> None:
    v = both_adults_left_children_inside()
    assert v.enter(ADULT_1, at(12, 30)).code is Code.OK_REENTRY
    assert state_of(v, ADULT_1) is INSIDE
    assert not v.state.groups[FAMILY].unaccompanied
    assert headcount(v.state).unaccompanied_children == 0
    # and may now take them out
    assert v.leave(ADULT_1, at(13)).code is Code.OK_EXIT
    assert v.leave(CHILD_1, at(13, 0, 5)).code is Code.OK_EXIT


def test_a_child_following_within_the_window_is_not_left_flagged() -> None:
    v = family_with_adult_1_and_children_inside()
    v.release(ADULT_1, CHILD_1, CHILD_2, now=at(12))
    advance(v.state, at(13), v.policy)
    assert [state_of(v, u) for u in (ADULT_1, CHILD_1, CHILD_2)] == [EXITED, EXITED, EXITED]
    assert not v.state.groups[FAMILY].unaccompanied


def test_a_child_left_behind_when_the_window_closes_flags_the_group() -> None:
    v = family_with_adult_1_and_children_inside()
    v.release(ADULT_1, CHILD_1, now=at(12))
    advance(v.state, at(13), v.policy)
    assert state_of(v, ADULT_1) is TEMP_OUT
    assert v.state.groups[FAMILY].unaccompanied
    assert headcount(v.state).unaccompanied_children == 1


def test_a_temporary_exit_that_leaves_children_alone_flags_the_group_at_once() -> None:
    v = family_with_adult_1_and_children_inside()
    assert v.step_out(ADULT_1, at(12)).code is Code.OK_TEMP_EXIT
    assert GroupFlagged(X1, at(12), FAMILY) in v.events
    assert v.state.groups[FAMILY].unaccompanied
    assert headcount(v.state).unaccompanied_children == 2


@pytest.mark.parametrize("intent", [Intent.FINAL, Intent.TEMPORARY])
def test_nothing_is_flagged_while_another_adult_of_the_group_stays_inside(intent: Intent) -> None:
    v = family_inside()
    assert v.scan(nfc(X1, EXIT, ADULT_1, intent), at(12)).granted
    advance(v.state, at(13), v.policy)
    assert state_of(v, ADULT_1) is (EXITED if intent is Intent.FINAL else TEMP_OUT)
    assert not v.state.groups[FAMILY].unaccompanied
    assert not any(isinstance(e, GroupFlagged) for e in v.events)
    assert headcount(v.state).unaccompanied_children == 0


def test_a_solo_child_inside_alone_is_not_counted_unaccompanied() -> None:
    v = solo_inside()
    advance(v.state, at(13), v.policy)
    assert headcount(v.state) == Headcount(1, 0, 1, 0, 1)


# --- overrides ----------------------------------------------------------------------------------


def test_an_override_is_armed_at_the_staff_badge_gate_only() -> None:
    v = solo_inside()
    v.badge(X1, at(12))
    assert v.leave(CHILD_4, at(12, 0, 5), gate=X2).code is Code.DENY_GUARDIAN_PICKUP
    assert v.leave(CHILD_4, at(12, 0, 6), gate=X1).code is Code.OK_OVERRIDE


@pytest.mark.parametrize(
    ("after_s", "code"),
    [(WINDOW_S, Code.OK_OVERRIDE), (WINDOW_S + 1, Code.DENY_GUARDIAN_PICKUP)],
    ids=["at the window's end", "after the window"],
)
def test_an_override_expires_after_the_window(after_s: float, code: Code) -> None:
    v = solo_inside()
    v.badge(X1, at(12))
    assert v.leave(CHILD_4, later(at(12), after_s)).code is code


def test_an_override_is_consumed_by_one_denial() -> None:
    v = family_inside().bind(SOLO, CHILD_4).admit(CHILD_4)
    v.badge(X1, at(12))
    assert v.leave(CHILD_4, at(12, 0, 5)).code is Code.OK_OVERRIDE
    assert v.leave(CHILD_1, at(12, 0, 10)).code is Code.DENY_CHILD_NEEDS_ADULT
    assert v.state.overrides == {}


def test_a_grant_does_not_spend_the_override() -> None:
    v = family_inside().bind(SOLO, CHILD_4).admit(CHILD_4)
    v.badge(X1, at(12))
    d = v.leave(ADULT_1, at(12, 0, 5))
    assert (d.code, d.forced) == (Code.OK_EXIT, False)
    assert v.leave(CHILD_4, at(12, 0, 10)).code is Code.OK_OVERRIDE


@dataclass(frozen=True)
class Forced:
    """A denial that an armed override turns into a forced passage."""

    id: str
    setup: Callable[[], Venue]
    scan: Scan
    now: datetime
    overrode: Code
    then: MemberState


OVERRIDABLE = [
    Forced(
        "already inside",
        family_inside,
        nfc(E1, ENTRY, ADULT_1),
        at(12),
        Code.DENY_ALREADY_INSIDE,
        INSIDE,
    ),
    Forced(
        "not inside", family_bound, nfc(X1, EXIT, ADULT_1), at(12), Code.DENY_NOT_INSIDE, EXITED
    ),
    Forced(
        "not valid now",
        family_bound,
        nfc(E1, ENTRY, ADULT_1),
        NEXT_MORNING,
        Code.DENY_NOT_VALID_NOW,
        INSIDE,
    ),
    Forced(
        "closed", family_bound, nfc(E1, ENTRY, ADULT_1), AFTER_CLOSING, Code.DENY_CLOSED, INSIDE
    ),
    Forced(
        "capacity",
        family_adults_inside_at_capacity,
        nfc(E1, ENTRY, CHILD_1),
        at(12),
        Code.DENY_CAPACITY,
        INSIDE,
    ),
    Forced(
        "child needs adult at entry",
        family_bound,
        nfc(E1, ENTRY, CHILD_1),
        at(12),
        Code.DENY_CHILD_NEEDS_ADULT,
        INSIDE,
    ),
    Forced(
        "child needs adult at exit",
        family_inside,
        nfc(X1, EXIT, CHILD_1),
        at(12),
        Code.DENY_CHILD_NEEDS_ADULT,
        EXITED,
    ),
    Forced(
        "child temp exit",
        family_inside,
        nfc(X1, EXIT, CHILD_1, TEMPORARY),
        at(12),
        Code.DENY_CHILD_TEMP_EXIT,
        TEMP_OUT,
    ),
    Forced(
        "revoked band, out",
        lambda: family_inside().revoke(ADULT_1),
        nfc(X1, EXIT, ADULT_1),
        at(12),
        Code.DENY_REVOKED,
        EXITED,
    ),
    Forced(
        "guardian pickup",
        solo_inside,
        nfc(X1, EXIT, CHILD_4),
        at(12),
        Code.DENY_GUARDIAN_PICKUP,
        EXITED,
    ),
]


@pytest.mark.parametrize("f", [pytest.param(f, id=f.id) for f in OVERRIDABLE])
def test_an_armed_override_forces_a_passage_denial(f: Forced) -> None:
    v = f.setup()
    uid, gate = f.scan.value, f.scan.gate
    assert v.scan(f.scan, later(f.now, -5)).code is f.overrode  # the denial, unarmed
    assert v.badge(gate, f.now).code is Code.OK_STAFF
    d = v.scan(f.scan, later(f.now, 5))
    assert d.code is Code.OK_OVERRIDE
    assert (d.forced, d.staff, d.overrode) == (True, STAFF, f.overrode)
    assert state_of(v, uid) is f.then
    assert OverrideSpent(gate, later(f.now, 5), STAFF, uid, f.overrode) in v.events
    assert gate not in v.state.overrides


NOT_OVERRIDDEN = [
    case(
        "already exited: entry",
        family_adult_1_gone,
        nfc(X1, ENTRY, ADULT_1),
        Code.DENY_ALREADY_EXITED,
    ),
    case("unknown", Venue, nfc(X1, EXIT, STRANGER), Code.DENY_UNKNOWN),
    case(
        "revoked band",
        lambda: family_inside().revoke(ADULT_1),
        nfc(X1, ENTRY, ADULT_1),
        Code.DENY_REVOKED,
    ),
    case(
        "revoked ticket",
        lambda: family_bound().revoke(FAMILY),
        nfc(X1, ENTRY, ADULT_1),
        Code.DENY_REVOKED,
    ),
    case("binding: no open binding", Venue, nfc(X1, BIND, ADULT_1), Code.DENY_BINDING),
    case(
        "binding: wrong role",
        lambda: Venue().bind(FAMILY, ADULT_1, ADULT_2, desk=X1),
        nfc(X1, BIND, ADULT_3),
        Code.DENY_BINDING,
    ),
    case("binding: revoked ticket", Venue, barcode(X1, BIND, REFUNDED), Code.DENY_REVOKED),
    case("binding: expired ticket", Venue, barcode(X1, BIND, EXPIRED), Code.DENY_NOT_VALID_NOW),
]


@pytest.mark.parametrize("c", [c.param() for c in NOT_OVERRIDDEN])
def test_an_override_never_lets_in_a_revoked_or_returned_band_nor_binds_and_stays_armed(
    c: Case,
) -> None:
    v = c.setup().bind(SOLO, CHILD_4).admit(CHILD_4, now=at(11))
    v.badge(X1, at(12))
    d = v.scan(c.scan, at(12, 0, 5))
    assert (d.code, d.forced, d.overrode) == (c.code, False, None)
    assert X1 in v.state.overrides
    # still armed: the next passage denial at X1 is the one overridden
    assert v.leave(CHILD_4, at(12, 0, 10)).code is Code.OK_OVERRIDE


def test_a_revoked_staff_badge_arms_nothing() -> None:
    v = solo_inside().revoke(STAFF, "badge lost")
    d = v.badge(X1, at(12))
    assert d.code is Code.DENY_REVOKED
    assert v.state.overrides == {}
    assert v.leave(CHILD_4, at(12, 0, 5)).code is Code.DENY_GUARDIAN_PICKUP


# --- precedence: the earlier denial wins when several apply ---------------------------------------

PRECEDENCE = [
    # identity: unknown, then revoked
    case(
        "REVOKED over UNKNOWN: lost band never bound",
        Venue,
        nfc(E1, ENTRY, LOST),
        Code.DENY_REVOKED,
    ),
    case(
        "REVOKED over ALREADY_EXITED: entry",
        lambda: family_adult_1_gone().revoke(ADULT_1),
        nfc(E1, ENTRY, ADULT_1),
        Code.DENY_REVOKED,
    ),
    case(
        "REVOKED over ALREADY_EXITED: exit",
        lambda: family_adult_1_gone().revoke(FAMILY),
        nfc(X1, EXIT, ADULT_1),
        Code.DENY_REVOKED,
    ),
    # entry
    case(
        "ALREADY_EXITED over NOT_VALID_NOW",
        family_adult_1_gone,
        nfc(E1, ENTRY, ADULT_1),
        Code.DENY_ALREADY_EXITED,
        NEXT_MORNING,
    ),
    case(
        "NOT_VALID_NOW over ALREADY_INSIDE",
        family_inside,
        nfc(E1, ENTRY, ADULT_1),
        Code.DENY_NOT_VALID_NOW,
        NEXT_MORNING,
    ),
    case(
        "ALREADY_INSIDE over CLOSED",
        family_inside,
        nfc(E1, ENTRY, ADULT_1),
        Code.DENY_ALREADY_INSIDE,
        AFTER_CLOSING,
    ),
    case(
        "CLOSED over CAPACITY",
        family_adults_inside_at_capacity,
        nfc(E1, ENTRY, CHILD_1),
        Code.DENY_CLOSED,
        AFTER_CLOSING,
    ),
    case(
        "CAPACITY over CHILD_NEEDS_ADULT",
        duo_inside_at_capacity_1_family_bound,
        nfc(E1, ENTRY, CHILD_1),
        Code.DENY_CAPACITY,
    ),
    # exit
    case(
        "ALREADY_EXITED over NOT_INSIDE",
        family_adult_1_gone,
        nfc(X1, EXIT, ADULT_1),
        Code.DENY_ALREADY_EXITED,
    ),
    case(
        "NOT_INSIDE over CHILD_TEMP_EXIT",
        family_bound,
        nfc(X1, EXIT, CHILD_1, TEMPORARY),
        Code.DENY_NOT_INSIDE,
    ),
    case(
        "CHILD_TEMP_EXIT over GUARDIAN_PICKUP",
        solo_inside,
        nfc(X1, EXIT, CHILD_4, TEMPORARY),
        Code.DENY_CHILD_TEMP_EXIT,
    ),
    case(
        "CHILD_TEMP_EXIT over CHILD_NEEDS_ADULT",
        family_inside,
        nfc(X1, EXIT, CHILD_1, TEMPORARY),
        Code.DENY_CHILD_TEMP_EXIT,
    ),
    # binding
    case(
        "binding: REVOKED over UNKNOWN",
        lambda: Venue().revoke(UNKNOWN_TICKET),
        barcode(DESK, BIND, UNKNOWN_TICKET),
        Code.DENY_REVOKED,
    ),
    case(
        "binding: REVOKED over NOT_VALID_NOW",
        lambda: Venue().revoke(EXPIRED),
        barcode(DESK, BIND, EXPIRED),
        Code.DENY_REVOKED,
    ),
    case(
        "binding: REVOKED over BINDING (band already bound)",
        lambda: family_bound().bind(DUO).revoke(ADULT_1),
        nfc(DESK, BIND, ADULT_1),
        Code.DENY_REVOKED,
    ),
    case(
        "binding: NOT_VALID_NOW over BINDING (group full)",
        family_bound,
        barcode(DESK, BIND, FAMILY),
        Code.DENY_NOT_VALID_NOW,
        NEXT_MORNING,
    ),
]


@pytest.mark.parametrize("c", [c.param() for c in PRECEDENCE])
def test_the_earlier_denial_in_the_documented_order_wins(c: Case) -> None:
    _, d = c.run()
    assert d.code is c.code


# --- decide is pure -----------------------------------------------------------------------------


LATE = "T-LATE"  # a ticket sold late in the day, added to the allowlist by `busy_venue`


def busy_venue() -> Venue:
    """Open bindings, open pairing windows, an armed override and a flagged group at once."""
    v = family_with_adult_1_and_children_inside()
    v.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3, now=at(11))
    v.bind(SOLO, CHILD_4).admit(CHILD_4, now=at(11))
    v.step_out(ADULT_1, at(12))  # flags the family, opens an exit window at X1
    v.badge(X2, at(12))
    v.state.allowlist.tickets[LATE] = ticket(LATE, 1, 1)
    v.bind(LATE, now=at(12))  # a binding open at the desk
    assert v.state.groups[FAMILY].unaccompanied and v.state.pairings and v.state.overrides
    return v


PURE_SCANS = [
    pytest.param(barcode(DESK_2, BIND, LATE), Code.OK_BIND, id="ticket opens a binding"),
    pytest.param(nfc(DESK, BIND, ADULT_4), Code.OK_BIND, id="band takes a slot"),
    pytest.param(nfc(DESK, BIND, ADULT_3), Code.DENY_BINDING, id="band already bound"),
    pytest.param(nfc(X1, EXIT, CHILD_1), Code.OK_EXIT, id="child follows out"),
    pytest.param(nfc(E1, ENTRY, ADULT_1), Code.OK_REENTRY, id="re-entry clears the flag"),
    pytest.param(nfc(X2, EXIT, CHILD_4), Code.OK_OVERRIDE, id="override spent"),
    pytest.param(nfc(X1, EXIT, ADULT_3, TEMPORARY), Code.OK_TEMP_EXIT, id="temp exit flags"),
    pytest.param(badge(E2, ENTRY), Code.OK_STAFF, id="staff badge"),
    pytest.param(nfc(X1, EXIT, CHILD_3), Code.DENY_CHILD_NEEDS_ADULT, id="denial"),
]


@pytest.mark.parametrize(("scan", "code"), PURE_SCANS)
def test_decide_never_changes_the_state(scan: Scan, code: Code) -> None:
    v = busy_venue()
    snapshot = copy.deepcopy(v.state)
    now = at(12, 0, 30)
    decision, events = decide(v.state, scan, now, v.policy)
    assert decision.code is code
    assert bool(events) is decision.granted  # a grant's changes are events, not edits
    assert v.state == snapshot
    assert decide(v.state, scan, now, v.policy) == (decision, events)  # and the same answer again


# --- every reason code is reached -----------------------------------------------------------------


def test_every_reason_code_is_reached_by_these_scenarios() -> None:
    reached = {play()[1].code for play in GRANTS.values()}
    reached |= {c.run()[1].code for c in DENIALS}
    reached |= reached_here()  # vouchers, groups, joins: tests/test_rules_vouchers.py
    reached |= corrections_reached()  # the desk's corrections: tests/test_rules_corrections.py
    reached |= reached_by_guardians()  # walk-ins, pickups: tests/test_rules_guardians.py
    reached |= reached_by_pickup_tries()  # wrong codes: tests/test_rules_pickup_tries.py
    assert reached == set(Code)


# --- wristband tokens: a gate that has never seen the family --------------------------------------


def token_of(uid: str, group: str = FAMILY, valid_to: date = DAY) -> BandToken:
    role = Role.ADULT if uid.startswith("04A") else Role.CHILD
    if group == SOLO:
        return BandToken(SOLO, Role.SOLO_CHILD, DAY, valid_to, 0, 1)
    return BandToken(group, role, DAY, valid_to, 2, 2)


def tokened(gate: str, mode: Mode, uid: str, group: str = FAMILY, valid_to: date = DAY) -> Scan:
    return Scan(gate, mode, Kind.NFC, uid, token=token_of(uid, group, valid_to))


def test_an_exit_gate_that_never_saw_the_family_pairs_children_by_their_tokens() -> None:
    v = Venue()  # nothing bound here: the family was bound and let in elsewhere
    assert v.scan(tokened(X1, EXIT, CHILD_1), at(12)).code is Code.DENY_CHILD_NEEDS_ADULT
    assert v.scan(tokened(X1, EXIT, ADULT_1), at(12, 0, 5)).code is Code.OK_EXIT
    assert any(isinstance(e, BandLearned) for e in v.events)
    assert v.scan(tokened(X1, EXIT, CHILD_1), at(12, 0, 10)).code is Code.OK_EXIT
    assert v.state.members[CHILD_1].state is EXITED
    assert v.scan(tokened(X2, EXIT, CHILD_2), at(12, 0, 12)).code is Code.DENY_CHILD_NEEDS_ADULT


def test_a_solo_child_known_only_by_its_token_still_needs_a_guardian_pickup() -> None:
    v = Venue()
    assert v.scan(tokened(X1, EXIT, CHILD_4, SOLO), at(12)).code is Code.DENY_GUARDIAN_PICKUP


def test_an_entry_gate_judges_validity_from_the_token_when_the_ticket_is_not_listed() -> None:
    v = Venue()
    del v.state.allowlist.tickets[FAMILY]
    assert v.scan(tokened(E1, ENTRY, ADULT_1), at(10)).code is Code.OK_ENTRY
    late = tokened(E2, ENTRY, ADULT_2)
    assert v.scan(late, at(10, day=NEXT_DAY)).code is Code.DENY_NOT_VALID_NOW


def test_a_denied_token_scan_learns_nothing() -> None:
    v = Venue()
    v.scan(tokened(X1, EXIT, CHILD_1), at(12))
    assert CHILD_1 not in v.state.members


def test_a_bad_token_is_never_overridden() -> None:
    v = family_inside()
    v.badge(X1, at(12))
    bad = Scan(X1, EXIT, Kind.NFC, ADULT_1, token_fault="signature does not match")
    assert v.scan(bad, at(12, 0, 5)).code is Code.DENY_BAD_TOKEN
    assert X1 in v.state.overrides


def test_the_hub_keeps_what_it_knows_when_a_gate_learned_a_band_from_its_token() -> None:
    v = family_inside()
    learned = BandLearned(X1, at(12), ADULT_1, FAMILY, Role.ADULT, INSIDE, 2, 2)
    before = v.state.members[ADULT_1], v.state.groups[FAMILY], v.state.inside
    fold(v.state, learned)
    assert (v.state.members[ADULT_1], v.state.groups[FAMILY], v.state.inside) == before


def test_a_binding_folded_after_its_band_was_learned_from_the_token_leaves_what_it_did_since():
    # E2, cut off from the desk and its clock behind, let the band in from the token the desk
    # wrote: in hybrid-clock order its entry comes before the binding that came first
    v = Venue().bind(FAMILY, ADULT_1)
    fold(v.state, BandLearned(E2, at(12), ADULT_2, FAMILY, Role.ADULT, INSIDE, 2, 2))
    fold(v.state, MemberMoved(E2, at(12), ADULT_2, FAMILY, INSIDE, counter=1))
    group, inside = v.state.groups[FAMILY], v.state.inside
    fold(v.state, BandBound(DESK, at(12, 0, 1), ADULT_2, FAMILY, Role.ADULT))
    member = v.state.members[ADULT_2]
    assert (member.state, member.last_gate, member.counter) == (INSIDE, E2, 1)
    assert (v.state.groups[FAMILY], v.state.inside) == (group, inside)  # not counted twice
    assert v.state.groups[FAMILY].members.count(ADULT_2) == 1


def test_a_gate_closes_only_its_own_pairing_windows() -> None:
    v = family_inside()
    v.leave(ADULT_1, at(12), gate=X1)
    v.leave(ADULT_2, at(12), gate=X2)
    due = later(at(12), WINDOW_S + 1)
    closed = {e.gate for e in expire(v.state, due, v.policy, gate=X1)}
    assert closed == {X1}
    assert {e.gate for e in expire(v.state, due, v.policy)} == {X1, X2}


def test_a_gate_cut_off_from_the_others_lets_out_a_band_it_believes_outside() -> None:
    v = family_bound()  # this gate never heard that the family came in elsewhere
    offline = Scan(X1, EXIT, Kind.NFC, ADULT_1, offline=True)
    assert v.scan(offline, at(12)).code is Code.OK_EXIT
    assert v.scan(Scan(X1, EXIT, Kind.NFC, CHILD_1, offline=True), at(12, 0, 5)).code is (
        Code.OK_EXIT
    )
    online = Scan(X1, EXIT, Kind.NFC, ADULT_2)
    assert v.scan(online, at(12, 0, 6)).code is Code.DENY_NOT_INSIDE


def test_offline_or_not_a_returned_band_stays_returned() -> None:
    v = family_adult_1_gone()
    offline = Scan(X1, EXIT, Kind.NFC, ADULT_1, offline=True)
    assert v.scan(offline, at(14)).code is Code.DENY_ALREADY_EXITED
