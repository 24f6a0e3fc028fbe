"""A peer's decision entry: its events must follow from its own decision (a grant moves the
band scanned, a staff badge arms an override, a bind binds), as `gate.core.decider` makes them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from gate.core.authority import (
    PASSAGE_GRANTS,
    ROLE_MODE,
    Knowledge,
    PeerEntry,
    Reason,
    Refused,
    mismatch,
    shown,
)
from gate.core.events import (
    BandBound,
    BandLearned,
    BindingOpened,
    GroupFlagged,
    GroupsJoined,
    MemberMoved,
    OverrideArmed,
    OverrideSpent,
    PairingExtended,
    PairingOpened,
    PickupCodeIssued,
    VoucherUsed,
)
from gate.core.model import Code, Decision, MemberState, Mode, Role
from gate.core.peer_corrections import check_correction, stock_fits
from gate.core.peer_guardians import (
    check_pickup,
    check_pickup_issued,
    check_pickup_tried,
    check_registered,
)

_GRANT_TARGET = {
    Code.OK_ENTRY: MemberState.INSIDE,
    Code.OK_REENTRY: MemberState.INSIDE,
    Code.OK_COLLECT: MemberState.INSIDE,
    Code.OK_EXIT: MemberState.EXITED,
    Code.OK_TEMP_EXIT: MemberState.TEMP_OUT,
}


def check_decision(entry: PeerEntry, knows: Knowledge) -> None:
    """The entry's events follow from its decision, made in its gate's mode: none from a denial."""
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
            check_pickup_tried(entry, d, mode)  # a solo child waiting, or a wrong code
        return
    if d.forced != (d.code is Code.OK_OVERRIDE):
        raise Refused(Reason.DECISION_MISMATCH, "forced only with OK_OVERRIDE")
    if d.code is Code.OK_STAFF:
        _armed(entry, d, knows)
    elif d.code is Code.OK_BIND:
        _bound(entry, d, mode, knows)
    elif d.code is Code.OK_JOIN:
        _joined(entry, d, mode)
    elif d.code is Code.OK_CORRECTED:
        check_correction(entry, d, mode, knows)
    elif d.code is Code.OK_GROUP_WINDOW:
        _reopened(entry, d, mode)
    elif d.code is Code.OK_REGISTERED:
        check_registered(entry, d, mode, knows)
    elif d.code is Code.OK_PICKUP:
        check_pickup(entry, d, mode)
    elif d.code in PASSAGE_GRANTS:
        _passed(entry, d, scan, knows)


def _armed(entry: PeerEntry, d: Decision, knows: Knowledge) -> None:
    """OK_STAFF arms an override with the badge scanned, if enrolled and not revoked."""
    badge = d.value
    if badge not in knows.allowlist.staff or badge in knows.allowlist.revoked:
        raise mismatch(f"OK_STAFF of {badge[:32]}: not an enrolled, unrevoked staff badge")
    armed = entry.events[0] if len(entry.events) == 1 else None
    if not isinstance(armed, OverrideArmed) or armed.staff != badge:
        raise mismatch("OK_STAFF arms an override with the scanned badge, and nothing else")


def _bound(entry: PeerEntry, d: Decision, mode: object, knows: Knowledge) -> None:
    if mode != Mode.BIND:
        raise mismatch("OK_BIND outside bind mode")
    events = list(entry.events)
    issued = events[-1] if len(events) == 2 else None
    if isinstance(issued, PickupCodeIssued):
        check_pickup_issued(issued, d)  # the group's pickup code, with its first band
        events.pop()
        if not isinstance(events[0], BandBound):
            raise mismatch("a pickup code is issued with a band bound")
    if len(events) != 1:
        raise mismatch("OK_BIND opens a binding or binds one band")
    event = events[0]
    match event:
        case BindingOpened(group=group):
            # Its adults and children are the ticket's as the desk knew it: the allowlist may
            # have changed since (an amended ticket), so they are not held against ours.
            if group != d.value or group != d.group:
                raise mismatch("a binding opens for the ticket scanned")
        case BandBound(uid=uid, group=group, role=role, carried=carried):
            if uid != d.value or group != d.group or role != d.role:
                raise mismatch("OK_BIND binds the band scanned, to the decision's group and role")
            if not 0 <= carried < 1 << 32:
                raise mismatch(f"passage counter carried {str(carried)[:16]} out of range")
            _stock(uid, role, knows)
        case _:
            raise mismatch(f"OK_BIND never says {shown(event)}")


def _joined(entry: PeerEntry, d: Decision, mode: object) -> None:
    """OK_JOIN (staff at the desk) joins the ticket scanned with one other, and nothing else."""
    event = entry.events[0] if len(entry.events) == 1 else None
    if mode != Mode.BIND or not isinstance(event, GroupsJoined):
        raise mismatch("OK_JOIN joins two tickets at a desk, and nothing else")
    if event.group != d.value or event.group != d.group or event.other == event.group:
        raise mismatch("OK_JOIN joins the ticket scanned with another")


def _reopened(entry: PeerEntry, d: Decision, mode: object) -> None:
    """OK_GROUP_WINDOW reopens the scanned leader's window here, this way; nobody moves."""
    event = entry.events[0] if len(entry.events) == 1 else None
    if mode not in (Mode.ENTRY, Mode.EXIT) or not isinstance(event, PairingOpened):
        raise mismatch("OK_GROUP_WINDOW opens one pairing window, and nothing else")
    if (event.adult, event.group, event.direction) != (d.value, d.group, mode) or (
        d.role is not Role.ADULT
    ):
        raise mismatch("OK_GROUP_WINDOW reopens the scanned leader's window, this way")


def _stock(uid: str, role: Role, knows: Knowledge) -> None:
    stock_fits(uid, role, knows)


def _passed(entry: PeerEntry, d: Decision, scan: Mapping[str, object], knows: Knowledge) -> None:
    """A passage grant moves the scanned band (learned from its token first, if new), opens a
    pairing window for an adult, flags a group an adult leaves its children in, and spends the
    override that forced it."""
    mode = scan.get("mode")
    if mode not in (Mode.ENTRY, Mode.EXIT):
        raise mismatch(f"{d.code} outside entry or exit mode")
    uid, group = d.member or d.value, d.group  # a voucher or ticket names its member
    if d.member is not None and (scan.get("kind") != "barcode" or mode != Mode.ENTRY):
        raise mismatch("only a barcode at an entry gate stands for another member")
    target = _GRANT_TARGET.get(d.code)
    if d.code is Code.OK_OVERRIDE:
        badges, revoked = knows.allowlist.staff, knows.allowlist.revoked
        if d.staff is None or d.overrode is None or d.staff not in badges or d.staff in revoked:
            raise mismatch(
                "OK_OVERRIDE names an enrolled, unrevoked staff badge and the denial it set aside"
            )
        temporary = scan.get("intent") == "temporary"
        target = (
            MemberState.INSIDE
            if mode == Mode.ENTRY
            else (MemberState.TEMP_OUT if temporary else MemberState.EXITED)
        )
    if (target is MemberState.INSIDE) != (mode == Mode.ENTRY):
        raise mismatch(f"{d.code} in {mode} mode")
    kinds = Counter(type(e) for e in entry.events)
    if kinds[MemberMoved] != 1:
        raise mismatch(f"{d.code} moves exactly the band scanned")
    if any(n > 1 for n in kinds.values()):  # a grant says each thing once (rules `_grant`)
        raise mismatch(f"{d.code} says each kind of event at most once")
    for event in entry.events:
        match event:
            case BandLearned():
                learned = MemberState.INSIDE if mode == Mode.EXIT else MemberState.BOUND
                if (event.uid, event.group, event.role) != (uid, group, d.role) or (
                    event.state is not learned or scan.get("token") is not True
                ):
                    raise mismatch("a band is learned from its own token, where it was scanned")
                _stock(uid, event.role, knows)
            case MemberMoved():
                if (event.uid, event.group, event.state) != (uid, group, target):
                    raise mismatch(f"{d.code} moves {uid[:32]} of {group} to {target}")
                forced = (event.forced, event.staff, event.overrode)
                if forced != (d.forced, d.staff, d.overrode):
                    raise mismatch("a move is forced exactly as its decision")
            case PairingOpened():
                if (event.group, event.direction, event.adult) != (group, mode, uid) or (
                    d.role is not Role.ADULT
                ):
                    raise mismatch("a pairing window opens only for the adult granted here")
            case GroupFlagged():
                if event.group != group or d.role is not Role.ADULT:
                    raise mismatch("only an adult leaving flags its group")
                # a temporary exit; or a final one that opened no window (a test scan) to flag
                # the group when it closes
                if target is not MemberState.TEMP_OUT and (
                    target is not MemberState.EXITED or PairingOpened in kinds
                ):
                    raise mismatch("a group is flagged by an exit that leaves no window")
            case VoucherUsed():
                if (event.uid, event.group) != (uid, group) or d.member is None:
                    raise mismatch("a voucher is spent by the entry of the member it names")
            case PairingExtended():
                if (event.group, event.direction, event.child) != (group, mode, uid) or (
                    d.role is not Role.CHILD
                ):
                    raise mismatch("a window runs on only for the child granted through it")
            case OverrideSpent():
                spent = (event.staff, event.uid, event.overrode)
                if d.code is not Code.OK_OVERRIDE or spent != (d.staff, uid, d.overrode):
                    raise mismatch("an override is spent only by the OK_OVERRIDE it made")
            case _:
                raise mismatch(f"{d.code} never says {shown(event)}")
    if d.code is Code.OK_OVERRIDE and OverrideSpent not in kinds:
        raise mismatch("OK_OVERRIDE spends its override")
