"""The hub's incident log: every outage and fault it saw, and every drill, kept in the event
store's file (tables `incidents` and `drills`, hub/store/schema.py) so a restart or the next
day's report still has them.

An incident is one fault of one class (`CLASSES`: the fault plans' 故障分类) from one source,
with its start and end on the hub's clock. An *outage* (`offline` true) is one during which
gates decided cut off from the others (离线模式): the broker down for the hub, or gates cut off
from it. Once it has ended and every gate it cut off has its backlog at the hub, the
reconciliation's outcome is written on it: the scans decided offline and the conflicts found.

    log = IncidentLog(state_dir / "events.db")
    n = log.start("broker", "broker_down", "broker", ["E1", "X1"], at_ms, offline=True)
    log.end(n, at_ms + 12_000)
    log.reconciled(n, offline_scans=4, conflicts=0, at_ms=...)
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hub.store.schema import open_database, transaction

CLASSES = ("network", "broker", "reader", "scanner", "disk", "clock", "power")
DRILL_KINDS = ("broker-cut", "reader-removed")


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    cls: str  # one of CLASSES
    what: str  # broker_down, gate_offline, reader_*, scanner_fault, disk_low, clock_*, restarted
    source: str  # "broker", "hub" or a gate's id
    gates: tuple[str, ...]
    started_ms: int
    ended_ms: int | None
    offline: bool  # an outage: gates decided cut off
    drill: int | None  # the drill's id when a rehearsal
    detail: str
    offline_scans: int | None = None
    conflicts: int | None = None
    reconciled_ms: int | None = None

    @property
    def open(self) -> bool:
        return self.ended_ms is None

    def duration_s(self, now_ms: int) -> float:
        return ((self.ended_ms or now_ms) - self.started_ms) / 1000

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["class"] = d.pop("cls")
        d["gates"] = list(self.gates)
        return d


@dataclass(frozen=True, slots=True)
class Drill:
    id: int
    kind: str
    gate: str
    started_ms: int
    until_ms: int
    ended_ms: int | None
    by: str
    record: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_INCIDENT_COLUMNS = (
    "id, class, what, source, gates, started_ms, ended_ms, offline, drill, detail, "
    "offline_scans, conflicts, reconciled_ms"
)


class IncidentLog:
    """The incidents and drills of the store at `path` (its own connection: the hub's loop
    writes, the HTTP threads and the `hub` command read)."""

    def __init__(self, path: str | Path) -> None:
        self._db = open_database(Path(path))
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> IncidentLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- incidents ------------------------------------------------------------------------

    def start(
        self,
        cls: str,
        what: str,
        source: str,
        gates: Sequence[str],
        at_ms: int,
        *,
        offline: bool = False,
        drill: int | None = None,
        detail: str = "",
    ) -> int:
        if cls not in CLASSES:
            raise ValueError(f"incident class {cls!r}: not one of {', '.join(CLASSES)}")
        with self._lock, transaction(self._db):
            cursor = self._db.execute(
                "INSERT INTO incidents (class, what, source, gates, started_ms, offline, drill,"
                " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cls,
                    what,
                    source,
                    json.dumps(sorted(gates)),
                    at_ms,
                    int(offline),
                    drill,
                    detail[:500],
                ),
            )
            return int(cursor.lastrowid or 0)

    def end(self, incident: int, at_ms: int) -> None:
        with self._lock, transaction(self._db):
            self._db.execute(
                "UPDATE incidents SET ended_ms = max(?, started_ms) WHERE id = ? AND"
                " ended_ms IS NULL",
                (at_ms, incident),
            )

    def add_gates(self, incident: int, gates: Sequence[str]) -> None:
        """More gates the outage cut off, seen after it began."""
        found = self.get(incident)
        if found is None or set(gates) <= set(found.gates):
            return
        with self._lock, transaction(self._db):
            self._db.execute(
                "UPDATE incidents SET gates = ? WHERE id = ?",
                (json.dumps(sorted({*found.gates, *gates})), incident),
            )

    def note(self, incident: int, text: str) -> None:
        """Add `text` to an incident's detail (what was learnt of it later), once."""
        found = self.get(incident)
        if found is None or text in found.detail.split("; "):
            return
        said = "; ".join(p for p in (found.detail, text) if p)
        with self._lock, transaction(self._db):
            self._db.execute("UPDATE incidents SET detail = ? WHERE id = ?", (said[:500], incident))

    def reconciled(self, incident: int, *, offline_scans: int, conflicts: int, at_ms: int) -> None:
        with self._lock, transaction(self._db):
            self._db.execute(
                "UPDATE incidents SET offline_scans = ?, conflicts = ?, reconciled_ms = ?"
                " WHERE id = ?",
                (offline_scans, conflicts, at_ms, incident),
            )

    def get(self, incident: int) -> Incident | None:
        found = self._incidents("WHERE id = ?", (incident,))
        return found[0] if found else None

    def open_incidents(self) -> list[Incident]:
        return self._incidents("WHERE ended_ms IS NULL", ())

    def unreconciled(self) -> list[Incident]:
        """Outages that have ended and whose reconciliation is not written yet."""
        return self._incidents(
            "WHERE offline = 1 AND ended_ms IS NOT NULL AND reconciled_ms IS NULL", ()
        )

    def between(self, from_ms: int, to_ms: int) -> list[Incident]:
        """Incidents that lasted into [from_ms, to_ms), oldest first."""
        return self._incidents(
            "WHERE started_ms < ? AND (ended_ms IS NULL OR ended_ms >= ?)", (to_ms, from_ms)
        )

    def _incidents(self, where: str, params: tuple[Any, ...]) -> list[Incident]:
        sql = f"SELECT {_INCIDENT_COLUMNS} FROM incidents {where} ORDER BY started_ms, id"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [_incident(row) for row in rows]

    def offline_scans(self, gates: Sequence[str], from_ms: int, to_ms: int) -> int:
        """Decisions the gates journalled cut off (`scan.offline`) between the times, on their
        own clocks (the journal's wall time)."""
        if not gates:
            return 0
        marks = ", ".join("?" for _ in gates)
        sql = (
            f"SELECT count(*) FROM entries WHERE gate IN ({marks}) AND kind = 'decision'"
            " AND wall_ms BETWEEN ? AND ? AND json_extract(body, '$.scan.offline') = 1"
        )
        with self._lock:
            (n,) = self._db.execute(sql, (*gates, from_ms, to_ms)).fetchone()
        return int(n)

    # --- drills ---------------------------------------------------------------------------

    def start_drill(self, kind: str, gate: str, at_ms: int, until_ms: int, by: str) -> int:
        with self._lock, transaction(self._db):
            cursor = self._db.execute(
                "INSERT INTO drills (kind, gate, started_ms, until_ms, by) VALUES (?, ?, ?, ?, ?)",
                (kind, gate, at_ms, until_ms, by[:100]),
            )
            return int(cursor.lastrowid or 0)

    def end_drill(self, drill: int, at_ms: int, record: dict[str, Any]) -> None:
        with self._lock, transaction(self._db):
            self._db.execute(
                "UPDATE drills SET ended_ms = ?, record = ? WHERE id = ?",
                (at_ms, json.dumps(record, ensure_ascii=False, default=str), drill),
            )

    def open_drill(self) -> Drill | None:
        found = self._drills("WHERE ended_ms IS NULL")
        return found[-1] if found else None

    def drills(self, from_ms: int = 0, to_ms: int = 1 << 62) -> list[Drill]:
        return self._drills(
            "WHERE started_ms < ? AND coalesce(ended_ms, ?) >= ?", to_ms, to_ms, from_ms
        )

    def _drills(self, where: str, *params: Any) -> list[Drill]:
        sql = (
            "SELECT id, kind, gate, started_ms, until_ms, ended_ms, by, record FROM drills "
            f"{where} ORDER BY started_ms, id"
        )
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [
            Drill(*row[:7], record=json.loads(row[7]) if row[7] else None)  # type: ignore[misc]
            for row in rows
        ]


def _incident(row: sqlite3.Row | tuple[Any, ...]) -> Incident:
    (n, cls, what, source, gates, start, end, offline, drill, detail, scans, conflicts, rec) = row
    return Incident(
        id=n,
        cls=cls,
        what=what,
        source=source,
        gates=tuple(json.loads(gates)),
        started_ms=start,
        ended_ms=end,
        offline=bool(offline),
        drill=drill,
        detail=detail,
        offline_scans=scans,
        conflicts=conflicts,
        reconciled_ms=rec,
    )
