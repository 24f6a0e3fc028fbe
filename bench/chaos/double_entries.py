"""Double entries at the hub: a band let in while the hub's fold already had it inside.

What counts: the hub's store in its order (hybrid clock, gate, seq), every gate's entries
together, each band's state followed through the events that set it (`MemberMoved`, `BandReissued`;
`BandLearned` for a band not heard of yet; `BandUnbound` takes the band out); a move *into*
`inside` of a band the fold has inside, with no move out between, is one double entry. An
entry let in at a gate cut off from the one that let the band in first is the case it is
for; a band let in again at the same gate cannot be one (the gate knows its own journal).

It is counted here from the hub's store itself, not from the hub's findings: the same fold,
but a judge that reads the findings through the hub's API would count nothing where the API
did not answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from gate.core import BandLearned, BandReissued, BandUnbound, MemberMoved, MemberState
from gate.link.codec import CodecError, events_of


class Stored(Protocol):  # bench.chaos.checker.Row
    gate: str
    seq: int
    body: Any


def double_entries(hub: Sequence[Stored]) -> list[str]:
    """Each double entry in `hub` (in the hub's order), named by band and entries."""
    where: dict[str, tuple[MemberState, str]] = {}  # band: its state, and the entry that set it
    found = []
    for row in hub:
        try:
            events = events_of(dict(row.body))
        except CodecError:  # the checker names undecodable entries (child_safety_violations)
            continue
        for event in events:
            entry = f"{row.gate}/{row.seq}"
            before = where.get(event.uid) if hasattr(event, "uid") else None
            if isinstance(event, BandUnbound):
                where.pop(event.uid, None)
            elif isinstance(event, BandReissued) or (
                isinstance(event, BandLearned) and before is None
            ):
                where[event.uid] = (event.state, entry)
            elif isinstance(event, MemberMoved):
                inside = before is not None and before[0] is MemberState.INSIDE
                if event.state is MemberState.INSIDE and inside:
                    found.append(f"{event.uid} let in by {entry} while inside since {before[1]}")
                where[event.uid] = (event.state, entry)
    return found


def recorded_moves(hub: Sequence[Stored]) -> int:
    """The moves at the hub journalled with a band's passage counter: each written on its band
    before the relay moved (how many of the campaign's moves the band's record took part in)."""
    n = 0
    for row in hub:
        try:
            events = events_of(dict(row.body))
        except CodecError:
            continue
        n += sum(1 for e in events if isinstance(e, MemberMoved) and e.counter is not None)
    return n
