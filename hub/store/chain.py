"""What the hub sends the chain's head office, read from its event store: the venue sequence
(every entry numbered 1, 2, 3... in the order the hub stored it, by the trigger of
`hub.store.schema`) and head office's acknowledged watermark, kept on disk.

    chain = store.chain
    for vseq, entry in chain.after(chain.acked(), limit=500): ...
    chain.set_acked(upto, now_ms)              # durable: a restart resends from here

The numbers have no gap: entries are never deleted, and `vseq` is SQLite's rowid alias
(`INTEGER PRIMARY KEY`), which VACUUM keeps.
"""

from __future__ import annotations

import sqlite3
import threading

from hub.store.records import StoredEntry, entry_from_row
from hub.store.schema import transaction

_AFTER = (
    "SELECT c.vseq, e.gate, e.seq, e.nonce, e.hlc, e.wall_ms, e.kind, e.body, e.received_ms "
    "FROM chain_order c JOIN entries e ON e.gate = c.gate AND e.seq = c.seq "
    "WHERE c.vseq > ? ORDER BY c.vseq LIMIT ?"
)


class ChainLog:
    """The venue sequence and head office's watermark, over the event store's connection and
    lock (`EventStore.chain`)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock

    def last(self) -> int:
        """The venue sequence's last number: how many entries the hub holds."""
        with self._lock:
            row = self._db.execute("SELECT max(vseq) FROM chain_order").fetchone()
        return int(row[0] or 0)

    def after(self, vseq: int, limit: int) -> list[tuple[int, StoredEntry]]:
        """Up to `limit` entries numbered above `vseq`, in order, with their numbers."""
        with self._lock:
            rows = self._db.execute(_AFTER, (vseq, limit)).fetchall()
        return [(row[0], entry_from_row(row[1:])) for row in rows]

    def acked(self) -> int:
        """Head office's acknowledged watermark: it holds every entry 1..acked (0: none)."""
        with self._lock:
            row = self._db.execute("SELECT acked FROM chain_ack WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def set_acked(self, upto: int, now_ms: int) -> None:
        """Keep head office's watermark on disk (one transaction, synced)."""
        with self._lock, transaction(self._db):
            self._db.execute(
                "INSERT INTO chain_ack (id, acked, acked_ms) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET acked = excluded.acked, "
                "acked_ms = excluded.acked_ms",
                (upto, now_ms),
            )
