"""What a gate learned from the other gates: their journal entries, kept so a restart knows them.

Gates follow each other's events through the broker (a family let in at E1 is known at X2 within
a second). Each entry is kept once (by gate and sequence), so a replayed batch is not folded
twice, and on a restart the gate folds its own journal and these entries together in hybrid
logical clock order.

The file is bounded (`presence_max_mib` in gate.toml, 64 MiB by default): one gate's password
in the wrong hands must not fill every gate's SD card. When the file's used pages pass the
bound, the gate holding the most bytes loses its oldest entries first (a gate's sequence and its
clock rise together), until the file is back under 90 % of it: a peer that floods takes its own
history down, not the others'. Entries older than the journal's retention are forgotten too.
Dropped entries are counted; a restart folds what is kept and skips what refers to dropped ones.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gate.core.hlc import MAX_WALL_MS, Timestamp

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

DEFAULT_MAX_BYTES = 64 << 20
WAL_SHARE = 8  # of the bound, for the write-ahead log (cut back to it after each checkpoint)
LOW_WATER = 0.9  # dropping goes on until the file uses this share of its bound
DROP_SHARE = 0.1  # of the largest gate's entries, per step


class PresenceError(Exception):
    """The presence file cannot be written (disk full, card failing): the message says why."""


class PresenceLog:
    def __init__(self, path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = path
        self.dropped: dict[str, int] = {}  # entries dropped by the bound since the last take
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # the hub keeps the truth; this is a cache
        self._db.executescript(SCHEMA)
        self._page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        # The bound covers the database and its write-ahead log together: the log is checkpointed
        # at half its share and cut back to its share; the database gets the rest, less a margin.
        wal = max_bytes // WAL_SHARE
        self._db.execute(f"PRAGMA journal_size_limit={wal}")
        self._db.execute(f"PRAGMA wal_autocheckpoint={max(16, wal // 2 // self._page_size)}")
        self.quota = max_bytes - wal - max_bytes // 16
        self._bytes = {  # each gate's share, as the sizes of its rows
            gate: int(n)
            for gate, n in self._db.execute(
                "SELECT gate, SUM(LENGTH(body) + LENGTH(hlc)) FROM remote GROUP BY gate"
            )
        }

    def add(self, gate: str, seq: int, hlc: str, body: dict[str, Any]) -> bool:
        """Keep one entry of another gate; False if it was known already. Raises
        `PresenceError` when it cannot be kept. Keeps the file within its bound (`dropped`)."""
        text = json.dumps(body, separators=(",", ":"))
        try:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO remote (gate, seq, hlc, body) VALUES (?, ?, ?, ?)",
                (gate, seq, hlc, text),
            )
            if cursor.rowcount == 1:
                self._bytes[gate] = self._bytes.get(gate, 0) + len(text) + len(hlc)
                if self.used_bytes() > self.quota:
                    self._shrink()
        except sqlite3.Error as exc:
            raise PresenceError(f"{self.path}: cannot keep {gate}/{seq}: {exc}") from exc
        return cursor.rowcount == 1

    def used_bytes(self) -> int:
        """Bytes of the database file in use (its free pages are reused before it grows)."""
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return int(pages - free) * self._page_size

    def _shrink(self) -> None:
        """The oldest entries of the gate holding the most, step by step, to the low water."""
        while self.used_bytes() > self.quota * LOW_WATER and self._bytes:
            gate = max(self._bytes, key=lambda g: self._bytes[g])
            count = self._db.execute("SELECT COUNT(*) FROM remote WHERE gate = ?", (gate,))
            n = max(1, int(count.fetchone()[0] * DROP_SHARE))
            upto = self._db.execute(
                "SELECT seq FROM remote WHERE gate = ? ORDER BY seq LIMIT 1 OFFSET ?", (gate, n - 1)
            ).fetchone()
            if upto is None:
                del self._bytes[gate]
                continue
            freed = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(body) + LENGTH(hlc)), 0) FROM remote "
                "WHERE gate = ? AND seq <= ?",
                (gate, upto[0]),
            ).fetchone()
            self._db.execute("DELETE FROM remote WHERE gate = ? AND seq <= ?", (gate, upto[0]))
            self._bytes[gate] -= int(freed[1])
            if self._bytes[gate] <= 0:
                del self._bytes[gate]
            self.dropped[gate] = self.dropped.get(gate, 0) + int(freed[0])

    def take_dropped(self) -> dict[str, int]:
        """Entries dropped by the bound since the last call, per gate."""
        dropped, self.dropped = self.dropped, {}
        return dropped

    def entries(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(hlc, body) of every entry, oldest first."""
        for hlc, body in self._db.execute("SELECT hlc, body FROM remote ORDER BY hlc, gate, seq"):
            yield hlc, json.loads(body)

    def body(self, gate: str, seq: int) -> dict[str, Any] | None:
        """The body of entry `seq` of `gate`, if kept (a passage record's decision, say)."""
        try:
            row = self._db.execute(
                "SELECT body FROM remote WHERE gate = ? AND seq = ?", (gate, seq)
            ).fetchone()
        except sqlite3.Error as exc:
            raise PresenceError(f"{self.path}: cannot read {gate}/{seq}: {exc}") from exc
        return None if row is None else dict(json.loads(row[0]))

    def forget_before(self, hlc: str) -> int:
        try:
            gone = self._db.execute(
                "SELECT gate, COUNT(*), SUM(LENGTH(body) + LENGTH(hlc)) FROM remote "
                "WHERE hlc < ? GROUP BY gate",
                (hlc,),
            ).fetchall()
            deleted = self._db.execute("DELETE FROM remote WHERE hlc < ?", (hlc,)).rowcount
        except sqlite3.Error as exc:
            raise PresenceError(f"{self.path}: cannot forget old entries: {exc}") from exc
        for gate, _n, size in gone:
            self._bytes[gate] = self._bytes.get(gate, 0) - int(size)
            if self._bytes[gate] <= 0:
                self._bytes.pop(gate)
        return int(deleted)

    def forget_older_than(self, retain: timedelta, now: datetime) -> int:
        """Forget entries older than `retain` at `now`, as the journal compacts its own."""
        cutoff_ms = max(0, int((now - retain).timestamp() * 1000))
        return self.forget_before(str(Timestamp(min(cutoff_ms, MAX_WALL_MS))))

    def close(self) -> None:
        self._db.close()
