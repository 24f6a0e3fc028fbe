"""The venue's order with each gate's measured clock: entries a gate stamped with a wrong clock
moved to where they happened on the hub's.

A gate measures its clock against the hub's (`gate.daemon.clock_watch`) and, beyond its bound,
stamps with the hub-corrected time. Entries it journalled before it could measure (a Pi booted
an hour behind with no network), or between its clock's jump and the next measure, carry the
wrong time; the gate then journals a `clock` entry: `{"from_seq": F, "shift_ms": S}`, meaning
its entries F up to that entry were stamped S ms off the hub's time (add S to put them right).
The hub orders those entries by their hybrid timestamp plus S, and the daily report counts
them in the hour they happened: an adult let in at a gate an hour behind and out at another 5 s
later is out, and the day has no row an hour before anyone came.

    order = ClockOrder(store)                    # reads the stored `clock` entries
    for entry in order.entries():                # the store, in the corrected order
        fold(..., order.ms(entry))
    order.learn(entry)                           # a new `clock` entry: True when order changed

A `clock` entry that names no earlier seq of its gate, or more than MAX_SHIFTED entries, is
ignored (counted in `ignored`); the entries keep their own stamps.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

from gate.core.hlc import MAX_WALL_MS, Timestamp
from hub.fold.clocks import wall_ms_of
from hub.store.events import EventStore
from hub.store.records import StoredEntry

MAX_SHIFTED = 200_000  # entries one `clock` entry may move (a day offline at a busy gate)

Key = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class Shift:
    """Entries `first` to `last` of `gate` were stamped `ms` off the hub's time."""

    gate: str
    first: int
    last: int
    ms: int

    @property
    def seqs(self) -> range:
        return range(self.first, self.last + 1)


@dataclass
class ClockOrder:
    store: EventStore
    shifts: dict[str, list[Shift]] = field(default_factory=dict)
    ignored: int = 0

    def __post_init__(self) -> None:
        for entry in self.store.entries_of_kind("clock"):
            self.learn(entry)

    def learn(self, entry: StoredEntry) -> bool:
        """A gate's `clock` entry: True when it moves entries (the order changed)."""
        if entry.kind != "clock":
            return False
        first, ms = entry.body.get("from_seq"), entry.body.get("shift_ms")
        if type(first) is not int or type(ms) is not int or not 1 <= first < entry.seq:
            self.ignored += 1
            return False
        if entry.seq - first > MAX_SHIFTED or ms == 0:
            self.ignored += 1
            return False
        shift = Shift(entry.gate, first, entry.seq - 1, ms)
        known = self.shifts.setdefault(entry.gate, [])
        if shift in known:
            return False
        known.append(shift)
        return True

    def shift_of(self, gate: str, seq: int) -> int:
        """How far `gate`'s entry `seq` was stamped off the hub's time (0: right)."""
        return sum(s.ms for s in self.shifts.get(gate, ()) if s.first <= seq <= s.last)

    def key(self, entry: StoredEntry) -> Key:
        """The entry's place in the venue's order: its hybrid timestamp, put right."""
        ms = self.shift_of(entry.gate, entry.seq)
        if not ms:
            return entry.key
        try:
            stamp = Timestamp.parse(entry.hlc)
        except ValueError:
            return entry.key
        wall = min(max(stamp.wall_ms + ms, 0), MAX_WALL_MS)
        return (str(Timestamp(wall, stamp.counter)), entry.gate, entry.seq)

    def ms(self, entry: StoredEntry) -> int:
        """When the entry happened on the hub's clock, in ms since the epoch."""
        return wall_ms_of(entry.hlc) + self.shift_of(entry.gate, entry.seq)

    def entries(self) -> Iterator[StoredEntry]:
        """Every stored entry in the venue's order, the shifted ones where they happened."""
        if not self.shifts:
            yield from self.store.entries_in_hlc_order()
            return
        keys = {(s.gate, seq) for ss in self.shifts.values() for s in ss for seq in s.seqs}
        moved = [e for gate, seq in keys if (e := self.store.get(gate, seq)) is not None]
        moved.sort(key=self.key)
        rest = (e for e in self.store.entries_in_hlc_order() if not self._moved(e))
        yield from heapq.merge(rest, moved, key=self.key)

    def _moved(self, entry: StoredEntry) -> bool:
        return any(s.first <= entry.seq <= s.last for s in self.shifts.get(entry.gate, ()))
