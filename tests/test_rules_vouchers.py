"""The rules of re-entry without the band, school groups and joined families, as tables.

Vouchers reach the rules checked (`Scan.voucher`) or not (`Scan.voucher_fault`): the signature
is `gate.devices.voucher`'s (tests/test_voucher_codec.py). Here: what a gate decides of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from rules_helpers import (
    ADULT_1,
    ADULT_2,
    ADULT_3,
    CHILD_1,
    CHILD_2,
    CHILD_3,
    DAY,
    DESK,
    DUO,
    E1,
    E2,
    FAMILY,
    REFUNDED,
    T0,
    WINDOW_S,
    X1,
    X2,
    Venue,
    at,
    barcode,
    later,
    nfc,
)

from gate.core import (
    Code,
    Decision,
    GroupsJoined,
    Kind,
    MemberState,
    Mode,
    PairingExtended,
    Role,
    Scan,
    Ticket,
    Voucher,
    VoucherUsed,
    decide,
    fold,
    join,
)

ENTRY, EXIT = Mode.ENTRY, Mode.EXIT
SERIAL = "5EA1C0DE01"
CLASS = "T-CLASS"
TEACHERS = ("04A20001", "04A20002")
PUPILS = tuple(f"04C2{i:04X}" for i in range(30))


def voucher_scan(
    gate: str = E2,
    uid: str = ADULT_1,
    serial: str = SERIAL,
    expires_in_h: float = 2,
    offline: bool = False,
    mode: Mode = ENTRY,
) -> Scan:
    expires = T0 + timedelta(hours=expires_in_h)
    v = Voucher(serial, uid, expires)
    return Scan(gate, mode, Kind.BARCODE, f"WV1{serial}", voucher=v, offline=offline)


def forged_scan(reason: str = "signature does not match") -> Scan:
    return Scan(E2, ENTRY, Kind.BARCODE, "WV1FORGED", voucher_fault=reason)


def family_inside() -> Venue:
    v = Venue().bind(FAMILY, ADULT_1, ADULT_2, CHILD_1, CHILD_2)
    return v.admit(ADULT_1, ADULT_2, CHILD_1, CHILD_2, now=T0)


def stepped_out() -> Venue:
    """ADULT_1 left on a temporary exit at 10:05; ADULT_2 and the children stay."""
    v = family_inside()
    assert v.step_out(ADULT_1, at(10, 5)).code is Code.OK_TEMP_EXIT
    return v


def with_class(leaders: int = 2) -> Venue:
    """A school class: 2 teachers and 30 pupils bound to a group ticket (leaders = adults)."""
    v = Venue()
    v.state.allowlist.tickets[CLASS] = Ticket(CLASS, "school", 2, 30, DAY, DAY, leaders=leaders)
    v.state.allowlist.bands.update({t: Role.ADULT for t in TEACHERS})
    v.state.allowlist.bands.update({p: Role.CHILD for p in PUPILS})
    return v.bind(CLASS, *TEACHERS, *PUPILS)


# --- vouchers and the ticket's own code -----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    setup: Callable[[], Venue]
    scan: Scan
    code: Code
    when: float = 3600  # seconds after 10:00

    def run(self) -> tuple[Venue, Decision]:
        v = self.setup()
        return v, v.scan(self.scan, later(T0, self.when))


def others_gone() -> Venue:
    """ADULT_1 out on a temporary exit; ADULT_2 then left with the children."""
    return stepped_out().release(ADULT_2, CHILD_1, CHILD_2, now=at(10, 10))


def used_once() -> Venue:
    v = stepped_out()
    assert v.scan(voucher_scan(), at(10, 30)).code is Code.OK_REENTRY
    assert v.step_out(ADULT_1, at(10, 40)).code is Code.OK_TEMP_EXIT
    return v


CASES = [
    Case("voucher re-admits its member", stepped_out, voucher_scan(), Code.OK_REENTRY),
    Case("at another entry gate", stepped_out, voucher_scan(E1), Code.OK_REENTRY),
    Case("forged", stepped_out, forged_scan(), Code.DENY_VOUCHER_FORGED),
    Case("malformed", stepped_out, forged_scan("not base32"), Code.DENY_VOUCHER_FORGED),
    Case("expired", stepped_out, voucher_scan(expires_in_h=0.5), Code.DENY_VOUCHER_EXPIRED),
    Case("used before, out again", used_once, voucher_scan(), Code.DENY_VOUCHER_USED),
    Case("member still inside", family_inside, voucher_scan(), Code.DENY_ALREADY_INSIDE),
    Case(
        "offline: inside as far as this gate knows",
        family_inside,
        voucher_scan(offline=True),
        Code.OK_REENTRY,
    ),
    Case("band unknown here", Venue, voucher_scan(), Code.DENY_UNKNOWN),
    Case("at an exit gate", stepped_out, voucher_scan(X1, mode=EXIT), Code.DENY_UNKNOWN),
    Case(
        "after closing, its children inside: to collect",
        stepped_out,
        voucher_scan(expires_in_h=12),
        Code.OK_COLLECT,
        9 * 3600,
    ),
    Case(
        "after closing, no child inside",
        others_gone,
        voucher_scan(expires_in_h=12),
        Code.DENY_CLOSED,
        9 * 3600,
    ),
    Case("ticket re-admits its adult", stepped_out, barcode(E1, ENTRY, FAMILY), Code.OK_REENTRY),
    Case("ticket, nobody out", family_inside, barcode(E1, ENTRY, FAMILY), Code.DENY_UNKNOWN),
    Case("ticket at an exit", stepped_out, barcode(X1, EXIT, FAMILY), Code.DENY_UNKNOWN),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_reentry_without_the_band(case: Case) -> None:
    v, decision = case.run()
    assert decision.code is case.code, decision
    if decision.granted:
        assert decision.member == ADULT_1 and decision.value == case.scan.value
        assert v.state.members[ADULT_1].state is MemberState.INSIDE
        used = [e for e in v.events if isinstance(e, VoucherUsed)]
        assert len(used) == (case.scan.voucher is not None)
    else:
        assert v.events == [] or all(not isinstance(e, VoucherUsed) for e in v.events)


def test_a_voucher_used_at_one_gate_is_refused_at_every_gate_that_hears_of_it() -> None:
    here, there = stepped_out(), stepped_out()
    assert here.scan(voucher_scan(E1), at(10, 30)).code is Code.OK_REENTRY
    for event in here.events:  # what E1 publishes, E2 folds
        fold(there.state, event)
    assert there.step_out(ADULT_1, at(10, 40)).code is Code.OK_TEMP_EXIT
    refused = there.scan(voucher_scan(E2), at(10, 50))
    assert refused.code is Code.DENY_VOUCHER_USED and "E1" in refused.message


def test_voucher_denials_are_never_overridden() -> None:
    v = used_once()
    assert v.badge(E2, at(10, 50), ENTRY).code is Code.OK_STAFF
    assert v.scan(voucher_scan(), at(10, 50, 5)).code is Code.DENY_VOUCHER_USED
    assert v.scan(forged_scan(), at(10, 50, 6)).code is Code.DENY_VOUCHER_FORGED


def test_the_ticket_re_admits_only_an_adult_out_on_a_temporary_exit() -> None:
    v = stepped_out()
    assert v.step_out(ADULT_2, at(10, 6)).code is Code.OK_TEMP_EXIT
    first = v.scan(barcode(E1, ENTRY, FAMILY), at(10, 30))
    second = v.scan(barcode(E1, ENTRY, FAMILY), at(10, 31))
    third = v.scan(barcode(E1, ENTRY, FAMILY), at(10, 32))
    assert (first.member, second.member) == (ADULT_1, ADULT_2)
    assert third.code is Code.DENY_UNKNOWN


def test_a_revoked_ticket_re_admits_nobody() -> None:
    v = stepped_out().revoke(FAMILY)
    assert v.scan(voucher_scan(), at(10, 30)).code is Code.DENY_REVOKED
    assert v.scan(barcode(E1, ENTRY, FAMILY), at(10, 30)).code is Code.DENY_REVOKED
    assert REFUNDED in v.state.allowlist.revoked


# --- school groups --------------------------------------------------------------------------------


def test_a_class_of_30_leaves_through_one_lane_behind_its_teachers() -> None:
    v = with_class().admit(*TEACHERS, *PUPILS, now=T0)
    t = at(15)
    v.release(TEACHERS[0], now=t)
    for pupil in PUPILS:  # 5 s apart: 150 s in all, over twice the window
        t = later(t, 5)
        decision = v.leave(pupil, t)
        assert decision.code is Code.OK_EXIT, (pupil, decision)
        assert any(isinstance(e, PairingExtended) for e in v.events)
    v.release(TEACHERS[1], now=later(t, 5))
    assert v.state.inside == 0


def test_a_family_ticket_window_is_not_extended() -> None:
    v = family_inside()
    v.release(ADULT_1, ADULT_2, now=at(15))
    assert v.leave(CHILD_1, at(15, 0, 50)).code is Code.OK_EXIT
    assert v.leave(CHILD_2, later(at(15), WINDOW_S + 5)).code is Code.DENY_CHILD_NEEDS_ADULT


def test_a_leader_reopens_the_window_at_the_exit_when_already_out() -> None:
    v = with_class().admit(*TEACHERS, *PUPILS, now=T0)
    v.release(*TEACHERS, now=at(15))
    v.release(*PUPILS[:10], now=at(15, 0, 10))
    late = at(15, 5)  # the window closed: the teachers were recalled, the class flagged
    assert v.leave(PUPILS[10], late).code is Code.DENY_CHILD_NEEDS_ADULT
    assert v.state.members[TEACHERS[0]].state is MemberState.TEMP_OUT
    reopened = v.leave(TEACHERS[0], late)
    assert reopened.code is Code.OK_GROUP_WINDOW
    assert v.state.members[TEACHERS[0]].state is MemberState.TEMP_OUT  # nobody moved
    v.release(*PUPILS[10:], now=later(late, 1))
    assert not v.state.child_inside(CLASS)


def test_a_leader_inside_reopens_the_entry_window() -> None:
    v = with_class()
    v.admit(TEACHERS[0], now=T0)
    assert v.enter(TEACHERS[0], at(10, 10)).code is Code.OK_GROUP_WINDOW
    assert (E1, CLASS, ENTRY) in v.state.pairings


def test_a_family_adult_inside_is_still_refused_a_second_entry() -> None:
    v = family_inside()
    assert v.enter(ADULT_1, at(10, 10)).code is Code.DENY_ALREADY_INSIDE


def test_a_revoked_class_reopens_nothing() -> None:
    v = with_class().admit(*TEACHERS, now=T0).revoke(CLASS)
    assert v.enter(TEACHERS[0], at(10, 10)).code is Code.DENY_REVOKED


# --- two tickets joined into one family -----------------------------------------------------------


def joined() -> Venue:
    v = family_inside().bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3, now=T0)
    decision, events = join(v.state, DESK, FAMILY, DUO, at(10, 1), v.policy)
    assert decision.code is Code.OK_JOIN and events == [GroupsJoined(DESK, at(10, 1), FAMILY, DUO)]
    for event in events:
        fold(v.state, event)
    return v


def test_either_familys_adult_takes_either_familys_children() -> None:
    v = joined()
    v.release(ADULT_3, now=at(16))
    assert v.leave(CHILD_1, at(16, 0, 5)).code is Code.OK_EXIT
    assert v.leave(CHILD_2, at(16, 0, 6)).code is Code.OK_EXIT
    assert v.leave(CHILD_3, at(16, 0, 7)).code is Code.OK_EXIT


def test_unjoined_families_do_not_take_each_others_children() -> None:
    v = family_inside().bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3, now=T0)
    v.release(ADULT_3, now=at(16))
    assert v.leave(CHILD_1, at(16, 0, 5)).code is Code.DENY_CHILD_NEEDS_ADULT


def test_an_adult_leaving_the_joined_children_with_the_others_flags_nothing() -> None:
    v = joined()
    v.release(ADULT_3, now=at(16))  # CHILD_3 stays with the other family's adults
    v.scan(nfc(X2, EXIT, ADULT_1), later(at(16), WINDOW_S + 1))  # closes X1's window
    assert not v.state.groups[DUO].unaccompanied


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        (FAMILY, DUO, Code.OK_JOIN),
        (FAMILY, FAMILY, Code.DENY_BINDING),
        (FAMILY, "T-NOBODY", Code.DENY_UNKNOWN),
        (FAMILY, REFUNDED, Code.DENY_REVOKED),
        (FAMILY, "T-EXPIRED", Code.DENY_NOT_VALID_NOW),
    ],
)
def test_joining_at_the_desk(first: str, second: str, code: Code) -> None:
    v = family_inside()
    decision, events = join(v.state, DESK, first, second, at(10, 1), v.policy)
    assert decision.code is code
    assert bool(events) is decision.granted


def test_joining_twice_is_refused_and_the_family_is_transitive() -> None:
    v = joined()
    again, _ = join(v.state, DESK, DUO, FAMILY, at(10, 2), v.policy)
    assert again.code is Code.DENY_BINDING
    assert v.state.family(DUO) == {FAMILY, DUO}


def reached_here() -> set[Code]:
    """The codes these tables reach (the rules' own every-code test adds them)."""
    codes = {c.run()[1].code for c in CASES}
    v = with_class().admit(*TEACHERS, now=T0)
    codes.add(v.enter(TEACHERS[0], at(10, 10)).code)
    codes.add(join(family_inside().state, DESK, FAMILY, DUO, T0, Venue().policy)[0].code)
    return codes


def test_these_tables_reach_their_codes() -> None:
    mine = {
        Code.OK_GROUP_WINDOW,
        Code.OK_JOIN,
        Code.DENY_VOUCHER_FORGED,
        Code.DENY_VOUCHER_EXPIRED,
        Code.DENY_VOUCHER_USED,
    }
    assert mine <= reached_here()


def test_decide_on_a_voucher_is_pure() -> None:
    v = stepped_out()
    scan = voucher_scan()
    assert decide(v.state, scan, at(10, 30), v.policy) == decide(
        v.state, scan, at(10, 30), v.policy
    )
    assert date(2026, 7, 1) == DAY and ADULT_2 and CHILD_2 and CHILD_3 and X2


def test_a_joined_familys_adult_leaving_is_told_of_every_child_of_the_family_inside() -> None:
    v = joined()
    left = v.leave(ADULT_3, at(16))
    assert left.code is Code.OK_EXIT
    assert "3 child(ren)" in left.message, left.message  # CHILD_3 and the other ticket's two
