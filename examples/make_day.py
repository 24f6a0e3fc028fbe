#!/usr/bin/env python3
"""One Saturday at a children's city, as gate scans, with the decisions the venue expects.

    python examples/make_day.py [--out DIR]      # default: examples/children-city/

writes the allowlist (`tickets.csv`, `wristbands.csv`, `staff.csv`, `revoked.csv`), the venue
policy (`policy.toml`), the day's scans (`scans.jsonl`, design.md §8) and what the rules must
answer: `expected-codes.txt` (one reason code per scan line, in order) and `expected-summary.json`
(the headcount as of the last scan).

The expectations come from the story, never from the gate code. Every visitor's day is scripted
(a child who reaches the exit before its parent is refused, then passes behind the parent) and the
code of each scan is what the venue's rules (design.md §2-§4) give for that moment of the story;
the closing headcount is counted from the same script. So `gate simulate` and this file are two
independent readings of the rules, and a disagreement between them is a bug in one of the two.

Deterministic: one seeded `random.Random`, the standard library only, the same bytes every run.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

SEED = 20260718
DAY = date(2026, 7, 18)  # a Saturday
YESTERDAY = DAY - timedelta(days=1)
TZ = timezone(timedelta(hours=8))  # Asia/Shanghai has no daylight saving time
OPEN, CLOSE = time(9, 30), time(18, 0)
SESSIONS = {"AM": "09:30-12:30", "PM": "13:30-18:00"}  # 场次: tickets of one session
DESK_OPENS = time(9, 0)
CAPACITY = 1500
WINDOW = timedelta(seconds=60)  # pairing_window_s
OUT = Path(__file__).resolve().parent / "children-city"

ENTRIES, EXITS = ("E1", "E2"), ("X1", "X2")
DESK = "D1"
STAFF = {  # badge uid -> name; the exit supervisors verify guardian pickups at their gate
    "5A1C33E0": "Zhao Min (exit X1)",
    "5A1C3471": "Sun Hao (exit X2)",
    "5A1C35B2": "Chen Jing (desk D1)",
    "5A1C36F4": "Liu Yang (duty manager)",
}
SUPERVISOR = {"X1": "5A1C33E0", "X2": "5A1C3471"}

FAMILIES = 290  # family tickets bound today, besides the children who come alone
SOLOS = 10
NO_SHOWS = 12
TOMORROW_TICKETS = 8

# The stories, each lived by its own family (a family lives at most one).
TEMP_EXITS_TWO_ADULTS = 12  # one parent pops out (car, smoke, lunch) while the other stays
TEMP_EXITS_ONE_ADULT = 3  # the only adult pops out: the children are flagged until they return
PARENT_LEAVES_EARLY = 2  # one of two parents goes home early, the other leaves with the children
CHILD_BEFORE_ADULT = 2  # a child runs to the exit first, is refused, then follows its parent
STILL_INSIDE = 3  # still playing when the day's scans end
VOUCHER_REENTRIES = 2  # the only adult of two adults out pops out with a digital voucher
TICKET_REENTRIES = 1  # an adult pops out and comes back by the ticket's own code
CLASS_CHILDREN, CLASS_TEACHERS = 30, 2  # a school class on one group ticket (团体接待)


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime.combine(DAY, time(hh, mm, ss), TZ)


def s(seconds: float) -> timedelta:
    return timedelta(seconds=round(seconds))


def m(minutes: float) -> timedelta:
    return timedelta(seconds=round(minutes * 60))


@dataclass
class Person:
    uid: str
    role: str  # adult | child | solo_child: who the visitor is in the story
    stocked: bool  # listed in wristbands.csv (else its role is set by the binding step)


@dataclass
class Family:
    ticket: str
    product: str
    adults: list[Person]
    children: list[Person]
    arrival: datetime
    phone: str = ""
    valid: tuple[date, date] = (DAY, DAY)
    story: str = "plain"
    bound_at: datetime | None = None
    entry_at: datetime | None = None
    exit_at: datetime | None = None  # None: still inside when the scans end
    session: str = ""  # a ticket of one session (SESSIONS), else of the whole day

    @property
    def people(self) -> list[Person]:
        return self.adults + self.children


@dataclass(frozen=True)
class Step:
    """One scan the story scripts (or a fact with no scan), what the rules answer, what changes."""

    t: datetime
    seq: int
    code: str
    scan: dict[str, str] | None  # None: a fact of the story with no scan line (a window closing)
    moves: tuple[tuple[str, str], ...] = ()  # (band uid, state it is in afterwards)
    flag: str | None = None  # group whose children the story now leaves with no adult inside
    unflag: str | None = None  # group whose adult is back with the children


class Script:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.steps: list[Step] = []
        self.reserved: dict[str, list[tuple[datetime, datetime]]] = {g: [] for g in EXITS}

    def scan(
        self,
        t: datetime,
        gate: str,
        mode: str,
        kind: str,
        value: str,
        code: str,
        intent: str | None = None,
        moves: Iterable[tuple[str, str]] = (),
        flag: str | None = None,
        unflag: str | None = None,
    ) -> datetime:
        line = {"t": t.isoformat(), "gate": gate, "mode": mode, "kind": kind, "value": value}
        if intent is not None:
            line["intent"] = intent
        step = Step(t, len(self.steps), code, line, tuple(moves), flag, unflag)
        self.steps.append(step)
        return t

    def fact(self, t: datetime, moves: Iterable[tuple[str, str]], flag: str | None = None) -> None:
        self.steps.append(Step(t, len(self.steps), "", None, tuple(moves), flag))

    def through(
        self,
        t: datetime,
        gate: str,
        mode: str,
        people: Sequence[Person],
        code: str,
        state: str,
    ) -> datetime:
        """People of one group through a gate one after the other, a few seconds apart."""
        for i, p in enumerate(people):
            if i:
                t += s(self.rng.randint(2, 6))
            self.scan(t, gate, mode, "nfc", p.uid, code, moves=[(p.uid, state)])
        return t

    def reserve(self, gate: str, start: datetime, end: datetime) -> bool:
        """Keep an exit gate's scripted refusals and overrides a window apart from each other:
        a staff badge overrides the next refusal at its gate, which must be the one meant."""
        lo, hi = start - WINDOW - s(30), end + WINDOW + s(30)
        if any(a <= hi and lo <= b for a, b in self.reserved[gate]):
            return False
        self.reserved[gate].append((start, end))
        return True


class Factory:
    """Unique identifiers: band UIDs (7-byte NTAG, upper-case hex), ticket codes, phones."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.uids: set[str] = set()
        self.serial = 0

    def uid(self) -> str:
        while True:
            uid = f"04{self.rng.getrandbits(48):012X}"
            if uid not in self.uids:
                self.uids.add(uid)
                return uid

    def ticket(self, day: date = DAY) -> str:
        self.serial += self.rng.randint(1, 3)  # the gaps are tickets of the other channels
        return f"T{day:%y%m%d}{self.serial:04d}"

    def phone(self) -> str:
        return "1" + self.rng.choice("3589") + "".join(self.rng.choices("0123456789", k=9))

    def person(self, role: str, stocked_share: float = 1.0) -> Person:
        return Person(self.uid(), role, self.rng.random() < stocked_share)


def arrival_time(rng: random.Random) -> datetime:
    """Families come in the morning, a few after lunch."""
    r = rng.random()
    if r < 0.12:
        return at(9, 0) + s(rng.uniform(0, 1800))
    if r < 0.67:
        return at(9, 30) + s(rng.triangular(0, 7200, 1800))
    if r < 0.92:
        return at(11, 30) + s(rng.uniform(0, 7200))
    return at(13, 30) + s(rng.uniform(0, 7200))


def make_family(f: Factory, rng: random.Random) -> Family:
    annual = rng.random() < 0.08
    adults = [f.person("adult") for _ in range(2 if rng.random() < 0.55 else 1)]
    children = [f.person("child") for _ in range(rng.choices((1, 2, 3), (50, 38, 12))[0])]
    if annual:
        code, product = f"YP2026{rng.randint(10000, 99999)}", "annual-family"
        valid = (date(2026, 1, 1), date(2026, 12, 31))
    else:
        code, product, valid = f.ticket(), "day-family", (DAY, DAY)
    return Family(code, product, adults, children, arrival_time(rng), valid=valid)


def build(rng: random.Random) -> tuple[dict[str, list[list[str]]], Script, list[Family]]:
    f = Factory(rng)
    script = Script(rng)
    families = [make_family(f, rng) for _ in range(FAMILIES)]
    families.sort(key=lambda fam: fam.arrival)
    solos = []
    for _ in range(SOLOS):
        solo = Family(
            f.ticket(),
            "day-child-alone",
            [],
            [f.person("solo_child")],
            at(9, 40) + s(rng.uniform(0, 2.8 * 3600)),
            phone=f.phone(),
            story="solo",
        )
        solos.append(solo)
    extra_tickets: list[list[str]] = []
    extra_bands: list[Person] = []
    revoked: list[list[str]] = []

    def pick(pred: Callable[[Family], bool], count: int = 1) -> list[Family]:
        fits = [fam for fam in families if fam.story == "plain" and pred(fam)]
        assert len(fits) >= count, f"only {len(fits)} families fit, {count} wanted"
        return rng.sample(fits, count)

    # --- stories at the desk -------------------------------------------------------------------
    early = families[0]  # first at the desk: tries the gate a few seconds before opening
    early.story = "early"
    (yesterday,) = pick(lambda x: at(10, 0) <= x.arrival <= at(10, 30) and len(x.adults) == 2)
    yesterday.story = "yesterday"
    old_ticket = f.ticket(YESTERDAY)
    n_adults, n_children = len(yesterday.adults), len(yesterday.children)
    extra_tickets.append(ticket_row(old_ticket, "day-family", n_adults, n_children, YESTERDAY))
    (lost_band_family,) = pick(lambda x: at(10, 30) <= x.arrival <= at(11, 0))
    lost_band_family.story = "lost-band"
    lost = Person(f.uid(), "child", True)
    extra_bands.append(lost)
    revoked.append([lost.uid, "band reported lost 2026-07-17"])
    (wrong_role,) = pick(lambda x: at(9, 40) <= x.arrival <= at(10, 0))
    wrong_role.story = "wrong-role"
    stray = Person(f.uid(), "adult", True)
    extra_bands.append(stray)
    (at_gate_first,) = pick(lambda x: at(10, 40) <= x.arrival <= at(11, 10))
    at_gate_first.story = "ticket-at-gate"
    refunded = f.ticket()  # refunded online, the family came anyway
    extra_tickets.append(ticket_row(refunded, "day-family", 2, 1, DAY))
    revoked.append([refunded, "refunded 2026-07-16"])
    late = Family(
        f.ticket(), "day-family", [f.person("adult")], [f.person("child")], at(17, 56, 31)
    )
    late.story = "late"  # bound just before closing, at the gate just after
    for _ in range(2):
        lost_earlier = f.uid()
        revoked.append([lost_earlier, "band reported lost 2026-07-11"])

    school = school_class(f, rng)  # a school class, bound at the desk like a family

    # --- the desk: one queue, first come first served ------------------------------------------
    queue: list[tuple[datetime, int, str, Family | None]] = []
    for i, group in enumerate([*families, *solos, late, school]):
        job = "old-ticket" if group is yesterday else "bind"
        heapq.heappush(queue, (group.arrival, i, job, group))
    heapq.heappush(queue, (at(11, 21, 40), len(queue), "refunded", None))
    free = at(DESK_OPENS.hour, DESK_OPENS.minute)
    while queue:
        arrival, i, job, next_up = heapq.heappop(queue)
        t = max(arrival, free)
        if next_up is None:
            script.scan(t, DESK, "bind", "barcode", refunded, "DENY_REVOKED")
        elif job == "old-ticket":
            script.scan(t, DESK, "bind", "barcode", old_ticket, "DENY_NOT_VALID_NOW")
            # to the ticket office, a new ticket for today, back in the queue
            next_up.ticket = f.ticket()
            heapq.heappush(queue, (t + m(rng.uniform(6, 9)), i, "bind", next_up))
        else:
            t = bind(script, t, next_up, lost if next_up is lost_band_family else None, stray)
            next_up.bound_at = t
        free = t + s(rng.randint(4, 12))

    # --- entry ----------------------------------------------------------------------------------
    opening = at(OPEN.hour, OPEN.minute)
    for fam in [*families, *solos]:
        assert fam.bound_at is not None
        e = fam.bound_at + s(rng.randint(25, 150))
        if e < opening:
            e = opening + s(rng.randint(3, 720))  # the crowd waiting at the gates at opening
        fam.entry_at = e
    early.entry_at = opening + s(rng.randint(2, 6))
    assert late.bound_at is not None and late.bound_at < at(17, 58)
    late.entry_at = at(18, 0, 14)

    # --- how long they stay ---------------------------------------------------------------------
    for fam in families:
        assert fam.entry_at is not None
        hours = min(max(rng.gauss(4.1, 1.2), 1.3), 8.0)
        x = fam.entry_at + m(hours * 60)
        if x > at(18, 2):
            x = at(17, 38) + s(rng.uniform(0, 24 * 60))  # the closing sweep
        fam.exit_at = x
    for solo in solos:
        assert solo.entry_at is not None
        solo.exit_at = min(solo.entry_at + m(rng.uniform(120, 330)), at(17, 40))

    # --- stories inside -------------------------------------------------------------------------
    def stay(x: Family) -> timedelta:
        assert x.entry_at is not None and x.exit_at is not None
        return x.exit_at - x.entry_at

    def enters(x: Family) -> datetime:
        assert x.entry_at is not None
        return x.entry_at

    def leaves(x: Family) -> datetime:
        assert x.exit_at is not None
        return x.exit_at

    for fam in pick(lambda x: leaves(x) >= at(17, 40), STILL_INSIDE):
        fam.story, fam.exit_at = "still-inside", None
    (flagged_at_close,) = pick(
        lambda x: enters(x) >= at(11, 30) and len(x.adults) == 1 and len(x.children) >= 2
    )
    flagged_at_close.story = "flagged-at-close"
    (last,) = pick(lambda x: leaves(x) >= at(17, 45))
    last.story, last.exit_at = "last-out", at(18, 4, 20)
    (leaves_first,) = pick(
        lambda x: len(x.adults) == 1 and enters(x) < at(11, 30) and stay(x) >= timedelta(hours=4)
    )
    leaves_first.story = "adult-leaves-first"
    for fam in pick(
        lambda x: len(x.adults) == 2 and stay(x) >= timedelta(hours=3), PARENT_LEAVES_EARLY
    ):
        fam.story = "parent-leaves-early"
    long_stay = timedelta(hours=2, minutes=30)
    for fam in pick(
        lambda x: len(x.adults) == 2 and stay(x) >= long_stay and leaves(x) <= at(17, 50),
        TEMP_EXITS_TWO_ADULTS,
    ):
        fam.story = "temp-exit"
    for fam in pick(
        lambda x: len(x.adults) == 1 and stay(x) >= long_stay and leaves(x) <= at(17, 50),
        TEMP_EXITS_ONE_ADULT,
    ):
        fam.story = "temp-exit-alone"
    (passback,) = pick(lambda x: enters(x) < at(11, 0) and leaves(x) > at(13, 0))
    passback.story = "passback"
    (child_temp,) = pick(lambda x: stay(x) >= long_stay and enters(x) < at(13, 0))
    child_temp.story = "child-temp-exit"
    for fam in pick(lambda x: leaves(x) < at(17, 30), CHILD_BEFORE_ADULT):
        fam.story = "child-before-adult"

    # --- vouchers and a school class (their own stories) -----------------------------------------
    picked = pick(
        lambda x: len(x.adults) == 2 and stay(x) >= long_stay and leaves(x) <= at(17, 30),
        VOUCHER_REENTRIES + TICKET_REENTRIES,
    )
    for fam in picked:
        fam.story = "voucher"
    for fam in picked[VOUCHER_REENTRIES:]:
        fam.story = "ticket-reentry"  # comes back by the ticket's own code instead

    # --- scripting the passages -----------------------------------------------------------------
    solos[0].story = "solo-tries-alone"  # tries the exit alone before the guardian is met
    foreign = f"{rng.getrandbits(32):08X}"  # a metro card, 4-byte UID
    script.scan(at(10, 47, 13), "E1", "entry", "nfc", foreign, "DENY_UNKNOWN")
    for fam in [*families, *solos, late]:
        passages(script, fam)
    sessions = sessions_and_collection(script)
    school_day(script, school)

    groups = [*families, *solos, late, school, *sessions]
    tables = {
        "tickets": with_leaders(ticket_rows(groups, extra_tickets, f, rng), school),
        "wristbands": band_rows(groups, extra_bands, f, rng),
        "staff": [["uid", "name"], *([uid, name] for uid, name in STAFF.items())],
        "revoked": [["value", "reason"], *sorted(revoked)],
    }
    return tables, script, groups


def bind(script: Script, t: datetime, fam: Family, lost: Person | None, stray: Person) -> datetime:
    """The desk binds a family: ticket, then the adults' bands, then the children's."""
    rng = script.rng
    script.scan(t, DESK, "bind", "barcode", fam.ticket, "OK_BIND")
    for p in fam.adults:
        t += s(rng.randint(3, 7))
        script.scan(t, DESK, "bind", "nfc", p.uid, "OK_BIND", moves=[(p.uid, "bound")])
    if fam.story == "wrong-role":  # an adult band from the wrong pile: every adult slot is bound
        t += s(rng.randint(3, 7))
        script.scan(t, DESK, "bind", "nfc", stray.uid, "DENY_BINDING")
    if lost is not None:  # a band reported lost yesterday turned up in the child pile
        t += s(rng.randint(3, 7))
        script.scan(t, DESK, "bind", "nfc", lost.uid, "DENY_REVOKED")
    for p in fam.children:
        t += s(rng.randint(3, 7))
        script.scan(t, DESK, "bind", "nfc", p.uid, "OK_BIND", moves=[(p.uid, "bound")])
    return t


def passages(script: Script, fam: Family) -> None:
    """Script one group's day at the gates, from entry to exit, as its story says."""
    rng = script.rng
    e, x = fam.entry_at, fam.exit_at
    assert e is not None
    g_in = rng.choice(ENTRIES)
    g_out = rng.choice(EXITS)
    story = fam.story
    group = fam.ticket

    # entry: adults first, the children behind them
    if story == "late":
        script.scan(e, g_in, "entry", "nfc", fam.adults[0].uid, "DENY_CLOSED")
        script.scan(e + s(4), g_in, "entry", "nfc", fam.children[0].uid, "DENY_CLOSED")
        return
    if story == "early":
        script.scan(
            e - s(rng.randint(14, 20)), g_in, "entry", "nfc", fam.adults[0].uid, "DENY_CLOSED"
        )
    if story == "ticket-at-gate":  # shows the ticket at the gate before going to the desk
        script.scan(
            fam.arrival - s(rng.randint(60, 120)), g_in, "entry", "barcode", group, "DENY_UNKNOWN"
        )
    t = script.through(e, g_in, "entry", fam.adults, "OK_ENTRY", "inside")
    if fam.adults:
        t += s(rng.randint(2, 6))
    script.through(t, g_in, "entry", fam.children, "OK_ENTRY", "inside")

    if story in ("solo", "solo-tries-alone"):
        solo_exit(script, fam)
        return
    if story == "still-inside":
        return
    if story == "flagged-at-close":  # the only adult goes to fetch the car and is not back
        tau = at(17, 38) + s(rng.randint(0, 420))
        a = fam.adults[0]
        script.scan(
            tau,
            g_out,
            "exit",
            "nfc",
            a.uid,
            "OK_TEMP_EXIT",
            "temporary",
            [(a.uid, "temp_out")],
            flag=group,
        )
        return
    assert x is not None
    people_out = list(fam.adults)

    if story in ("voucher", "ticket-reentry"):
        reentry_without_the_band(script, fam, e, x)
    elif story in ("temp-exit", "temp-exit-alone"):
        a = rng.choice(fam.adults)
        alone = story == "temp-exit-alone"
        tau = e + m(rng.uniform(40, (x - e).total_seconds() / 60 - 80))
        back = min(tau + m(rng.uniform(10, 40)), x - m(15))
        assert back > tau + m(5) and back < at(17, 55)
        script.scan(
            tau,
            rng.choice(EXITS),
            "exit",
            "nfc",
            a.uid,
            "OK_TEMP_EXIT",
            "temporary",
            [(a.uid, "temp_out")],
            flag=group if alone else None,
        )
        script.scan(
            back,
            rng.choice(ENTRIES),
            "entry",
            "nfc",
            a.uid,
            "OK_REENTRY",
            moves=[(a.uid, "inside")],
            unflag=group if alone else None,
        )
    elif story == "parent-leaves-early":
        a = fam.adults[1]
        gone = e + m(rng.uniform(60, (x - e).total_seconds() / 60 - 45))
        script.scan(
            gone, rng.choice(EXITS), "exit", "nfc", a.uid, "OK_EXIT", moves=[(a.uid, "exited")]
        )
        people_out = [fam.adults[0]]
    elif story == "adult-leaves-first":
        # the adult walks out, the children stay at a workshop: when the window closes the
        # adult is counted out temporarily and the children flagged, until the adult is back
        a = fam.adults[0]
        gone = e + m(rng.uniform(60, 100))
        script.scan(gone, g_out, "exit", "nfc", a.uid, "OK_EXIT", moves=[(a.uid, "exited")])
        script.fact(gone + WINDOW, [(a.uid, "temp_out")], flag=group)
        back = gone + m(rng.uniform(40, 75))
        assert back < x - m(20) and back < at(17, 50)
        script.scan(
            back,
            rng.choice(ENTRIES),
            "entry",
            "nfc",
            a.uid,
            "OK_REENTRY",
            moves=[(a.uid, "inside")],
            unflag=group,
        )
    elif story == "passback":  # an adult's band handed over the fence to a friend outside
        a = fam.adults[0]
        p = e + m(rng.uniform(30, 90))
        assert p < x - m(30)
        other = ENTRIES[1 - ENTRIES.index(g_in)]
        script.scan(p, other, "entry", "nfc", a.uid, "DENY_ALREADY_INSIDE")
    elif story == "child-temp-exit":  # wants to buy an ice cream outside and come back
        c = fam.children[0]
        q = e + m(rng.uniform(45, 100))
        while True:
            gate = rng.choice(EXITS)
            if script.reserve(gate, q, q):
                break
            q += s(97)
        assert q < x - m(30)
        script.scan(q, gate, "exit", "nfc", c.uid, "DENY_CHILD_TEMP_EXIT", "temporary")
    elif story == "child-before-adult":
        c = fam.children[0]
        while not script.reserve(g_out, x - s(9), x):
            x += s(97)
        script.scan(x - s(rng.randint(5, 9)), g_out, "exit", "nfc", c.uid, "DENY_CHILD_NEEDS_ADULT")

    t = script.through(x, g_out, "exit", people_out, "OK_EXIT", "exited")
    t += s(rng.randint(2, 6))
    script.through(t, g_out, "exit", fam.children, "OK_EXIT", "exited")


# --- vouchers and school groups ---------------------------------------------------------------


def voucher_line(script: Script, uid: str, until: datetime) -> tuple[str, dict[str, str]]:
    """A voucher as the exit lane prints it, and what an entry gate's check reads from it."""
    rng = script.rng
    code = "WV1" + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=45))
    serial = f"{rng.getrandbits(40):010X}"
    return code, {"serial": serial, "uid": uid, "expires": until.isoformat()}


def reentry_without_the_band(script: Script, fam: Family, e: datetime, x: datetime) -> None:
    """One of two adults pops out (lunch, the car) with a digital voucher and comes back by it;
    a friend outside tries the same voucher later and is refused, and so is a bad photocopy.
    Or (story `ticket-reentry`) the adult comes back showing the family's ticket."""
    rng = script.rng
    a = fam.adults[0]
    tau = e + m(rng.uniform(40, (x - e).total_seconds() / 60 - 90))
    back = tau + m(rng.uniform(15, 35))
    assert back < x - m(30)
    gate_out, gate_in = rng.choice(EXITS), rng.choice(ENTRIES)
    script.scan(
        tau, gate_out, "exit", "nfc", a.uid, "OK_TEMP_EXIT", "temporary", [(a.uid, "temp_out")]
    )
    if fam.story == "ticket-reentry":
        script.scan(back, gate_in, "entry", "barcode", fam.ticket, "OK_REENTRY")
        script.steps[-1] = replace_moves(script.steps[-1], [(a.uid, "inside")])
        return
    code, read = voucher_line(script, a.uid, tau + m(120))
    script.scan(back, gate_in, "entry", "barcode", code, "OK_REENTRY", moves=[(a.uid, "inside")])
    script.steps[-1].scan["voucher"] = read  # type: ignore[index]
    other = ENTRIES[1 - ENTRIES.index(gate_in)]
    script.scan(back + m(rng.uniform(5, 15)), other, "entry", "barcode", code, "DENY_VOUCHER_USED")
    script.steps[-1].scan["voucher"] = read  # type: ignore[index]
    smudged = code[:-4] + "Q2Q2"  # a photocopy with a smudge: its signature fails
    script.scan(back + m(20), other, "entry", "barcode", smudged, "DENY_VOUCHER_FORGED")
    script.steps[-1].scan["voucher_fault"] = "signature does not match"  # type: ignore[index]


def replace_moves(step: Step, moves: list[tuple[str, str]]) -> Step:
    return Step(step.t, step.seq, step.code, step.scan, tuple(moves), step.flag, step.unflag)


def school_class(f: Factory, rng: random.Random) -> Family:
    """Class 3A of a primary school: two teachers lead 30 children on one group ticket."""
    teachers = [f.person("adult") for _ in range(CLASS_TEACHERS)]
    children = [f.person("child") for _ in range(CLASS_CHILDREN)]
    arrival = at(9, 50) + s(rng.uniform(0, 300))
    return Family(f"G{DAY:%y%m%d}3A", "school-group", teachers, children, arrival, story="school")


def school_day(script: Script, school: Family) -> None:
    """In behind the teachers; out at 14:30 behind them, one child every few seconds, far past
    one pairing window; the line stops while a child is in the toilet, the window closes (the
    teachers are counted out for a while, the class flagged), the next child is refused and a
    teacher scans again to reopen the lane."""
    rng = script.rng
    assert school.bound_at is not None
    e = max(school.bound_at + s(60), at(OPEN.hour, OPEN.minute) + s(30))
    t = script.through(e, "E2", "entry", school.adults, "OK_ENTRY", "inside")
    script.through(t + s(3), "E2", "entry", school.children, "OK_ENTRY", "inside")
    x, gate = at(14, 30), "X2"
    while not script.reserve(gate, x, x + m(6)):
        x += s(97)
    t = script.through(x, gate, "exit", school.adults, "OK_EXIT", "exited")
    first, rest = school.children[:20], school.children[20:]
    t = script.through(t + s(3), gate, "exit", first, "OK_EXIT", "exited")
    closes = t + WINDOW  # the last child through ran the window on until here
    teachers = [(a.uid, "temp_out") for a in school.adults]
    script.fact(closes, teachers, flag=school.ticket)
    t = closes + s(rng.randint(20, 30))
    script.scan(t, gate, "exit", "nfc", rest[0].uid, "DENY_CHILD_NEEDS_ADULT")
    t += s(rng.randint(3, 6))
    lead = school.adults[0].uid
    script.scan(t, gate, "exit", "nfc", lead, "OK_GROUP_WINDOW")
    school.exit_at = script.through(t + s(4), gate, "exit", rest, "OK_EXIT", "exited")


def with_leaders(rows: list[list[str]], school: Family) -> list[list[str]]:
    """tickets.csv with its optional `leaders` column: the class's teachers lead it."""
    leaders = {school.ticket: str(len(school.adults))}
    header, *body = rows
    return [[*header, "leaders"], *([*r, leaders.get(r[0], "")] for r in body)]


def solo_exit(script: Script, fam: Family) -> None:
    """A child who came alone leaves when a staff member has met the guardian outside: the
    supervisor badges at the gate, then the child's band passes."""
    rng = script.rng
    assert fam.exit_at is not None
    child = fam.children[0]
    tries_alone = fam.story == "solo-tries-alone"
    x = fam.exit_at
    gate = rng.choice(EXITS)
    alone = s(rng.randint(35, 50)) if tries_alone else s(0)
    while not script.reserve(gate, x - alone, x + s(20)):
        x += s(97)
        gate = EXITS[1 - EXITS.index(gate)]
    assert x < at(17, 50)
    if tries_alone:
        script.scan(x - alone, gate, "exit", "nfc", child.uid, "DENY_GUARDIAN_PICKUP")
    script.scan(x, gate, "exit", "nfc", SUPERVISOR[gate], "OK_STAFF")
    script.scan(
        x + s(rng.randint(6, 15)),
        gate,
        "exit",
        "nfc",
        child.uid,
        "OK_OVERRIDE",
        moves=[(child.uid, "exited")],
    )
    fam.exit_at = x


# --- sessions, and a closing with children collected after it ----------------------------------


def sessions_and_collection(script: Script) -> list[Family]:
    """Five families bound at the second desk (D2), scripted to the minute with their own
    random bands, so the rest of the day is unchanged:

    - a morning-session family (AM, 09:30-12:30) in at 10:02, out at 12:15;
    - a morning-session family that comes in the afternoon: refused at 14:01 (DENY_NOT_VALID_NOW);
    - a morning-session family whose only adult steps out at 12:00: told to collect the child
      before the session ends, back at 12:41 after it (OK_COLLECT), out with the child;
    - an afternoon-session family (PM, 13:30-18:00) at the gate ten minutes early (refused),
      in at 13:31, out at 16:30;
    - a family of the whole day whose only adult steps out at 17:20 and comes back at 18:06,
      after closing, to collect the two children (OK_COLLECT), and leaves with them.
    """
    f = Factory(random.Random(SEED + 15))

    def family(code: str, adults: int, children: int, session: str, story: str) -> Family:
        people = (
            [f.person("adult") for _ in range(adults)],
            [f.person("child") for _ in range(children)],
        )
        return Family(code, "day-family", *people, at(9, 0), session=session, story=story)

    am = family("S2607180001", 1, 2, "AM", "session-am")
    am_late = family("S2607180002", 2, 1, "AM", "session-am-in-the-afternoon")
    am_collect = family("S2607180003", 1, 1, "AM", "session-am-collected")
    pm = family("S2607180004", 2, 1, "PM", "session-pm")
    evening = family("S2607180005", 1, 2, "", "collected-after-closing")
    for fam, t in ((am, at(9, 35)), (am_collect, at(9, 40)), (evening, at(10, 30))):
        d2_bind(script, t, fam)
    for fam, t in ((pm, at(13, 15)), (am_late, at(13, 58))):
        d2_bind(script, t, fam)

    def through(t: datetime, gate: str, mode: str, people: list[Person], code: str) -> None:
        state = {"OK_ENTRY": "inside", "OK_EXIT": "exited"}[code]
        for i, p in enumerate(people):
            script.scan(t + s(4 * i), gate, mode, "nfc", p.uid, code, moves=[(p.uid, state)])

    through(at(10, 2), "E1", "entry", am.people, "OK_ENTRY")
    through(at(12, 15), "X1", "exit", am.people, "OK_EXIT")
    script.scan(at(14, 1), "E2", "entry", "nfc", am_late.adults[0].uid, "DENY_NOT_VALID_NOW")

    through(at(10, 5), "E2", "entry", am_collect.people, "OK_ENTRY")
    out_and_back_to_collect(script, am_collect, (at(12, 0), "X2"), (at(12, 41), "E1"))
    through(at(12, 43), "X1", "exit", am_collect.people, "OK_EXIT")

    script.scan(at(13, 20), "E1", "entry", "nfc", pm.adults[0].uid, "DENY_NOT_VALID_NOW")
    through(at(13, 31), "E1", "entry", pm.people, "OK_ENTRY")
    through(at(16, 30), "X2", "exit", pm.people, "OK_EXIT")

    through(at(10, 40), "E1", "entry", evening.people, "OK_ENTRY")
    out_and_back_to_collect(script, evening, (at(17, 20), "X1"), (at(18, 6), "E2"))
    through(at(18, 7), "X2", "exit", evening.people, "OK_EXIT")
    return [am, am_late, am_collect, pm, evening]


def out_and_back_to_collect(
    script: Script, fam: Family, out: tuple[datetime, str], back: tuple[datetime, str]
) -> None:
    """The family's only adult steps out for a while (the children flagged), and comes back
    after the session or the venue closed, in only to collect them (OK_COLLECT)."""
    a = fam.adults[0]
    (t_out, exit_gate), (t_back, entry_gate) = out, back
    script.scan(
        t_out,
        exit_gate,
        "exit",
        "nfc",
        a.uid,
        "OK_TEMP_EXIT",
        "temporary",
        [(a.uid, "temp_out")],
        flag=fam.ticket,
    )
    back_in = [(a.uid, "inside")]
    script.scan(
        t_back, entry_gate, "entry", "nfc", a.uid, "OK_COLLECT", moves=back_in, unflag=fam.ticket
    )


def d2_bind(script: Script, t: datetime, fam: Family) -> None:
    """The second desk binds a family: ticket, adults' bands, children's, 5 s apart."""
    script.scan(t, "D2", "bind", "barcode", fam.ticket, "OK_BIND")
    for i, p in enumerate(fam.people, 1):
        script.scan(t + s(5 * i), "D2", "bind", "nfc", p.uid, "OK_BIND", moves=[(p.uid, "bound")])
    fam.bound_at = t


def ticket_row(
    code: str,
    product: str,
    adults: int,
    children: int,
    valid: date,
    valid_to: date | None = None,
    phone: str = "",
) -> list[str]:
    valid_to = valid_to or valid
    return [code, product, str(adults), str(children), f"{valid}", f"{valid_to}", phone]


def ticket_rows(
    groups: list[Family], extra: list[list[str]], f: Factory, rng: random.Random
) -> list[list[str]]:
    """Every ticket the gates know: today's, the annual passes, a few sold for today whose
    families never came, and the first ones sold for tomorrow."""
    rows = [
        [
            *ticket_row(g.ticket, g.product, len(g.adults), len(g.children), *g.valid, g.phone),
            g.session,
        ]
        for g in groups
    ]
    rows += [[*row, ""] for row in extra]
    sizes = ((1, 1), (2, 1), (2, 2), (1, 2))
    for _ in range(NO_SHOWS):
        rows.append([*ticket_row(f.ticket(), "day-family", *rng.choice(sizes), DAY), ""])
    tomorrow = DAY + timedelta(days=1)
    for _ in range(TOMORROW_TICKETS):
        row = ticket_row(f.ticket(tomorrow), "day-family", *rng.choice(sizes), tomorrow)
        rows.append([*row, ""])
    header = ["code", "product", "adults", "children", "valid_from", "valid_to", "guardian_phone"]
    header.append("session")
    return [header, *sorted(rows)]


def band_rows(
    groups: list[Family], extra: list[Person], f: Factory, rng: random.Random
) -> list[list[str]]:
    """Today's wristband stock: the bands handed out (all listed: the desk binds only bands of the
    stock), the spare ones, and a couple of strays. Children's bands are a different stock."""
    rows = []
    for g in groups:
        for p in g.people:
            if p.stocked:
                rows.append([p.uid, "adult" if p.role == "adult" else "child"])
    rows += [[p.uid, p.role] for p in extra]
    for role in ("adult", "child"):
        rows += [[f.uid(), role] for _ in range(rng.randint(110, 140))]
    return [["uid", "role"], *sorted(rows)]


# --- what the venue expects -------------------------------------------------------------------


@dataclass
class Tally:
    """The story's own count of who is inside, replayed in time order."""

    roles: dict[str, str]
    groups: dict[str, str]
    state: dict[str, str] = field(default_factory=dict)
    flagged: set[str] = field(default_factory=set)
    inside_max: int = 0

    def apply(self, step: Step) -> None:
        for uid, state in step.moves:
            self.state[uid] = state
        if step.flag:
            self.flagged.add(step.flag)
        if step.unflag:
            self.flagged.discard(step.unflag)
        self.inside_max = max(self.inside_max, len(self.inside()))

    def inside(self) -> list[str]:
        return [uid for uid, st in self.state.items() if st == "inside"]

    def summary(self) -> dict[str, int]:
        inside = self.inside()
        adults = [u for u in inside if self.roles[u] == "adult"]
        unaccompanied = [
            u for u in inside if self.roles[u] == "child" and self.groups[u] in self.flagged
        ]
        return {
            "inside": len(inside),
            "adults": len(adults),
            "children": len(inside) - len(adults),
            "unaccompanied_children": len(unaccompanied),
            "groups_inside": len({self.groups[u] for u in inside}),
        }


def check_overrides(steps: list[Step]) -> None:
    """A staff badge overrides the next refusal at its gate within the window: in this story
    that is always the solo child the supervisor came for, and no other refusal is near it."""
    scans = [st for st in steps if st.scan is not None]
    for i, st in enumerate(scans):
        if st.code != "OK_STAFF":
            continue
        assert st.scan is not None
        gate = st.scan["gate"]
        nxt = [
            o
            for o in scans[i + 1 :]
            if o.scan is not None
            and o.scan["gate"] == gate
            and o.t <= st.t + WINDOW
            and (o.code.startswith("DENY_") or o.code == "OK_OVERRIDE")
        ]
        assert nxt and nxt[0].code == "OK_OVERRIDE", f"badge at {st.t} {gate}: {nxt[:1]}"


def write(out: Path, seed: int = SEED) -> dict[str, object]:
    rng = random.Random(seed)
    tables, script, groups = build(rng)
    steps = sorted(script.steps, key=lambda st: (st.t, st.seq))
    check_overrides(steps)
    roles = {p.uid: p.role for g in groups for p in g.people}
    owner = {p.uid: g.ticket for g in groups for p in g.people}
    tally = Tally(roles, owner)
    for st in steps:
        tally.apply(st)
    assert tally.inside_max < CAPACITY, "the story never fills the venue"
    scans = [st for st in steps if st.scan is not None]

    out.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        with (out / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)
    (out / "policy.toml").write_text(
        "# The children's city, Saturday 2026-07-18.\n"
        'timezone = "Asia/Shanghai"\n'
        f'open = "{OPEN:%H:%M}"\n'
        f'close = "{CLOSE:%H:%M}"\n'
        f"capacity = {CAPACITY}\n"
        f"pairing_window_s = {WINDOW.seconds}\n"
        "\n[sessions]  # 场次\n" + "".join(f'{k} = "{v}"\n' for k, v in SESSIONS.items()),
        encoding="utf-8",
        newline="",
    )
    with (out / "scans.jsonl").open("w", encoding="utf-8", newline="") as fh:
        fh.writelines(json.dumps(st.scan) + "\n" for st in scans)
    codes = "".join(st.code + "\n" for st in scans)
    (out / "expected-codes.txt").write_text(codes, encoding="utf-8", newline="")
    summary = tally.summary()
    (out / "expected-summary.json").write_text(
        json.dumps(summary) + "\n", encoding="utf-8", newline=""
    )
    return {
        "groups": len(groups),
        "scans": len(scans),
        "codes": dict(sorted(Counter(st.code for st in scans).items())),
        "stories": dict(sorted(Counter(g.story for g in groups).items())),
        "inside_max": tally.inside_max,
        "summary": summary,
        "first": scans[0].t.isoformat(),
        "last": scans[-1].t.isoformat(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"directory (default {OUT})")
    parser.add_argument("--seed", type=int, default=SEED, help="another day (default %(default)s)")
    parser.add_argument("--stats", action="store_true", help="print the day's statistics")
    args = parser.parse_args()
    stats = write(args.out, args.seed)
    if args.stats:
        print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
