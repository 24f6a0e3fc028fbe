"""The daily report's materials sheet (《每日物资领用记录表》, 报损记录): wristbands issued,
returned at a final exit or handed back at a desk after a temporary exit, still out when the day
ended, and written off as lost or damaged; and each desk's stock by shift (`hub.views.reports.
stock`: taken - issued + returned - written off = on hand)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gate.core import (
    BandBound,
    BandReissued,
    BandReplaced,
    BandUnbound,
    Event,
    MemberMoved,
    MemberState,
    Role,
    State,
)
from gate.store.allowlist.validate import is_normal_uid
from hub.store.band_stock import StockRecord
from hub.views.reports.formats import iso
from hub.views.reports.stock import ShiftBalance, shift_balances

WRITE_OFF_WORDS = ("lost", "damaged", "broken", "丢", "遗失", "损", "坏")


@dataclass(frozen=True, slots=True)
class BandRow:
    """A wristband bound and not returned."""

    uid: str
    role: Role
    group: str
    state: MemberState
    last_gate: str
    last_at: datetime

    def as_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "role": self.role.value,
            "group": self.group,
            "state": self.state.value,
            "last_gate": self.last_gate,
            "last_at": iso(self.last_at, tz),
        }


@dataclass(frozen=True, slots=True)
class WriteOff:
    """A band revoked as lost or damaged."""

    uid: str
    role: str  # the stock role, "" when the band is not in the stock list
    reason: str


@dataclass(frozen=True, slots=True)
class BandStock:
    issued: dict[str, int]  # bands bound during the day, by role
    returned: int  # bands taken back at a final exit during the day
    still_out: tuple[BandRow, ...]  # bound and not returned when the day ended
    written_off: tuple[WriteOff, ...]
    handed_back: tuple[str, ...] = ()  # bands handed back at a desk after a temporary exit
    shifts: tuple[ShiftBalance, ...] = ()  # each desk's stock by shift
    records: tuple[StockRecord, ...] = ()  # each record of the day, and who made it

    @property
    def issued_total(self) -> int:
        return sum(self.issued.values())

    @property
    def returned_total(self) -> int:
        return self.returned + len(self.handed_back)

    def as_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        return {
            "issued": dict(self.issued),
            "issued_total": self.issued_total,
            "returned": self.returned,
            "handed_back": list(self.handed_back),
            "returned_total": self.returned_total,
            "shifts": [b.as_dict() for b in self.shifts],
            "stock_records": [r.as_dict() for r in self.records],
            "still_out": [b.as_dict(tz) for b in self.still_out],
            "written_off": [
                {"uid": w.uid, "role": w.role, "reason": w.reason} for w in self.written_off
            ],
        }


@dataclass
class BandTally:
    """The materials sheet counted as the day is folded, event by event."""

    issued: Counter[str] = field(default_factory=Counter)
    returned: Counter[str] = field(default_factory=Counter)  # uid -> returns of the day
    bound_at: list[tuple[str, int]] = field(default_factory=list)  # (desk, ms) of each binding

    def bound(self, event: BandBound, ms: int) -> None:
        self.issued[event.role.value] += 1
        self.bound_at.append((event.gate, ms))

    def moved(self, event: MemberMoved, before: MemberState) -> None:
        if event.state is MemberState.EXITED and before is not MemberState.EXITED:
            self.returned[event.uid] += 1
        elif before is MemberState.EXITED and self.returned[event.uid] > 0:
            self.returned[event.uid] -= 1  # the exit became temporary, or was undone

    def corrected(self, event: Event, role: str) -> None:
        """A correction at a desk (`hub.views.reports.corrections`): an unbound band is issued
        no more, a replacement is, a band re-issued is no longer returned."""
        if isinstance(event, BandUnbound) and self.issued[role] > 0:
            self.issued[role] -= 1
        elif isinstance(event, BandReplaced):
            self.issued[role] += 1
        elif isinstance(event, BandReissued) and self.returned[event.uid] > 0:
            self.returned[event.uid] -= 1

    def stock(self, state: State, records: Sequence[StockRecord] = ()) -> BandStock:
        """The stock when the day ended in `state`, with the desks' records of the day."""
        back = {r.band for r in records if r.band}  # folded as returned: not still out
        return BandStock(
            issued={role: self.issued[role] for role in sorted(self.issued)},
            returned=sum(self.returned.values()),
            still_out=_still_out(state),
            written_off=_written_off(state),
            handed_back=tuple(sorted(back)),
            shifts=tuple(shift_balances(records, self.bound_at)),
            records=tuple(records),
        )


def _still_out(state: State) -> tuple[BandRow, ...]:
    rows = (
        BandRow(m.uid, m.role, m.group, m.state, m.last_gate, m.last_at)
        for m in state.members.values()
        if m.state is not MemberState.EXITED
    )
    return tuple(sorted(rows, key=lambda b: (b.state.value, b.group, b.uid)))


def _written_off(state: State) -> tuple[WriteOff, ...]:
    a = state.allowlist
    found = []
    revoked = a.revoked | state.revocations  # lost bands replaced at a desk too
    for value, reason in sorted(revoked.items()):
        band = value in a.bands or value in state.members
        if not band and (value in a.tickets or not is_normal_uid(value)):
            continue
        if any(word in reason.lower() for word in WRITE_OFF_WORDS):
            role = a.bands.get(value)
            found.append(WriteOff(value, role.value if role else "", reason))
    return tuple(found)
