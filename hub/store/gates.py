"""Each gate's row in the store (the `gates` table): its watermark, the highest seq stored, its
counts and its last status; and how a batch moves them."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

from hub.store.batches import Outcome
from hub.store.records import GateRow, PreparedBatch, encode


def read_gates(db: sqlite3.Connection) -> list[GateRow]:
    rows = db.execute(
        "SELECT gate, acked, highest, stored, duplicates, conflicts, first_seen_ms, "
        "last_seen_ms, status, status_ms, skew_ms FROM gates"
    ).fetchall()
    found = []
    for gate, acked, highest, stored, dups, conflicts, first, last, status, at, skew in rows:
        found.append(
            GateRow(
                gate,
                acked,
                highest,
                stored,
                dups,
                conflicts,
                first,
                last,
                json.loads(status) if status else None,
                at,
                skew,
            )
        )
    return found


def write_gate(db: sqlite3.Connection, row: GateRow) -> None:
    db.execute(
        "INSERT OR REPLACE INTO gates (gate, acked, highest, stored, duplicates, conflicts, "
        "first_seen_ms, last_seen_ms, status, status_ms, skew_ms) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            row.gate,
            row.acked,
            row.highest,
            row.stored,
            row.duplicates,
            row.conflicts,
            row.first_seen_ms,
            row.last_seen_ms,
            encode(row.status) if row.status is not None else None,
            row.status_ms,
            row.skew_ms,
        ),
    )


def counted(row: GateRow, batch: PreparedBatch, outcome: Outcome) -> GateRow:
    """The gate's row with a batch's entries counted in (its watermark is set after)."""
    return replace(
        row,
        highest=max([row.highest, *(e.seq for e in outcome.new)]),
        stored=row.stored + len(outcome.new),
        duplicates=row.duplicates + outcome.duplicates,
        conflicts=row.conflicts + outcome.recorded,
        last_seen_ms=max(row.last_seen_ms or 0, batch.received_ms),
    )


def watermark(db: sqlite3.Connection, gate: str, before: GateRow | None, new: list[int]) -> int:
    """The gate's watermark now that the seqs `new` are stored, from its row `before`."""
    acked = before.acked if before else 0
    new.sort()
    if not new or new[0] != acked + 1:
        return acked  # the seq right above the watermark is still missing
    if before is not None and before.highest > acked:
        return _contiguous_from(db, gate, acked)  # entries stored above a gap before
    # every seq stored above the watermark is new: walk over them, without a query
    if new[-1] - new[0] + 1 == len(new):
        return new[-1]
    for seq in new:
        if seq != acked + 1:
            break
        acked = seq
    return acked


def _contiguous_from(db: sqlite3.Connection, gate: str, acked: int) -> int:
    """The watermark walked up from `acked` over the seqs stored without a hole. Reads only
    the rows it moves over, plus one: incremental, whatever the number stored above."""
    cursor = db.execute(
        "SELECT seq FROM entries WHERE gate = ? AND seq > ? ORDER BY seq", (gate, acked)
    )
    for (seq,) in cursor:
        if seq != acked + 1:
            break
        acked = seq
    cursor.close()
    return acked


def missing(db: sqlite3.Connection, row: GateRow | None) -> list[tuple[int, int]]:
    """See `EventStore.missing`."""
    if row is None or row.highest <= row.acked:
        return []
    gaps, expected = [], row.acked + 1
    cursor = db.execute(
        "SELECT seq FROM entries WHERE gate = ? AND seq > ? ORDER BY seq",
        (row.gate, row.acked),
    )
    for (seq,) in cursor:
        if seq > expected:
            gaps.append((expected, seq - 1))
        expected = seq + 1
    return gaps
