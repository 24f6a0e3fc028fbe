"""A gate speaks only for itself: what a peer gate's journal entry may say, checked before it is
kept or folded (design §9). Pure: no I/O, no clock; the caller decodes the body's events and
decision (`gate.link.vetting`) and hands in what it knows.

    check_shape(kind, body, size)                     # before decoding anything
    events = vet(PeerEntry(...), Knowledge(...))      # the entry's events, or `Refused`

What each role's gate journals (read from `gate.daemon.gate`: `scan`, `_record`, `_passage`,
`_advance_time`, `_fire_alarm`, `_swap_allowlist`; the table is in docs/security/authority.md):

    entry     decision  BandLearned(bound) MemberMoved(inside) PairingOpened(entry)
                        OverrideArmed OverrideSpent
              expiry    PairingClosed(entry)
              passage   MemberMoved (an undo: unforced, never to exited)
    exit      decision  BandLearned(inside) MemberMoved(exited|temp_out) PairingOpened(exit)
                        GroupFlagged OverrideArmed OverrideSpent
              expiry    PairingClosed(exit) MemberMoved(temp_out, adults) GroupFlagged
              passage   MemberMoved (an undo: unforced)
    desk      decision  BindingOpened BandBound OverrideArmed
    handheld  decision  BindingOpened BandBound OverrideArmed   (bind mode; checks journal nothing)
    every     fire_alarm, allowlist: no events

Refusal is whole-entry: an entry is accepted or refused entirely, with one stable reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

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
from gate.core.model import Code, Decision, Member, MemberState, Mode, Role
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
}
BODY_KEYS: Mapping[str, frozenset[str]] = {
    "decision": frozenset({"scan", "decision", "events", "asked_by"}),  # asked_by: test scans
    "passage": frozenset({"decision_seq", "passed", "events"}),
    "expiry": frozenset({"events"}),
    "fire_alarm": frozenset({"on"}),
    "allowlist": frozenset({"version", "source", "asked_by"}),  # asked_by: gatectl's imports
}
SCAN_KEYS = frozenset({"kind", "value", "mode", "intent", "token", "offline", "tag"})
SCAN_KEYS_NEEDED = SCAN_KEYS - {"offline", "tag"}  # earlier releases wrote neither
ASKED_BY_KEYS = frozenset({"uid", "user", "pid"})  # who asked for a test scan or an import
ROLE_KINDS: Mapping[GateRole, frozenset[str]] = {
    "entry": frozenset(MAX_BODY),
    "exit": frozenset(MAX_BODY),
    "desk": frozenset({"decision", "fire_alarm", "allowlist"}),
    "handheld": frozenset({"decision", "fire_alarm", "allowlist"}),
}
_BINDING = frozenset({BindingOpened, BandBound, OverrideArmed})
ROLE_EVENTS: Mapping[GateRole, frozenset[type]] = {
    "entry": frozenset(
        {BandLearned, MemberMoved, PairingOpened, PairingClosed, OverrideArmed, OverrideSpent}
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
    {Code.OK_ENTRY, Code.OK_REENTRY, Code.OK_EXIT, Code.OK_TEMP_EXIT, Code.OK_OVERRIDE}
)
_GRANT_TARGET = {
    Code.OK_ENTRY: MemberState.INSIDE,
    Code.OK_REENTRY: MemberState.INSIDE,
    Code.OK_EXIT: MemberState.EXITED,
    Code.OK_TEMP_EXIT: MemberState.TEMP_OUT,
}


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
    needed = BODY_KEYS[kind] - {"events", "asked_by"}  # no events: may leave them out
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
    if kind == "passage" and not (
        isinstance(body["passed"], bool) and type(body["decision_seq"]) is int
    ):
        raise Refused(Reason.SCHEMA, "passage body: decision_seq or passed malformed")
    if kind == "fire_alarm" and not isinstance(body["on"], bool):
        raise Refused(Reason.SCHEMA, "fire_alarm body: on is not true or false")


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


def vet(entry: PeerEntry, knows: Knowledge) -> list[Event]:
    """The entry's events if its gate may say them; else `Refused`. `check_shape` first."""
    if entry.roster and entry.role is None:
        raise Refused(Reason.UNKNOWN_GATE, f"gate {entry.gate} is not on the venue's roster")
    for event in entry.events:
        if event.gate != entry.gate:
            raise Refused(
                Reason.FOREIGN_GATE,
                f"{type(event).__name__} names gate {event.gate[:32]}, not {entry.gate}",
            )
    _role_can(entry)
    if entry.kind == "decision":
        _decision(entry, knows)
    elif entry.kind == "expiry":
        _expiry(entry, knows)
    elif entry.kind == "passage":
        _passage(entry, knows)
    elif entry.events:
        raise Refused(Reason.KIND_CANNOT, f"a {entry.kind} entry holds no events")
    return list(entry.events)


def _role_can(entry: PeerEntry) -> None:
    role = entry.role
    if role is None:
        return
    if entry.kind not in ROLE_KINDS[role]:
        raise Refused(Reason.ROLE_CANNOT, f"a {role} gate journals no {entry.kind} entries")
    for event in entry.events:
        if type(event) not in ROLE_EVENTS[role]:
            raise Refused(Reason.ROLE_CANNOT, f"a {role} gate never says {type(event).__name__}")


# --- expiry: windows closing ---------------------------------------------------------------------


def _expiry(entry: PeerEntry, knows: Knowledge) -> None:
    """Only PairingClosed, GroupFlagged and adults recalled to `temp_out` by an exit window."""
    for event in entry.events:
        uid = getattr(event, "uid", "")[:32]
        match event:
            case PairingClosed(direction=direction):
                if entry.role is not None and direction is not ROLE_MODE[entry.role]:
                    raise Refused(Reason.ROLE_CANNOT, f"a {entry.role} gate closes no {direction}")
            case GroupFlagged():
                pass  # an exit window that closed on children alone flags their group
            case MemberMoved(state=MemberState.TEMP_OUT, forced=False, staff=None):
                if entry.role not in (None, "exit"):
                    raise Refused(Reason.ROLE_CANNOT, f"only an exit's window recalls, not {uid}")
                if _role_known(event.uid, event.group, knows) not in (None, Role.ADULT):
                    raise Refused(Reason.KIND_CANNOT, f"an expiry recalls adults only: {uid}")
                if event.overrode is not None:
                    raise Refused(Reason.KIND_CANNOT, "an expiry overrides nothing")
            case _:
                raise Refused(Reason.KIND_CANNOT, f"an expiry holds no {_shown(event)}")


def _role_known(uid: str, group: str, knows: Knowledge) -> Role | None:
    """A band's role in `group` as the consumer knows it: from its binding to that group (a
    band returned and bound again elsewhere may have had another), else from the stock."""
    member = knows.members.get(uid)
    if member is not None and member.group == group:
        return member.role
    return knows.allowlist.bands.get(uid)


# --- passage: a grant nobody went through is undone ----------------------------------------------


def _passage(entry: PeerEntry, knows: Knowledge) -> None:
    """A passage record undoes, when nobody went through, the moves of the grant it names: that
    grant must come before it, be held by the consumer (a gate publishes in seq order, so the
    decision arrives first), and have moved each member undone, from where it could have been."""
    if entry.events and entry.body.get("passed") is not False:
        raise Refused(Reason.KIND_CANNOT, "a passage that was passed undoes nothing")
    for event in entry.events:
        if not isinstance(event, MemberMoved) or event.forced or event.staff or event.overrode:
            raise Refused(Reason.KIND_CANNOT, f"a passage only undoes moves, not {_shown(event)}")
        if event.state is MemberState.EXITED:
            raise Refused(Reason.KIND_CANNOT, "an undo never moves anyone to `exited`")
    if not entry.events:
        return
    seq = entry.body.get("decision_seq")
    if type(seq) is not int or not 0 < seq < entry.seq:
        raise _mismatch(f"an undo names decision {str(seq)[:20]}, not one before its own")
    past = knows.decision_of(entry.gate, seq)
    if past is None:
        raise _mismatch(f"an undo of decision {seq}, which this consumer does not hold")
    d = past.decision
    if not d.granted or d.gate != entry.gate or d.code not in PASSAGE_GRANTS:
        raise _mismatch(f"decision {seq} is no passage grant of {entry.gate}")
    made = {e.uid: e for e in past.events if isinstance(e, MemberMoved)}
    undone: set[str] = set()
    for event in entry.events:
        assert isinstance(event, MemberMoved)  # checked above
        moved = made.get(event.uid)
        if moved is None or moved.group != event.group or event.uid in undone:
            raise _mismatch(f"decision {seq} did not move {event.uid[:32]} (once) to undo")
        undone.add(event.uid)
        if event.state not in _UNDO_TO[moved.state] or (
            event.state is MemberState.TEMP_OUT and d.role is not Role.ADULT
        ):
            raise _mismatch(f"{moved.state} is not undone to {event.state}")


# Where a member granted a move may have come from (rules: an entry lets in from `bound` or
# `temp_out`; an exit lets out from `inside`, or, offline or forced, from `bound` or `temp_out`).
# Only adults are ever `temp_out` on an undo (children never exit temporarily).
_UNDO_TO: Mapping[MemberState, frozenset[MemberState]] = {
    MemberState.INSIDE: frozenset({MemberState.BOUND, MemberState.TEMP_OUT}),
    MemberState.EXITED: frozenset({MemberState.INSIDE, MemberState.BOUND, MemberState.TEMP_OUT}),
    MemberState.TEMP_OUT: frozenset({MemberState.INSIDE, MemberState.BOUND}),
    MemberState.BOUND: frozenset(),
}


# --- decision: the events must follow from the entry's own decision ------------------------------


def _decision(entry: PeerEntry, knows: Knowledge) -> None:
    d = entry.decision
    scan = entry.body.get("scan")
    if d is None or not isinstance(scan, Mapping):
        raise Refused(Reason.SCHEMA, "a decision entry without its decision")
    mode = scan.get("mode")
    if entry.role is not None and mode != ROLE_MODE[entry.role]:
        raise Refused(Reason.ROLE_CANNOT, f"a {entry.role} gate scans in no {str(mode)[:16]} mode")
    if d.gate != entry.gate or scan.get("value") != d.value:
        raise Refused(Reason.DECISION_MISMATCH, "the decision is not this gate's, of this scan")
    if not d.granted:
        if entry.events:
            raise Refused(Reason.DECISION_MISMATCH, f"{d.code} changes nothing")
        return
    if d.forced != (d.code is Code.OK_OVERRIDE):
        raise Refused(Reason.DECISION_MISMATCH, "forced only with OK_OVERRIDE")
    if d.code is Code.OK_STAFF:
        _armed(entry, d, knows)
    elif d.code is Code.OK_BIND:
        _bound(entry, d, mode, knows)
    elif d.code in PASSAGE_GRANTS:
        _passed(entry, d, scan, knows)


def _mismatch(what: str) -> Refused:
    return Refused(Reason.DECISION_MISMATCH, what)


def _armed(entry: PeerEntry, d: Decision, knows: Knowledge) -> None:
    """OK_STAFF arms an override with the badge scanned, if enrolled and not revoked."""
    badge = d.value
    if badge not in knows.allowlist.staff or badge in knows.allowlist.revoked:
        raise _mismatch(f"OK_STAFF of {badge[:32]}: not an enrolled, unrevoked staff badge")
    armed = entry.events[0] if len(entry.events) == 1 else None
    if not isinstance(armed, OverrideArmed) or armed.staff != badge:
        raise _mismatch("OK_STAFF arms an override with the scanned badge, and nothing else")


def _bound(entry: PeerEntry, d: Decision, mode: object, knows: Knowledge) -> None:
    if mode != Mode.BIND:
        raise _mismatch("OK_BIND outside bind mode")
    if len(entry.events) != 1:
        raise _mismatch("OK_BIND opens a binding or binds one band")
    event = entry.events[0]
    match event:
        case BindingOpened(group=group):
            # Its adults and children are the ticket's as the desk knew it: the allowlist may
            # have changed since (an amended ticket), so they are not held against ours.
            if group != d.value or group != d.group:
                raise _mismatch("a binding opens for the ticket scanned")
        case BandBound(uid=uid, group=group, role=role):
            if uid != d.value or group != d.group or role != d.role:
                raise _mismatch("OK_BIND binds the band scanned, to the decision's group and role")
            _stock(uid, role, knows)
        case _:
            raise _mismatch(f"OK_BIND never says {_shown(event)}")


def _stock(uid: str, role: Role, knows: Knowledge) -> None:
    stock = knows.allowlist.bands.get(uid)
    if stock is None:
        return
    if (stock is Role.ADULT) != (role is Role.ADULT):
        raise Refused(Reason.STOCK_ROLE, f"band {uid[:32]} is {stock} stock, bound as {role}")


def _passed(entry: PeerEntry, d: Decision, scan: Mapping[str, object], knows: Knowledge) -> None:
    """A passage grant moves the scanned band (learned from its token first, if new), opens a
    pairing window for an adult, flags a group an adult leaves its children in, and spends the
    override that forced it."""
    mode = scan.get("mode")
    if mode not in (Mode.ENTRY, Mode.EXIT):
        raise _mismatch(f"{d.code} outside entry or exit mode")
    uid, group = d.value, d.group
    target = _GRANT_TARGET.get(d.code)
    if d.code is Code.OK_OVERRIDE:
        badges, revoked = knows.allowlist.staff, knows.allowlist.revoked
        if d.staff is None or d.overrode is None or d.staff not in badges or d.staff in revoked:
            raise _mismatch(
                "OK_OVERRIDE names an enrolled, unrevoked staff badge and the denial it set aside"
            )
        temporary = scan.get("intent") == "temporary"
        target = (
            MemberState.INSIDE
            if mode == Mode.ENTRY
            else (MemberState.TEMP_OUT if temporary else MemberState.EXITED)
        )
    if (target is MemberState.INSIDE) != (mode == Mode.ENTRY):
        raise _mismatch(f"{d.code} in {mode} mode")
    kinds = Counter(type(e) for e in entry.events)
    if kinds[MemberMoved] != 1:
        raise _mismatch(f"{d.code} moves exactly the band scanned")
    if any(n > 1 for n in kinds.values()):  # a grant says each thing once (rules `_grant`)
        raise _mismatch(f"{d.code} says each kind of event at most once")
    for event in entry.events:
        match event:
            case BandLearned():
                learned = MemberState.INSIDE if mode == Mode.EXIT else MemberState.BOUND
                if (event.uid, event.group, event.role) != (uid, group, d.role) or (
                    event.state is not learned or scan.get("token") is not True
                ):
                    raise _mismatch("a band is learned from its own token, where it was scanned")
                _stock(uid, event.role, knows)
            case MemberMoved():
                if (event.uid, event.group, event.state) != (uid, group, target):
                    raise _mismatch(f"{d.code} moves {uid[:32]} of {group} to {target}")
                forced = (event.forced, event.staff, event.overrode)
                if forced != (d.forced, d.staff, d.overrode):
                    raise _mismatch("a move is forced exactly as its decision")
            case PairingOpened():
                if (event.group, event.direction, event.adult) != (group, mode, uid) or (
                    d.role is not Role.ADULT
                ):
                    raise _mismatch("a pairing window opens only for the adult granted here")
            case GroupFlagged():
                if event.group != group or d.role is not Role.ADULT:
                    raise _mismatch("only an adult leaving flags its group")
                # a temporary exit; or a final one that opened no window (a test scan) to flag
                # the group when it closes
                if target is not MemberState.TEMP_OUT and (
                    target is not MemberState.EXITED or PairingOpened in kinds
                ):
                    raise _mismatch("a group is flagged by an exit that leaves no window")
            case OverrideSpent():
                spent = (event.staff, event.uid, event.overrode)
                if d.code is not Code.OK_OVERRIDE or spent != (d.staff, uid, d.overrode):
                    raise _mismatch("an override is spent only by the OK_OVERRIDE it made")
            case _:
                raise _mismatch(f"{d.code} never says {_shown(event)}")
    if d.code is Code.OK_OVERRIDE and OverrideSpent not in kinds:
        raise _mismatch("OK_OVERRIDE spends its override")


def _shown(event: Event) -> str:
    return type(event).__name__


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
    "vet",
]
