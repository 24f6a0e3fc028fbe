"""The reads the fold and the views make of the stored entries: one by its key, a page in the
venue's order, and the conflicting entries refused with the ones kept."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.store.records import ENTRY_COLUMNS, Conflict, StoredEntry, entry_from_row

_BY_KEY = f"SELECT {ENTRY_COLUMNS} FROM entries WHERE gate = ? AND seq = ?"


def entry_at(db: sqlite3.Connection, gate: str, seq: int) -> StoredEntry | None:
    row = db.execute(_BY_KEY, (gate, seq)).fetchone()
    return entry_from_row(row) if row else None


def page_in_hlc_order(
    db: sqlite3.Connection, after: tuple[str, str, int], page_size: int
) -> list[tuple[Any, ...]]:
    """Up to `page_size` entries' rows after the key (hlc, gate, seq) `after`, in that order."""
    return db.execute(
        f"SELECT {ENTRY_COLUMNS} FROM entries WHERE (hlc, gate, seq) > (?, ?, ?) "
        "ORDER BY hlc, gate, seq LIMIT ?",
        (*after, page_size),
    ).fetchall()


def entries_of_kind(db: sqlite3.Connection, kind: str, limit: int) -> list[StoredEntry]:
    """Up to `limit` entries of one kind, by gate and seq (the gates' `clock` entries)."""
    rows = db.execute(
        f"SELECT {ENTRY_COLUMNS} FROM entries WHERE kind = ? ORDER BY gate, seq LIMIT ?",
        (kind, limit),
    ).fetchall()
    return [entry_from_row(r) for r in rows]


def read_conflicts(db: sqlite3.Connection) -> list[Conflict]:
    """See `EventStore.conflicts`."""
    rows = db.execute(
        f"SELECT {ENTRY_COLUMNS}, kept_nonce FROM conflicts ORDER BY gate, seq, received_ms, nonce"
    ).fetchall()
    kept = {(r[0], r[1]): db.execute(_BY_KEY, (r[0], r[1])).fetchone() for r in rows}
    return [
        Conflict(r[0], r[1], entry_from_row(kept[r[0], r[1]]), entry_from_row(r[:8])) for r in rows
    ]
