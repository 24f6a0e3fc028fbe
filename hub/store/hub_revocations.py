"""Revocations typed at the hub (`hub revoke VALUE --reason R`, `hub restore VALUE`), by whom
and when, for the daily report's "Desk actions" (`hub.views.reports.deskday`). The allowlist
holds what is revoked; this holds who did it. Kept in the event store's file (table
`hub_revocations`, hub/store/schema.py), written by the running hub or, with no hub running, by
the command itself.

    with HubRevocations(state_dir / "events.db") as log:
        log.add("revoke", "04A1B2C3D4E5F6", "lost band", "ana (uid 1001)", 42, at_ms)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from hub.store.schema import open_database, transaction

COMMANDS = ("revoke", "restore")


@dataclass(frozen=True, slots=True)
class HubRevocation:
    at_ms: int
    command: str  # one of COMMANDS
    value: str
    reason: str
    by: str
    version: int


class HubRevocations:
    def __init__(self, path: str | Path) -> None:
        self._db = open_database(Path(path))
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> HubRevocations:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(
        self, command: str, value: str, reason: str, by: str, version: int, at_ms: int
    ) -> HubRevocation:
        if command not in COMMANDS:
            raise ValueError(f"{command!r:.40}: not one of {', '.join(COMMANDS)}")
        row = HubRevocation(at_ms, command, value[:64], reason[:200], by[:100], version)
        with self._lock, transaction(self._db):
            self._db.execute(
                "INSERT INTO hub_revocations (at_ms, command, value, reason, by, version)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (row.at_ms, row.command, row.value, row.reason, row.by, row.version),
            )
        return row

    def between(self, from_ms: int, to_ms: int) -> list[HubRevocation]:
        """The revocations and restores made from `from_ms` up to `to_ms`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at_ms, command, value, reason, by, version FROM hub_revocations"
                " WHERE at_ms >= ? AND at_ms < ? ORDER BY at_ms, id",
                (from_ms, to_ms),
            ).fetchall()
        return [HubRevocation(*row) for row in rows]
