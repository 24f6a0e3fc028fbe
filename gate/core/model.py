"""The domain model of the rules core: credentials, tickets, members, scans, decisions, policy.

Plain frozen dataclasses (fast to build on the scan path, hashable, no I/O) and one pydantic model,
the venue policy, which is validated where it is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gate.core.hlc import Timestamp


class Role(StrEnum):
    ADULT = "adult"
    CHILD = "child"
    SOLO_CHILD = "solo_child"  # a child admitted alone, with a guardian phone on its ticket
    STAFF = "staff"

    @property
    def is_child(self) -> bool:
        return self in (Role.CHILD, Role.SOLO_CHILD)


class MemberState(StrEnum):
    BOUND = "bound"  # band bound at the desk, not yet through a gate
    INSIDE = "inside"
    TEMP_OUT = "temp_out"  # left for a while, will come back (adults only)
    EXITED = "exited"  # final: band returned


class Mode(StrEnum):
    BIND = "bind"
    ENTRY = "entry"
    EXIT = "exit"


class Kind(StrEnum):
    BARCODE = "barcode"
    NFC = "nfc"


class Intent(StrEnum):
    FINAL = "final"
    TEMPORARY = "temporary"


class Code(StrEnum):
    """Reason codes, exactly as design.md §4 names them. Tests assert codes, never messages."""

    OK_BIND = "OK_BIND"
    OK_ENTRY = "OK_ENTRY"
    OK_REENTRY = "OK_REENTRY"
    OK_EXIT = "OK_EXIT"
    OK_TEMP_EXIT = "OK_TEMP_EXIT"
    OK_STAFF = "OK_STAFF"
    OK_OVERRIDE = "OK_OVERRIDE"
    OK_COLLECT = "OK_COLLECT"  # after closing: an adult in only to collect the group's children
    OK_GROUP_WINDOW = "OK_GROUP_WINDOW"  # a group's leader reopened its window (nobody moved)
    OK_JOIN = "OK_JOIN"  # two tickets joined into one family at the desk
    OK_CORRECTED = "OK_CORRECTED"  # a band replaced, unbound or re-issued by staff at the desk
    DENY_UNKNOWN = "DENY_UNKNOWN"
    DENY_NOT_VALID_NOW = "DENY_NOT_VALID_NOW"
    DENY_REVOKED = "DENY_REVOKED"
    DENY_BAD_TOKEN = "DENY_BAD_TOKEN"
    DENY_ALREADY_INSIDE = "DENY_ALREADY_INSIDE"
    DENY_NOT_INSIDE = "DENY_NOT_INSIDE"
    DENY_ALREADY_EXITED = "DENY_ALREADY_EXITED"
    DENY_CHILD_NEEDS_ADULT = "DENY_CHILD_NEEDS_ADULT"
    DENY_CHILD_TEMP_EXIT = "DENY_CHILD_TEMP_EXIT"
    DENY_GUARDIAN_PICKUP = "DENY_GUARDIAN_PICKUP"
    DENY_CAPACITY = "DENY_CAPACITY"
    DENY_CLOSED = "DENY_CLOSED"
    DENY_BINDING = "DENY_BINDING"
    DENY_VOUCHER_FORGED = "DENY_VOUCHER_FORGED"  # malformed, unknown key, or bad signature
    DENY_VOUCHER_EXPIRED = "DENY_VOUCHER_EXPIRED"
    DENY_VOUCHER_USED = "DENY_VOUCHER_USED"  # spent already (here, or at a gate heard from)
    OK_REGISTERED = "OK_REGISTERED"  # a walk-in child or a not-authorised list, at the desk
    OK_PICKUP = "OK_PICKUP"  # a guardian's pickup code matched: the child may go through
    DENY_PICKUP_MISMATCH = "DENY_PICKUP_MISMATCH"  # no child inside has it, or another's group
    # too many wrong pickup codes for this child (or, with no child shown, at this lane) within
    # the policy's period: codes are refused for a while; a staff override stays possible
    DENY_PICKUP_LOCKED = "DENY_PICKUP_LOCKED"

    @property
    def granted(self) -> bool:
        return self.startswith("OK_")


@dataclass(frozen=True, slots=True)
class Ticket:
    """One ticket of the allowlist: it admits a group of `adults` and `children`."""

    code: str
    product: str
    adults: int
    children: int
    valid_from: date
    valid_to: date  # inclusive, in the venue's local calendar
    guardian_phone: str = ""  # set only for children admitted alone
    # The hub holds a guardian phone this copy leaves out: entry and exit gates get the
    # allowlist without phones (only the desk, handhelds and the hub need them).
    guardian_registered: bool = False
    session: str = ""  # a session (场次) of the policy's [sessions]: valid only within its hours
    # A group ticket (a school class, 团体接待): its adults are its `leaders`, whose windows
    # each child scanned through extends; 0 for a family ticket.
    leaders: int = 0

    @property
    def is_group(self) -> bool:
        return self.leaders > 0

    @property
    def is_solo(self) -> bool:
        return self.adults == 0

    @property
    def has_guardian(self) -> bool:
        """A guardian phone is known, here or (left out of this copy) at the desk and the hub."""
        return bool(self.guardian_phone) or self.guardian_registered

    def without_phone(self) -> Ticket:
        """This ticket as entry and exit gates get it: no phone, only whether there is one."""
        if not self.guardian_phone:
            return self
        return replace(self, guardian_phone="", guardian_registered=True)

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True, slots=True)
class Member:
    """A wristband bound to a group. Keyed by the band's UID."""

    uid: str
    group: str
    role: Role
    state: MemberState
    last_gate: str
    last_at: datetime
    counter: int = 0  # the band's passage counter, as high as this state has heard of it


@dataclass(frozen=True, slots=True)
class BandPassage:
    """The band's own record of its last passage (`gate.core.passages`), once the reader has
    checked its MAC: its `counter` (one more at each granted passage), the `gate` that wrote it
    (as far as the band holds its id), the member's `state` after it, the decision's time `at`,
    and, for a child's entry, whether an adult of its group let it in (`with_adult`); `kept`: an
    adult's final exit ahead of children still inside (the band stays with the adult)."""

    counter: int
    gate: str
    state: MemberState
    at: datetime
    with_adult: bool = False
    kept: bool = False
    hlc: Timestamp | None = None  # the passage's hybrid-clock time (None: a version-1 record)


@dataclass(frozen=True, slots=True)
class BandToken:
    """What a wristband's signed token says, once the reader has checked its signature and UID.

    Written at binding, it lets a gate that has never seen the band apply the child rules."""

    group: str
    role: Role
    valid_from: date
    valid_to: date
    adults: int
    children: int
    session: str = ""  # the ticket's session (场次), so a gate that never saw it keeps its hours


@dataclass(frozen=True, slots=True)
class Voucher:
    """What a digital voucher says, once the gate has checked its signature (`gate.devices.
    voucher`): member `uid` left on a temporary exit and may come back in once, until `expires`.
    `serial` names this voucher, so that its use is an event every gate and the hub fold."""

    serial: str
    uid: str
    expires: datetime


@dataclass(frozen=True, slots=True)
class Scan:
    """One read at a gate: a barcode or an NFC UID, in the gate's current mode.

    `token` is the band's verified token, if it carries one; `token_fault` says why the token it
    carries failed verification (bad signature, copied from another UID, unknown key).
    `offline`: the gate cannot hear the other gates, so a band it believes outside may have come
    in elsewhere; exits are then let through and marked for the hub to judge.
    `tag`: read from a tag on a gate's reader, so outside binding it must carry its token (a
    technician's test scan and `gate simulate`'s lines have no tag); `tag_fault`: the reader
    found the tag is not an original wristband (another tag type, no or a wrong originality
    signature). `pairs`: a grant of this scan may open a pairing window (a technician's test
    scan does not, unless the gate is told so: no band was there to stand for an adult)."""

    gate: str
    mode: Mode
    kind: Kind
    value: str
    intent: Intent = Intent.FINAL
    token: BandToken | None = None
    token_fault: str | None = None
    offline: bool = False  # the gate is cut off from the others: where people are may be stale
    tag: bool = False
    tag_fault: str | None = None
    pairs: bool = True
    voucher: Voucher | None = None  # a barcode that is a voucher whose signature verified
    voucher_fault: str | None = None  # a barcode that claims to be a voucher and is not one
    # `value` is the digest of a guardian's pickup code, read at this gate (scanned or typed):
    # set by the daemon only, never from what a barcode says of itself
    pickup: bool = False
    # the band's passage record (its newest valid slot), read with its token; None: none yet
    passage: BandPassage | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a rule refuses a scan: its code and a message an operator can act on."""

    code: Code
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The one answer to a scan. `forced` marks an override; `overrode` the denial it replaced."""

    code: Code
    message: str
    value: str
    gate: str
    group: str | None = None
    role: Role | None = None
    forced: bool = False
    staff: str | None = None
    overrode: Code | None = None
    member: str | None = None  # the band moved, when the scan was not of it (voucher, ticket)

    @property
    def granted(self) -> bool:
        return self.code.granted


SESSION_NAME = re.compile(r"[A-Za-z0-9_-]{1,16}")


def parse_hours(name: str, hours: object) -> tuple[time, time]:
    """ "09:30-12:30" -> (09:30, 12:30); a session starts and ends on the same day."""
    text = hours if isinstance(hours, str) else ""
    start, sep, end = text.partition("-")
    try:
        if not sep:
            raise ValueError
        first, last = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(
            f'session {name}: not HH:MM-HH:MM (got {hours!r}): write it like "09:30-12:30"'
        ) from None
    if not first < last:
        raise ValueError(f"session {name}: {hours!r} must start before it ends, on one day")
    return first, last


class Policy(BaseModel):
    """The venue's rules of the day: opening hours in its own timezone, capacity, pairing window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = Field(description="IANA timezone of the venue, e.g. Asia/Shanghai")
    open: time = Field(description="opening time, local HH:MM")
    close: time = Field(description="closing time, local HH:MM; before `open` means past midnight")
    capacity: int = Field(gt=0, description="people inside at most")
    pairing_window_s: float = Field(default=60.0, gt=0, le=3600)
    pickup_codes: Literal["solo", "all", "off"] = Field(
        default="solo",
        description='pickup codes at binding: "solo" (children alone), "all" (every family), "off"',
    )
    send_pickup_codes: bool = Field(
        default=False,
        description="the desk sends each pickup code to the hub's notifier, for the guardian",
    )
    pickup_code_tries: int = Field(
        default=3,
        ge=1,
        le=20,
        description="wrong pickup codes for one child (or at one lane, no child shown) before "
        "codes are refused there for a while",
    )
    pickup_code_lockout_s: float = Field(
        default=600.0,
        gt=0,
        le=86400,
        description="the period the wrong pickup codes are counted in, seconds",
    )
    sessions: dict[str, str] = Field(
        default_factory=dict,
        description='named sessions (场次), local "HH:MM-HH:MM" each, e.g. AM = "09:30-12:30"',
    )

    @field_validator("sessions")
    @classmethod
    def _session_hours(cls, sessions: dict[str, str]) -> dict[str, str]:
        problems = []
        for name, hours in sessions.items():
            if not SESSION_NAME.fullmatch(name):
                problems.append(f"session name {name!r}: write 1 to 16 letters, digits, _ or -")
            try:
                parse_hours(name, hours)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        return sessions

    def session_hours(self, name: str) -> tuple[time, time] | None:
        """The session's start and end (local), or None for a name the policy does not know."""
        hours = self.sessions.get(name)
        return parse_hours(name, hours) if hours is not None else None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "Asia" is a directory
            raise ValueError(f"unknown IANA timezone {name!r}") from exc
        return name

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, now: datetime) -> datetime:
        return now.astimezone(self.tz)

    def session_day(self, now: datetime) -> date:
        """The venue's local date of the session `now` belongs to: past midnight, a session that
        opened the evening before (close before open) still counts as that evening's day."""
        local = self.local(now)
        if self.close < self.open and local.time() < self.close:
            return local.date() - timedelta(days=1)
        return local.date()

    def is_open(self, now: datetime) -> bool:
        """Opening hours are [open, close) local time; a close before open spans midnight, and
        a close equal to open means open around the clock."""
        t = self.local(now).time()
        if self.open == self.close:
            return True
        if self.open < self.close:
            return self.open <= t < self.close
        return t >= self.open or t < self.close
