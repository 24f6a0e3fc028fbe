"""`vet`: whether a peer gate's journal entry may say what its events say, whole-entry, against
its gate's role and the kind of entry (the table in `gate.core.authority`). Pure."""

from __future__ import annotations

from collections.abc import Mapping

from gate.core.authority import (
    PASSAGE_GRANTS,
    ROLE_EVENTS,
    ROLE_KINDS,
    ROLE_MODE,
    Knowledge,
    PeerEntry,
    Reason,
    Refused,
    mismatch,
    shown,
)
from gate.core.events import Event, GroupFlagged, MemberMoved, PairingClosed
from gate.core.model import MemberState, Role
from gate.core.peer_decisions import check_decision


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
    _counters(entry)
    if entry.kind == "decision":
        check_decision(entry, knows)
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


def _counters(entry: PeerEntry) -> None:
    """A passage counter is what a decision wrote on a band (`gate.core.passages`): 1 to
    2^32 - 1, as a band holds it, and never in an expiry or an undo, which write nothing. The
    counter a recall names (`recalled_from`, 0 for a band with no passage yet) is an expiry's."""
    for event in entry.events:
        counter = getattr(event, "counter", None)
        recalled_from = getattr(event, "recalled_from", None)
        if recalled_from is not None:
            if entry.kind != "expiry":
                raise Refused(Reason.KIND_CANNOT, f"a {entry.kind} entry recalls nobody")
            if not 0 <= recalled_from < 1 << 32:
                raise Refused(Reason.SCHEMA, f"recall from {str(recalled_from)[:16]} out of range")
        if counter is None:
            continue
        if entry.kind != "decision":
            raise Refused(Reason.KIND_CANNOT, f"a {entry.kind} entry writes no passage counter")
        if not 0 < counter < 1 << 32:
            raise Refused(Reason.SCHEMA, f"passage counter {str(counter)[:16]} out of range")


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
                raise Refused(Reason.KIND_CANNOT, f"an expiry holds no {shown(event)}")


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
            raise Refused(Reason.KIND_CANNOT, f"a passage only undoes moves, not {shown(event)}")
        if event.state is MemberState.EXITED:
            raise Refused(Reason.KIND_CANNOT, "an undo never moves anyone to `exited`")
    if not entry.events:
        return
    seq = entry.body.get("decision_seq")
    if type(seq) is not int or not 0 < seq < entry.seq:
        raise mismatch(f"an undo names decision {str(seq)[:20]}, not one before its own")
    past = knows.decision_of(entry.gate, seq)
    if past is None:
        raise mismatch(f"an undo of decision {seq}, which this consumer does not hold")
    d = past.decision
    if not d.granted or d.gate != entry.gate or d.code not in PASSAGE_GRANTS:
        raise mismatch(f"decision {seq} is no passage grant of {entry.gate}")
    made = {e.uid: e for e in past.events if isinstance(e, MemberMoved)}
    undone: set[str] = set()
    for event in entry.events:
        assert isinstance(event, MemberMoved)  # checked above
        moved = made.get(event.uid)
        if moved is None or moved.group != event.group or event.uid in undone:
            raise mismatch(f"decision {seq} did not move {event.uid[:32]} (once) to undo")
        undone.add(event.uid)
        if event.state not in _UNDO_TO[moved.state] or (
            event.state is MemberState.TEMP_OUT and d.role is not Role.ADULT
        ):
            raise mismatch(f"{moved.state} is not undone to {event.state}")


# Where a member granted a move may have come from (rules: an entry lets in from `bound` or
# `temp_out`; an exit lets out from `inside`, or, offline or forced, from `bound` or `temp_out`).
# Only adults are ever `temp_out` on an undo (children never exit temporarily).
_UNDO_TO: Mapping[MemberState, frozenset[MemberState]] = {
    MemberState.INSIDE: frozenset({MemberState.BOUND, MemberState.TEMP_OUT}),
    MemberState.EXITED: frozenset({MemberState.INSIDE, MemberState.BOUND, MemberState.TEMP_OUT}),
    MemberState.TEMP_OUT: frozenset({MemberState.INSIDE, MemberState.BOUND}),
    MemberState.BOUND: frozenset(),
}
