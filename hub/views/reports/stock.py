"""Each entry desk's wristband stock by shift, as the materials sheet shows it
(《每日物资领用记录表》):

    taken        bands the desk took from the store (`hub stock issue`)
    issued       bands it bound to visitors (the desk's own journal: each band bound there)
    returned     bands handed back to it (`hub stock return`: a count, or one band handed back
                 after a temporary exit)
    written off  lost or damaged (`hub stock write-off`)
    on hand      taken - issued + returned - written off: what the desk should hold

A shift is the desk's label: it starts with the desk's first record under that label and lasts
until the desk records under another one. Bands a desk bound before its first record of the day
fall in a shift of no name: the bands it bound from a stock never recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hub.store.band_stock import StockRecord


@dataclass
class ShiftBalance:
    desk: str
    shift: str  # "" before the desk's first record of the day
    started_ms: int | None
    taken: int = 0
    issued: int = 0
    returned: int = 0
    written_off: int = 0

    @property
    def on_hand(self) -> int:
        return self.taken - self.issued + self.returned - self.written_off

    def as_dict(self) -> dict[str, Any]:
        return {
            "desk": self.desk,
            "shift": self.shift,
            "started_ms": self.started_ms,
            "taken": self.taken,
            "issued": self.issued,
            "returned": self.returned,
            "written_off": self.written_off,
            "on_hand": self.on_hand,
        }


def shift_balances(
    records: Sequence[StockRecord], bound_at: Iterable[tuple[str, int]]
) -> list[ShiftBalance]:
    """The balance of each desk's shifts, by desk then in the order the shifts began; `bound_at`
    is each band bound at a desk: (desk, milliseconds)."""
    rows: dict[tuple[str, str], ShiftBalance] = {}
    starts: dict[str, list[tuple[int, str]]] = {}  # desk -> (start, shift), in time order
    for r in sorted(records, key=lambda r: (r.at_ms, r.id)):
        spans = starts.setdefault(r.desk, [])
        if not spans or spans[-1][1] != r.shift:
            spans.append((r.at_ms, r.shift))
        row = rows.setdefault((r.desk, r.shift), ShiftBalance(r.desk, r.shift, r.at_ms))
        if r.kind == "taken":
            row.taken += r.count
        elif r.kind == "returned":
            row.returned += r.count
        elif r.kind == "written_off":
            row.written_off += r.count
    for desk, ms in bound_at:
        shift = ""
        for start, name in starts.get(desk, ()):
            if start > ms:
                break
            shift = name
        rows.setdefault((desk, shift), ShiftBalance(desk, shift, None)).issued += 1
    return sorted(rows.values(), key=lambda b: (b.desk, b.started_ms or 0, b.shift))
