"""The band's own passage record in the decisions. Pure.

Each granted passage of a band read from a tag writes the band's next counter and the member's
state after it onto the band, before the relay moves (`gate.devices.nfc.passage`). A gate cut off
from the gate that let the band through still reads it there:

    band_rolled_back   a band whose counter is below the one journalled for it (a copy made
                       earlier, or the band restored from one): DENY_BAD_TOKEN, "band copied or
                       rolled back", never overridden
    as_band_says       a band whose counter is above what this state heard of it has moved
                       where this gate could not hear: the member as its record has it (so an
                       entry at E2 of a band let in at E1 is DENY_ALREADY_INSIDE, and an exit of a
                       band that left for good is DENY_ALREADY_EXITED)
    left_for_good      a band whose record, no newer than what this state heard of it, says it
                       left for good (exited, not kept), this state holding it out: no entry
                       since, or it would carry a newer record, so a gate cut off from the others
                       does not let it out again as one that may have come in elsewhere
    next_counter       the counter a granted passage writes (and its `MemberMoved` journals)
    record_of          the record a granted passage writes
    carried            the counter a band bound at the desk already carries for its group (a
                       record of an earlier binding to the same family: unbound, bound again):
                       `BandBound.carried`, where its member's counter starts, so the old record
                       is not newer than the binding and says nothing of the new member

A band without a record (blank slots, or written for another group) counts as counter 0. A
technician's test scan and a barcode carry no band: none of this applies to them.
"""

from __future__ import annotations

from dataclasses import replace

from gate.core.events import Event, MemberMoved
from gate.core.model import BandPassage, Code, Member, MemberState, Mode, Refusal, Role, Scan
from gate.core.state import State

ROLLED_BACK = (
    "band copied or rolled back: it carries passage {band}, this gate knows passage {known} of "
    "it; keep the band and call staff"
)


def band_counter(scan: Scan) -> int:
    return scan.passage.counter if scan.passage is not None else 0


def _of_member(member: Member, scan: Scan) -> bool:
    """The band on the reader carries records of `member`'s binding: the record's MAC covers
    its token's group, so a band bound again elsewhere (and this gate not told) carries another
    binding's counter, which says nothing of this one."""
    return scan.tag and (scan.token is None or scan.token.group == member.group)


def band_rolled_back(member: Member, scan: Scan) -> Refusal | None:
    """The band on the reader is behind what was journalled of it: not the band that passed."""
    if not _of_member(member, scan) or band_counter(scan) >= member.counter:
        return None
    return Refusal(
        Code.DENY_BAD_TOKEN, ROLLED_BACK.format(band=band_counter(scan), known=member.counter)
    )


def as_band_says(member: Member, scan: Scan) -> Member:
    """`member` as the band's own record has it, when that record is newer than what this state
    heard; else `member` unchanged. An adult's final exit ahead of children still inside (`kept`)
    reads as a temporary exit: the closing window makes it one, to come back for them."""
    p = scan.passage
    if not _of_member(member, scan) or p is None or p.counter <= member.counter:
        return member
    state = MemberState.TEMP_OUT if p.kept and p.state is MemberState.EXITED else p.state
    return replace(member, state=state, last_gate=p.gate, last_at=p.at)


def left_for_good(member: Member, scan: Scan) -> bool:
    """The band on the reader says it left for good (an exit not kept ahead of children) at the
    last passage this state knows of it, and this state holds it out: recalled out for a while by
    a closing window its exit gate never saw, or re-issued at the desk. No entry of it since, or
    its record would be newer."""
    p = scan.passage
    if not _of_member(member, scan) or p is None or p.counter != member.counter:
        return False
    left = p.state is MemberState.EXITED and not p.kept
    return left and member.state is not MemberState.INSIDE


def carried(scan: Scan, group: str) -> int:
    """The counter of the record the band on the desk's reader carries, when that record will
    stay valid once the band is bound to `group` (its MAC covers the group its token names):
    a band bound again to the same family. 0 for a band with none, or of another group."""
    if not scan.tag or scan.token is None or scan.token.group != group:
        return 0
    return band_counter(scan)


def next_counter(member: Member, scan: Scan) -> int | None:
    """The counter a granted passage of `member` writes on its band; None when no band of its
    own is on the reader (a test scan, a barcode, a voucher)."""
    if not scan.tag or member.uid != scan.value:
        return None
    return max(member.counter, band_counter(scan)) + 1


def record_of(state: State, scan: Scan, events: list[Event]) -> BandPassage | None:
    """What a granted passage writes on the band on the reader (None when it writes nothing),
    from `decide`'s events and the state they have not yet been folded into."""
    moved = next(
        (
            e
            for e in events
            if isinstance(e, MemberMoved) and e.uid == scan.value and e.counter is not None
        ),
        None,
    )
    if moved is None or moved.counter is None:
        return None
    member = state.members.get(moved.uid)
    role = member.role if member is not None else scan.token.role if scan.token else None
    with_adult = (
        role is Role.CHILD and moved.state is MemberState.INSIDE and scan.mode is Mode.ENTRY
    ) and not moved.forced  # the child rule let it in: an adult of its group was there
    kept = (
        role is Role.ADULT and moved.state is MemberState.EXITED and state.child_inside(moved.group)
    )
    return BandPassage(moved.counter, moved.gate, moved.state, moved.at, with_adult, kept)


def without_counter(events: list[Event], uid: str) -> list[Event]:
    """The events with the counter of `uid`'s move taken out: its record was not written, so
    nothing may say the band carries it (an exit that stands though the write failed)."""
    return [
        replace(e, counter=None) if isinstance(e, MemberMoved) and e.uid == uid else e
        for e in events
    ]
