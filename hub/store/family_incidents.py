"""Lost children and separated families (家长与孩子走失), as the entry desk and the duty
manager record them at the hub: opened by a band of the family (or its ticket), shown on the
wall display while open, closed when the family is together again, listed in the daily report.

Kept in the event store's file (table `family_incidents`, hub/store/schema.py), beside the
outages of `hub.store.incidents`, so a restart or the next day's report still has them. Times
are the hub's clock. One open incident per group at a time.

    with FamilyIncidents(state_dir / "events.db") as log:
        n = log.open("lost_child", "T1", "04A1B2C3D4E5F6", at_ms, "desk D1", "red cap").id
        log.close(n, "found", at_ms + 600_000, "hub incident (uid 0)")
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hub.store.schema import open_database, transaction

KINDS = ("lost_child", "separated_family")
OUTCOMES = ("found", "cancelled")
_COLUMNS = "id, kind, grp, band, opened_ms, opened_by, note, closed_ms, closed_by, outcome"


class AlreadyOpen(ValueError):
    """The group has an incident open already: its id in `incident`."""

    def __init__(self, group: str, incident: int) -> None:
        super().__init__(f"group {group} already has incident {incident} open")
        self.incident = incident


class NotOpen(ValueError):
    """No incident of that number, or it is closed already."""


@dataclass(frozen=True, slots=True)
class FamilyIncident:
    id: int
    kind: str  # one of KINDS
    group: str
    band: str  # the band it was opened by; "" when opened by the ticket
    opened_ms: int
    opened_by: str
    note: str
    closed_ms: int | None = None
    closed_by: str | None = None
    outcome: str | None = None  # one of OUTCOMES once closed

    @property
    def open(self) -> bool:
        return self.closed_ms is None

    def minutes_open(self, now_ms: int) -> int:
        """Whole minutes from its opening to its closing (to `now_ms` while open)."""
        return max(0, ((self.closed_ms or now_ms) - self.opened_ms) // 60_000)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FamilyIncidents:
    """The family incidents of the store at `path` (its own connection; written by the hub's
    loop, its HTTP threads and the `hub` command when no hub runs)."""

    def __init__(self, path: str | Path) -> None:
        self._db = open_database(Path(path))
        self._lock = threading.Lock()

    def close_store(self) -> None:
        self._db.close()

    def __enter__(self) -> FamilyIncidents:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_store()

    def open(
        self, kind: str, group: str, band: str, at_ms: int, by: str, note: str = ""
    ) -> FamilyIncident:
        if kind not in KINDS:
            raise ValueError(f"incident kind {kind!r:.40}: not one of {', '.join(KINDS)}")
        with self._lock, transaction(self._db):
            found = self._db.execute(
                "SELECT id FROM family_incidents WHERE grp = ? AND closed_ms IS NULL", (group,)
            ).fetchone()
            if found is not None:
                raise AlreadyOpen(group, int(found[0]))
            cursor = self._db.execute(
                "INSERT INTO family_incidents (kind, grp, band, opened_ms, opened_by, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (kind, group, band, at_ms, by[:100], note[:500]),
            )
            n = int(cursor.lastrowid or 0)
        return self._one(n)

    def close(self, n: int, outcome: str, at_ms: int, by: str, note: str = "") -> FamilyIncident:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome {outcome!r:.40}: not one of {', '.join(OUTCOMES)}")
        with self._lock, transaction(self._db):
            done = self._db.execute(
                "UPDATE family_incidents SET closed_ms = max(?, opened_ms), closed_by = ?,"
                " outcome = ?, note = CASE WHEN ? = '' THEN note WHEN note = '' THEN ?"
                " ELSE substr(note || '; ' || ?, 1, 500) END"
                " WHERE id = ? AND closed_ms IS NULL",
                (at_ms, by[:100], outcome, note, note[:500], note, n),
            ).rowcount
        if not done:
            found = self.get(n)
            if found is None:
                raise NotOpen(f"no incident {n}")
            raise NotOpen(f"incident {n} is closed already ({found.outcome})")
        return self._one(n)

    def get(self, n: int) -> FamilyIncident | None:
        found = self._select("WHERE id = ?", (n,))
        return found[0] if found else None

    def open_of(self, group: str) -> FamilyIncident | None:
        """The group's open incident, if it has one."""
        found = self._select("WHERE grp = ? AND closed_ms IS NULL", (group,))
        return found[0] if found else None

    def opened_so(self, group: str, at_ms: int, by: str) -> FamilyIncident | None:
        """The incident of `group` opened at `at_ms` by `by`: a desk's entry recorded already."""
        found = self._select(
            "WHERE grp = ? AND opened_ms = ? AND opened_by = ?", (group, at_ms, by)
        )
        return found[0] if found else None

    def open_ones(self) -> list[FamilyIncident]:
        return self._select("WHERE closed_ms IS NULL", ())

    def between(self, from_ms: int, to_ms: int) -> list[FamilyIncident]:
        """Incidents open at some moment of [from_ms, to_ms), oldest first."""
        return self._select(
            "WHERE opened_ms < ? AND (closed_ms IS NULL OR closed_ms >= ?)", (to_ms, from_ms)
        )

    def _one(self, n: int) -> FamilyIncident:
        found = self.get(n)
        assert found is not None
        return found

    def _select(self, where: str, params: tuple[Any, ...]) -> list[FamilyIncident]:
        sql = f"SELECT {_COLUMNS} FROM family_incidents {where} ORDER BY opened_ms, id"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [_incident(row) for row in rows]


def _incident(row: sqlite3.Row | tuple[Any, ...]) -> FamilyIncident:
    n, kind, group, band, opened, opened_by, note, closed, closed_by, outcome = row
    return FamilyIncident(n, kind, group, band, opened, opened_by, note, closed, closed_by, outcome)
