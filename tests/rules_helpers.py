"""A fixture venue for the rules tests: its allowlist, its policy, a clock and a gate driver.

The venue is a children's city in Shanghai, open 09:00-18:00 local time, on 2026-07-01:

- `FAMILY`: 2 adults + 2 children, valid today; bands `ADULT_1`, `ADULT_2` (adult stock),
  `CHILD_1`, `CHILD_2` (child stock).
- `DUO`: 1 adult + 1 child, a two-day pass (today and tomorrow); bands `ADULT_3`, `CHILD_3`.
- `SOLO`: a child admitted alone with a guardian phone; band `CHILD_4`.
- `EXPIRED`: a family ticket that was valid yesterday only.
- `REFUNDED`: a family ticket revoked for a refund.
- `SPARE_1`, `SPARE_2`, `SPARE_3`: bands not in the stock list (role decided at binding).
- `LOST`: an adult band reported lost (revoked).
- `STAFF`: a staff badge.

`Venue` drives the real core: every scan goes through `gate.core.step`, so pairing windows close
exactly as on a gate. Times are fixed and timezone-aware; `at(10)` is 10:00 local on `DAY`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gate.core import (
    Allowlist,
    Decision,
    Event,
    Intent,
    Kind,
    Mode,
    Policy,
    Role,
    Scan,
    State,
    Ticket,
    step,
)

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 7, 1)
NEXT_DAY = DAY + timedelta(days=1)
WINDOW_S = 60

FAMILY = "T-FAMILY"
DUO = "T-DUO"
SOLO = "T-SOLO"
EXPIRED = "T-EXPIRED"
REFUNDED = "T-REFUNDED"
UNKNOWN_TICKET = "T-NOBODY"

ADULT_1, ADULT_2, ADULT_3 = "04A10001", "04A10002", "04A10003"
CHILD_1, CHILD_2, CHILD_3, CHILD_4 = "04C10001", "04C10002", "04C10003", "04C10004"
ADULT_4, CHILD_5 = "04A10004", "04C10005"  # spare stock bands
SPARE_1, SPARE_2, SPARE_3 = "04B20001", "04B20002", "04B20003"  # not in the stock list
LOST = "04A1DEAD"  # adult stock, reported lost
STRANGER = "04FFFFFF"  # in no list at all
STAFF = "04EE0001"
GUARDIAN_PHONE = "13800138000"

# The gates: a binding desk, two entry gates, two exit gates.
DESK, DESK_2, E1, E2, X1, X2 = "D1", "D2", "E1", "E2", "X1", "X2"

FAMILY_BANDS = (ADULT_1, ADULT_2, CHILD_1, CHILD_2)
FAMILY_ADULTS = (ADULT_1, ADULT_2)
FAMILY_CHILDREN = (CHILD_1, CHILD_2)


def at(hour: int, minute: int = 0, second: float = 0, day: date = DAY) -> datetime:
    """A local time of the venue (Asia/Shanghai) on `day`."""
    whole = int(second)
    micro = round((second - whole) * 1_000_000)
    return datetime(day.year, day.month, day.day, hour, minute, whole, micro, tzinfo=TZ)


def later(t: datetime, seconds: float) -> datetime:
    return t + timedelta(seconds=seconds)


T0 = at(10)  # the morning of the fixture day, well inside opening hours


def policy(**changes: Any) -> Policy:
    """The venue policy, with `changes` applied (validated like a policy file)."""
    fields: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "open": time(9, 0),
        "close": time(18, 0),
        "capacity": 100,
        "pairing_window_s": WINDOW_S,
    }
    fields.update(changes)
    return Policy(**fields)


def ticket(
    code: str,
    adults: int,
    children: int,
    valid_from: date = DAY,
    valid_to: date = DAY,
    guardian_phone: str = "",
) -> Ticket:
    product = "solo child" if adults == 0 else "family"
    return Ticket(code, product, adults, children, valid_from, valid_to, guardian_phone)


def allowlist() -> Allowlist:
    yesterday = DAY - timedelta(days=1)
    tickets = [
        ticket(FAMILY, 2, 2),
        ticket(DUO, 1, 1, valid_to=NEXT_DAY),
        ticket(SOLO, 0, 1, guardian_phone=GUARDIAN_PHONE),
        ticket(EXPIRED, 2, 2, valid_from=yesterday, valid_to=yesterday),
        ticket(REFUNDED, 2, 2),
    ]
    adults = (ADULT_1, ADULT_2, ADULT_3, ADULT_4, LOST)
    children = (CHILD_1, CHILD_2, CHILD_3, CHILD_4, CHILD_5)
    bands = {uid: Role.ADULT for uid in adults} | {uid: Role.CHILD for uid in children}
    return Allowlist(
        version=1,
        tickets={t.code: t for t in tickets},
        bands=bands,
        staff={STAFF: "Wang Fang"},
        revoked={REFUNDED: "refund", LOST: "lost band reported"},
    )


def nfc(gate: str, mode: Mode, uid: str, intent: Intent = Intent.FINAL) -> Scan:
    return Scan(gate, mode, Kind.NFC, uid, intent)


def badge(gate: str, mode: Mode, uid: str = STAFF) -> Scan:
    """A staff badge held to the reader: read from a tag (no token: badges carry none)."""
    return Scan(gate, mode, Kind.NFC, uid, tag=True)


def barcode(gate: str, mode: Mode, code: str) -> Scan:
    return Scan(gate, mode, Kind.BARCODE, code)


@dataclass
class Venue:
    """The fixture venue's shared state, driven scan by scan through `gate.core.step`."""

    state: State = field(default_factory=lambda: State(allowlist=allowlist()))
    policy: Policy = field(default_factory=policy)
    events: list[Event] = field(default_factory=list)  # the events of the last scan

    def scan(self, scan: Scan, now: datetime) -> Decision:
        decision, self.events = step(self.state, scan, now, self.policy)
        return decision

    def with_policy(self, session_of: str | None = None, **changes: Any) -> Venue:
        """The venue with its policy changed; `session_of` a ticket made one of the first of
        the `sessions` given."""
        self.policy = policy(**changes)
        if session_of is not None:
            t = self.state.allowlist.tickets[session_of]
            first = next(iter(changes["sessions"]))
            self.state.allowlist.tickets[session_of] = replace(t, session=first)
        return self

    def revoke(self, value: str, reason: str = "reported at the desk") -> Venue:
        """Revoke a ticket code or a band UID in the allowlist (a refund, a lost band)."""
        self.state.allowlist.revoked[value] = reason
        return self

    # -- one scan ------------------------------------------------------------------------------

    def ticket(self, code: str, now: datetime = T0, desk: str = DESK) -> Decision:
        return self.scan(barcode(desk, Mode.BIND, code), now)

    def band(self, uid: str, now: datetime = T0, desk: str = DESK) -> Decision:
        return self.scan(nfc(desk, Mode.BIND, uid), now)

    def enter(self, uid: str, now: datetime = T0, gate: str = E1) -> Decision:
        return self.scan(nfc(gate, Mode.ENTRY, uid), now)

    def leave(self, uid: str, now: datetime = T0, gate: str = X1) -> Decision:
        return self.scan(nfc(gate, Mode.EXIT, uid), now)

    def step_out(self, uid: str, now: datetime = T0, gate: str = X1) -> Decision:
        """A temporary exit."""
        return self.scan(nfc(gate, Mode.EXIT, uid, Intent.TEMPORARY), now)

    def badge(self, gate: str, now: datetime = T0, mode: Mode = Mode.EXIT) -> Decision:
        return self.scan(badge(gate, mode), now)

    # -- set-ups, each asserting that every scan it makes is granted ---------------------------

    def bind(self, code: str, *uids: str, now: datetime = T0, desk: str = DESK) -> Venue:
        for decision in (self.ticket(code, now, desk), *(self.band(u, now, desk) for u in uids)):
            assert decision.granted, decision
        return self

    def admit(self, *uids: str, now: datetime = T0, gate: str = E1) -> Venue:
        """Let the bands in, in the order given (adults first, as at a real gate)."""
        for uid in uids:
            decision = self.enter(uid, now, gate)
            assert decision.granted, decision
        return self

    def release(self, *uids: str, now: datetime = T0, gate: str = X1) -> Venue:
        for uid in uids:
            decision = self.leave(uid, now, gate)
            assert decision.granted, decision
        return self


def venue_without_stock() -> Venue:
    """The fixture venue with no wristband stock list: any band takes a free slot at the desk."""
    lists = allowlist()
    lists.bands = {}
    return Venue(state=State(allowlist=lists))


def family_bound() -> Venue:
    """The family's ticket and its four bands are bound at the desk; nobody has entered yet."""
    return Venue().bind(FAMILY, *FAMILY_BANDS)


def family_inside(now: datetime = T0) -> Venue:
    """The family is bound and inside, all four through E1 at `now`."""
    return family_bound().admit(*FAMILY_BANDS, now=now)


def solo_inside(now: datetime = T0) -> Venue:
    """The solo child is bound and inside."""
    return Venue().bind(SOLO, CHILD_4).admit(CHILD_4, now=now)
