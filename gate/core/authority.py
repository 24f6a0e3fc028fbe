"""A gate speaks only for itself: what a peer gate's journal entry may say, checked before it is
kept or folded (design §9). Pure: no I/O, no clock; the caller decodes the body's events and
decision (`gate.link.vetting`) and hands in what it knows.

    check_shape(kind, body, size)                     # before decoding anything
    events = vet(PeerEntry(...), Knowledge(...))      # the entry's events, or `Refused`

Here: the gate roles, the entry as received and what the consumer knows of it, the reasons an
entry is refused, the tables of what each role journals, and the checks of an entry's envelope
(shape, sequence number, clock). What its events say is checked by `vet`
(`gate.core.peer_events`), a decision's own events against it by `gate.core.peer_decisions`.

What each role's gate journals (read from `gate.daemon.gate`: `scan`, `_record`, `_passage`,
`_advance_time`, `_fire_alarm`, `_swap_allowlist`; the table is in docs/security/authority.md):

    entry     decision  BandLearned(bound) MemberMoved(inside) PairingOpened(entry)
                        OverrideArmed OverrideSpent VoucherUsed PairingExtended(entry)
              expiry    PairingClosed(entry)
              passage   MemberMoved (an undo: unforced, never to exited)
    exit      decision  BandLearned(inside) MemberMoved(exited|temp_out) PairingOpened(exit,
                        an adult's, or a pickup code's: OK_PICKUP)
                        GroupFlagged OverrideArmed OverrideSpent PairingExtended(exit)
                        PickupAsked (a solo child refused for want of its code) and
                        PickupCodeRefused (a wrong code): the only events of a denial
              expiry    PairingClosed(exit) MemberMoved(temp_out, adults) GroupFlagged
              passage   MemberMoved (an undo: unforced)
    desk      decision  BindingOpened BandBound OverrideArmed GroupsJoined ChildRegistered
                        PickupCodeIssued (with the BandBound of the group's first band)
                        NotAuthorisedSet, and the corrections: BandReplaced BandUnbound
                        BandReissued GroupFlagged ValueRevoked ValueRestored; IncidentOpened
                        IncidentClosed (lost children); StockRecorded (band stock)
    handheld  decision  as a desk (bind mode; checks journal nothing)
    every     fire_alarm, allowlist, clock: no events

Refusal is whole-entry: an entry is accepted or refused entirely, with one stable reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from gate.core.events import (
    BandBound,
    BandLearned,
    BandReissued,
    BandReplaced,
    BandUnbound,
    BindingOpened,
    ChildRegistered,
    Event,
    GroupFlagged,
    GroupsJoined,
    IncidentClosed,
    IncidentOpened,
    MemberMoved,
    NotAuthorisedSet,
    OverrideArmed,
    OverrideSpent,
    PairingClosed,
    PairingExtended,
    PairingOpened,
    PickupAsked,
    PickupCodeIssued,
    PickupCodeRefused,
    StockRecorded,
    ValueRestored,
    ValueRevoked,
    VoucherUsed,
)
from gate.core.model import Code, Decision, Member, Mode
from gate.core.state import Allowlist

GateRole = Literal["entry", "exit", "desk", "handheld"]
GATE_ROLES: tuple[GateRole, ...] = ("entry", "exit", "desk", "handheld")


class Reason(StrEnum):
    """Why a peer's entry was refused. Stable: counters, findings and tests use them."""

    SCHEMA = "schema"  # unknown kind, unexpected body keys, entry too large, unreadable
    UNKNOWN_GATE = "unknown_gate"  # the roster does not name the sender
    FOREIGN_GATE = "foreign_gate"  # an event names another gate
    ROLE_CANNOT = "role_cannot"  # the sender's role never journals this
    KIND_CANNOT = "kind_cannot"  # this kind of entry never holds this event
    DECISION_MISMATCH = "decision_mismatch"  # the events do not follow from the entry's decision
    STOCK_ROLE = "stock_role"  # a band bound or learned against the wristband stock
    SEQ_JUMP = "seq_jump"  # a sequence number far beyond the sender's watermark
    CLOCK_AHEAD = "clock_ahead"  # a hybrid timestamp beyond the receiver's clock and its drift
    FLOOD = "flood"  # more than the gate's hourly budget of stored bodies (the hub's ingest)


class Refused(ValueError):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def mismatch(what: str) -> Refused:
    """Refused: the events do not follow from the entry's decision."""
    return Refused(Reason.DECISION_MISMATCH, what)


def shown(event: Event) -> str:
    """An event as a refusal names it: by its kind."""
    return type(event).__name__


# The largest serialized body (JSON bytes) of each kind. Real entries need far less: a decision
# with every event a grant can carry is about 2 kB (a long revocation reason or staff name in
# its message included); an expiry holds three events of at most ~250 bytes per group whose
# window closed in one tick, and a gate back after a stop closes at most the windows opened in
# the last pairing window: at one adult a second, 60 s by default (15 kB) and 64 kB on a busy
# day. 256 kB holds a quarter-hour window's worth (900 groups); a venue setting a longer window
# and letting an adult through every second risks an expiry refused (its windows then stay
# open at the other gates until they close there: the safe side).
MAX_BODY: Mapping[str, int] = {
    "decision": 64 << 10,
    "passage": 16 << 10,
    "expiry": 256 << 10,
    "fire_alarm": 256,
    "allowlist": 16 << 10,
    "clock": 256,
}
MAX_CLOCK_SHIFT_MS = 366 * 24 * 3600 * 1000  # a clock a year off: further is no clock
BODY_KEYS: Mapping[str, frozenset[str]] = {
    # asked_by: test scans; request: the id of the control request that asked for it (or of
    # the hub's desk request); staff: the badge that authorised a desk action; desk_action:
    # true, a desk action's decision (granted or not), not a scan's
    "decision": frozenset(
        {"scan", "decision", "events", "asked_by", "request", "staff", "desk_action"}
    ),
    "passage": frozenset({"decision_seq", "passed", "events"}),
    "expiry": frozenset({"events"}),
    "fire_alarm": frozenset({"on"}),
    "allowlist": frozenset({"version", "source", "asked_by"}),  # asked_by: gatectl's imports
    # entries from_seq up to this one were stamped shift_ms off the hub's time (the gate's clock
    # measured wrong, gate.daemon.clock_watch): the hub orders them with the shift
    "clock": frozenset({"from_seq", "shift_ms"}),
}
SCAN_KEYS = frozenset({"kind", "value", "mode", "intent", "token", "offline", "tag"})
SCAN_KEYS_NEEDED = SCAN_KEYS - {"offline", "tag"}  # earlier releases wrote neither
ASKED_BY_KEYS = frozenset({"uid", "user", "pid"})  # who asked for a test scan or an import
ROLE_KINDS: Mapping[GateRole, frozenset[str]] = {
    "entry": frozenset(MAX_BODY),
    "exit": frozenset(MAX_BODY),
    "desk": frozenset({"decision", "fire_alarm", "allowlist", "clock"}),
    "handheld": frozenset({"decision", "fire_alarm", "allowlist", "clock"}),
}
_CORRECTIONS = frozenset(
    {BandReplaced, BandUnbound, BandReissued, GroupFlagged, ValueRevoked, ValueRestored}
)
_BINDING = (
    frozenset(
        {
            BindingOpened,
            BandBound,
            OverrideArmed,
            GroupsJoined,
            ChildRegistered,
            PickupCodeIssued,
            NotAuthorisedSet,
            IncidentOpened,  # a lost-child incident, opened and closed at a desk or handheld
            IncidentClosed,
            StockRecorded,  # band stock taken, returned, written off, or one band handed back
        }
    )
    | _CORRECTIONS
)
ROLE_EVENTS: Mapping[GateRole, frozenset[type]] = {
    "entry": frozenset(
        {
            BandLearned,
            MemberMoved,
            PairingOpened,
            PairingClosed,
            OverrideArmed,
            OverrideSpent,
            VoucherUsed,
            PairingExtended,
        }
    ),
    "exit": frozenset(
        {
            BandLearned,
            MemberMoved,
            PairingOpened,
            PairingClosed,
            GroupFlagged,
            OverrideArmed,
            OverrideSpent,
            PairingExtended,
            PickupAsked,
            PickupCodeRefused,
        }
    ),
    "desk": _BINDING,
    "handheld": _BINDING,
}
ROLE_MODE: Mapping[GateRole, Mode] = {
    "entry": Mode.ENTRY,
    "exit": Mode.EXIT,
    "desk": Mode.BIND,
    "handheld": Mode.BIND,
}
PASSAGE_GRANTS = frozenset(
    {
        Code.OK_ENTRY,
        Code.OK_REENTRY,
        Code.OK_COLLECT,
        Code.OK_EXIT,
        Code.OK_TEMP_EXIT,
        Code.OK_OVERRIDE,
    }
)


@dataclass(frozen=True, slots=True)
class PastDecision:
    """A decision entry the consumer holds: what a passage record's undo is judged against."""

    decision: Decision
    events: Sequence[Event] = ()


DecisionLookup = Callable[[str, int], PastDecision | None]  # (gate, seq) -> its decision entry


def _holds_none(gate: str, seq: int) -> PastDecision | None:
    return None


@dataclass(frozen=True, slots=True)
class Knowledge:
    """What the consumer knows: the allowlist (stock roles, staff badges, revocations,
    tickets), the members its state holds (roles of bands it saw bound), and the decision
    entries it holds, by (gate, seq) (the hub's store, a gate's presence log)."""

    allowlist: Allowlist = field(default_factory=Allowlist)
    members: Mapping[str, Member] = field(default_factory=dict)
    decision_of: DecisionLookup = _holds_none


@dataclass(frozen=True, slots=True)
class PeerEntry:
    """One journal entry of gate `gate` as a consumer received it, its events decoded.

    `role`: the roster's role for the gate, None when the roster does not name it; `roster`:
    whether the consumer holds a roster at all (a venue installed without one checks what it
    can without roles)."""

    gate: str
    role: GateRole | None
    roster: bool
    kind: str
    body: Mapping[str, object]
    events: Sequence[Event] = ()
    decision: Decision | None = None
    seq: int = 0


def check_shape(kind: str, body: Mapping[str, object], size: int) -> None:
    """Kind known, body keys as the gates write them, size within the kind's bound."""
    if kind not in MAX_BODY:
        raise Refused(Reason.SCHEMA, f"unknown entry kind {kind[:32]!r}")
    if size > MAX_BODY[kind]:
        raise Refused(Reason.SCHEMA, f"{kind} entry of {size} bytes, over {MAX_BODY[kind]}")
    keys = set(body)
    needed = BODY_KEYS[kind] - {"events", "asked_by", "request", "staff", "desk_action"}
    if not keys <= BODY_KEYS[kind] or not needed <= keys:
        extra = sorted(str(k)[:32] for k in keys - BODY_KEYS[kind])[:5]
        missing = sorted(needed - keys)
        raise Refused(Reason.SCHEMA, f"{kind} body: unexpected {extra}, missing {missing}")
    if kind == "decision":
        scan = body["scan"]
        if not isinstance(scan, Mapping) or not SCAN_KEYS_NEEDED <= set(scan) <= SCAN_KEYS:
            raise Refused(Reason.SCHEMA, "decision body: scan is not a scan record")
    asked = body.get("asked_by")
    if "asked_by" in body and not (isinstance(asked, Mapping) and set(asked) <= ASKED_BY_KEYS):
        raise Refused(Reason.SCHEMA, f"{kind} body: asked_by is not who asked")
    request = body.get("request")
    if "request" in body and not (isinstance(request, str) and 0 < len(request) <= 64):
        raise Refused(Reason.SCHEMA, f"{kind} body: request is not a request id")
    staff = body.get("staff")
    if "staff" in body and not (isinstance(staff, str) and 0 < len(staff) <= 64):
        raise Refused(Reason.SCHEMA, f"{kind} body: staff is not a badge")
    if "desk_action" in body and body["desk_action"] is not True:
        raise Refused(Reason.SCHEMA, f"{kind} body: desk_action is not true")
    if kind == "passage" and not (
        isinstance(body["passed"], bool) and type(body["decision_seq"]) is int
    ):
        raise Refused(Reason.SCHEMA, "passage body: decision_seq or passed malformed")
    if kind == "fire_alarm" and not isinstance(body["on"], bool):
        raise Refused(Reason.SCHEMA, "fire_alarm body: on is not true or false")
    if kind == "clock" and not (
        type(body["from_seq"]) is int
        and body["from_seq"] >= 1
        and type(body["shift_ms"]) is int
        and abs(body["shift_ms"]) <= MAX_CLOCK_SHIFT_MS
    ):
        raise Refused(Reason.SCHEMA, "clock body: from_seq or shift_ms malformed")


def check_seq(seq: int, watermark: int, bound: int) -> None:
    """A batch's seq may run ahead of the sender's watermark by at most `bound`."""
    if seq > watermark + bound:
        raise Refused(
            Reason.SEQ_JUMP, f"seq {seq} is {seq - watermark} beyond the watermark {watermark}"
        )


def check_clock(hlc_wall_ms: int, clock_ms: int, max_drift_ms: int) -> None:
    """An entry's hybrid timestamp may run ahead of the receiver's clock (`clock_ms`: the later
    of its wall clock and its own newest timestamp) by at most `max_drift_ms`: one far in the
    future would sort after everything to come and make each later entry look late."""
    if hlc_wall_ms - clock_ms > max_drift_ms:
        ahead = (hlc_wall_ms - clock_ms) // 1000
        raise Refused(
            Reason.CLOCK_AHEAD,
            f"hybrid clock {ahead} s ahead of this one (allowed: {max_drift_ms // 1000} s)",
        )


__all__ = [
    "GATE_ROLES",
    "MAX_BODY",
    "DecisionLookup",
    "GateRole",
    "Knowledge",
    "PastDecision",
    "PeerEntry",
    "Reason",
    "Refused",
    "check_clock",
    "check_seq",
    "check_shape",
]
