"""What a gate learned from the other gates: their journal entries, kept so a restart knows them.

Gates follow each other's events through the broker (a family let in at E1 is known at X2 within
a second). Each entry is kept once (by gate and sequence), so a replayed batch is not folded
twice, and on a restart the gate folds its own journal and these entries together in hybrid
logical clock order.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS remote (
    gate TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hlc TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (gate, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS remote_hlc ON remote (hlc);
"""


class PresenceError(Exception):
    """The presence file cannot be written (disk full, card failing): the message says why."""


class PresenceLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # the hub keeps the truth; this is a cache
        self._db.executescript(SCHEMA)

    def add(self, gate: str, seq: int, hlc: str, body: dict[str, Any]) -> bool:
        """Keep one entry of another gate; False if it was known already. Raises
        `PresenceError` when it cannot be kept."""
        try:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO remote (gate, seq, hlc, body) VALUES (?, ?, ?, ?)",
                (gate, seq, hlc, json.dumps(body, separators=(",", ":"))),
            )
        except sqlite3.Error as exc:
            raise PresenceError(f"{self.path}: cannot keep {gate}/{seq}: {exc}") from exc
        return cursor.rowcount == 1

    def entries(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(hlc, body) of every entry, oldest first."""
        for hlc, body in self._db.execute("SELECT hlc, body FROM remote ORDER BY hlc, gate, seq"):
            yield hlc, json.loads(body)

    def forget_before(self, hlc: str) -> int:
        try:
            return self._db.execute("DELETE FROM remote WHERE hlc < ?", (hlc,)).rowcount
        except sqlite3.Error as exc:
            raise PresenceError(f"{self.path}: cannot forget old entries: {exc}") from exc

    def close(self) -> None:
        self._db.close()
