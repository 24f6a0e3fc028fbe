"""The quarantine: entries a gate may not have written, kept apart, with the stub stored in
their place and a bound on the bodies each gate may fill it with.

An entry a gate may not have written (`gate.core.authority`: the ingest checks each one) is
quarantined: its head, reason and first `QUARANTINE_BODY` characters go to `quarantine`, and
`entries` holds in its place a stub of kind `refused` with no events, so the gate's watermark
moves on over it (nothing waits for it, nothing folds it). An entry refused for its sequence
number (`seq_jump`) is quarantined and not stored at all: it leaves no gap. Each gate's first
`QUARANTINE_COPIES` refused bodies are kept; later ones, and any refused as `flood`, keep only
their head, reason and size. The stub of an entry refused as `clock_ahead` takes the time it
was received as its hybrid timestamp: it must not sort after everything to come.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from gate.core.hlc import MAX_WALL_MS, Timestamp
from gate.link.batches import WireEntry
from gate.link.protocol import Entry
from hub.store.records import ENTRY_COLUMNS, PreparedBatch, Quarantined, encode

QUARANTINE_BODY = 2048  # characters of a refused body kept: enough to read, never a flood
QUARANTINE_COPIES = 1000  # refused bodies kept per gate (2 MB at most); later ones: head only

INSERT_QUARANTINE = (
    f"INSERT OR IGNORE INTO quarantine ({ENTRY_COLUMNS}, reason, detail, size) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)


def quarantine_row(
    gate: str, e: Entry | WireEntry, body: str, received_ms: int, reason: str, detail: str
) -> tuple[Any, ...]:
    """The `quarantine` row of `gate`'s entry `e` (its body encoded as `body`), refused for
    `reason`: its head, the start of its body (none for a flood), reason, detail and size."""
    head = (gate, e.seq, e.nonce, e.hlc, e.wall_ms, e.kind)
    kept = "" if reason == "flood" else body[:QUARANTINE_BODY]
    size = len(body.encode(errors="surrogatepass"))
    return (*head, kept, received_ms, reason, detail[:500], size)


def stub(
    kind: str, hlc: str, reason: str, received_ms: int
) -> tuple[str, dict[str, Any], str, str]:
    """What `entries` holds in place of an entry of `kind` at `hlc` refused for `reason`: its
    kind, body, body as JSON text and hybrid timestamp."""
    content = {"refused": reason, "kind": kind[:32]}
    if reason == "clock_ahead":  # the stub sorts where it came, not in the future
        hlc = min(hlc, str(Timestamp(min(max(received_ms, 0), MAX_WALL_MS))))
    return "refused", content, encode(content), hlc


class QuarantineCopies:
    """How many refused bodies each gate has in the quarantine, counted once per gate."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._kept: dict[str, int] = {}  # quarantined bodies kept, per gate

    def rows(self, batch: PreparedBatch) -> list[tuple[Any, ...]]:
        """The batch's quarantine rows, each gate's first `QUARANTINE_COPIES` with their body:
        the rest keep only their head, reason and size (a flood keeps no copies)."""
        gate = batch.gate
        if gate not in self._kept:
            found = self._db.execute(
                "SELECT COUNT(*) FROM quarantine WHERE gate = ? AND body != ''", (gate,)
            )
            self._kept[gate] = int(found.fetchone()[0])
        rows = []
        for row in batch.quarantined:
            if row[6] and self._kept[gate] >= QUARANTINE_COPIES:
                row = (*row[:6], "", *row[7:9], row[9][:100], row[10])
            elif row[6]:
                self._kept[gate] += 1
            rows.append(row)
        return rows


def read_quarantined(db: sqlite3.Connection, limit: int) -> list[Quarantined]:
    """See `EventStore.quarantined`."""
    rows = db.execute(
        "SELECT gate, seq, kind, reason, detail, size, received_ms FROM quarantine "
        "ORDER BY received_ms, gate, seq LIMIT ?",
        (limit,),
    ).fetchall()
    return [Quarantined(*row) for row in rows]
