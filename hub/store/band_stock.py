"""The wristband stock of the entry desks (《每日物资领用记录表》, 报损): bands each desk takes
from the store per shift, bands handed back to it, bands written off, as the desk records them
at the hub (`hub stock ...`). Kept in the event store's file (table `band_stock`,
hub/store/schema.py); the bands a desk binds come from the gates' journals, and the balance of
each shift is the report's (`hub.views.reports.stock`).

A shift is the desk's own label ("AM", "早班"...): it starts with the desk's first record under
that label and lasts until the desk records under another one.

    with BandStockLog(state_dir / "events.db") as stock:
        stock.add("2026-07-18", "D1", "AM", "taken", 200, at_ms, by="hub stock (uid 0)")
        stock.add("2026-07-18", "D1", "AM", "returned", 1, at_ms, by=..., band="04A1B2C3D4E5F6")
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hub.store.schema import open_database, transaction

KINDS = ("taken", "returned", "written_off")
MAX_COUNT = 100_000  # bands in one record: a venue's stock, not a typing slip


@dataclass(frozen=True, slots=True)
class StockRecord:
    id: int
    at_ms: int
    day: str  # the venue's day, YYYY-MM-DD
    desk: str
    shift: str
    kind: str  # one of KINDS
    count: int
    band: str  # one band handed back after a temporary exit, else ""
    reason: str  # why written off
    by: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class BandStockLog:
    def __init__(self, path: str | Path) -> None:
        self._db = open_database(Path(path))
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> BandStockLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(
        self,
        day: str,
        desk: str,
        shift: str,
        kind: str,
        count: int,
        at_ms: int,
        *,
        by: str,
        band: str = "",
        reason: str = "",
    ) -> StockRecord:
        if kind not in KINDS:
            raise ValueError(f"stock record {kind!r:.40}: not one of {', '.join(KINDS)}")
        if not 0 < count <= MAX_COUNT:
            raise ValueError(f"count {count}: a whole number from 1 to {MAX_COUNT}")
        with self._lock, transaction(self._db):
            cursor = self._db.execute(
                "INSERT INTO band_stock (at_ms, day, desk, shift, kind, count, band, reason, by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (at_ms, day, desk, shift, kind, count, band, reason[:200], by[:100]),
            )
            n = int(cursor.lastrowid or 0)
        return next(r for r in self.day(day) if r.id == n)

    def recorded_so(
        self,
        day: str,
        desk: str,
        shift: str,
        kind: str,
        count: int,
        at_ms: int,
        *,
        band: str = "",
    ) -> bool:
        """Whether this very record is kept already (a desk's entry, folded once more: the
        desk's time to the millisecond, whoever the staff badge's name now says)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM band_stock WHERE day = ? AND desk = ? AND shift = ? AND kind = ?"
                " AND count = ? AND at_ms = ? AND band = ?",
                (day, desk, shift, kind, count, at_ms, band),
            ).fetchone()
        return row is not None

    def day(self, day: str) -> list[StockRecord]:
        """The records of the venue's day `day`, in the order they were made."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, at_ms, day, desk, shift, kind, count, band, reason, by"
                " FROM band_stock WHERE day = ? ORDER BY at_ms, id",
                (day,),
            ).fetchall()
        return [StockRecord(*row) for row in rows]

    def current_shift(self, day: str, desk: str) -> str | None:
        """The desk's shift now: that of its last record of the day (None: none yet)."""
        with self._lock:
            row = self._db.execute(
                "SELECT shift FROM band_stock WHERE day = ? AND desk = ?"
                " ORDER BY at_ms DESC, id DESC LIMIT 1",
                (day, desk),
            ).fetchone()
        return str(row[0]) if row else None
