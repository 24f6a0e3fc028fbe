"""The hub's event store: every gate's journal entries, each stored exactly once.

Design §5: the hub acknowledges per gate the highest sequence number it has stored with nothing
missing below (the watermark, `acked`); the gate resends everything above it. So `add` must be
idempotent: an entry seen again (same gate, seq and nonce) is a duplicate, counted and ignored;
the same (gate, seq) with another nonce is a conflict (the gate's journal was reset or replaced),
counted, recorded for the audit, and the first entry kept.

    store = EventStore("/var/lib/wristgate-hub/events.db")
    result = store.add("E1", batch.entries, received_ms=now_ms)   # one transaction
    publish(Ack(gate="E1", seq=result.acked))
    if result.highest > result.acked:                              # a gap: ask for it again
        publish(Replay(gate="E1", after=result.acked))

Many batches, of one gate or several, go in one transaction (one sync for all: what the hub's
ingest does with a backlog): `prepare` checks and encodes each one (ValueError: that batch only),
`add_batches` stores them, in order, and returns what each did once the transaction is committed.

    prepared = [store.prepare(gate, batch.entries, now_ms) for gate, batch in batches]
    results = store.add_batches(prepared)                          # one transaction

Storage: SQLite in WAL mode with `synchronous=FULL` (design §6): a batch is on disk once `add`
(or `add_batches`) returns, so an acknowledged entry survives a power cut. A body given as JSON
text (`WireEntry.body_json`, the text the gate sent) is stored as it is, not encoded again.
An entry a gate may not have written is quarantined, a stub stored in its place
(`hub.store.quarantine`). The tables: `hub.store.schema`.

The parts: `hub.store.schema` opens the file, `hub.store.batches` prepares and inserts a batch,
`hub.store.gates` keeps each gate's watermark and counts, `hub.store.quarantine` the refused
entries, `hub.store.queries` the reads, `hub.store.chain` the venue sequence sent to the
chain's head office; what they hand out is in `hub.store.records`.

Threads: one thread writes (the hub's ingest loop); other threads may read. Every call takes
the store's lock, and the paged iterator takes it per page, never across a `yield`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from gate.link.batches import WireEntry
from gate.link.protocol import Entry
from hub.store import gates, queries
from hub.store.batches import insert_batch, prepare_batch
from hub.store.chain import ChainLog
from hub.store.quarantine import INSERT_QUARANTINE, QuarantineCopies, read_quarantined
from hub.store.records import (
    AddResult,
    Conflict,
    Counts,
    GateRow,
    PreparedBatch,
    Quarantined,
    StoredEntry,
    encode,
    entry_from_row,
)
from hub.store.schema import open_database, transaction

PAGE_SIZE = 2000


class EventStore:
    """The hub's event store at `path` (created if missing). See the module's docstring."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_database(self.path)
        try:
            self._gates = {row.gate: row for row in gates.read_gates(self._db)}
            self._copies = QuarantineCopies(self._db)
            self.chain = ChainLog(self._db, self._lock)  # what head office is sent
        except BaseException:
            self._db.close()
            raise

    # --- writing --------------------------------------------------------------------------

    def add(self, gate: str, entries: Sequence[Entry | WireEntry], received_ms: int) -> AddResult:
        """Store a batch of `gate`'s entries in one transaction; returns what it did.

        Raises ValueError, storing nothing, when an entry cannot be stored as it is (a number
        beyond SQLite's range, text that is not valid Unicode); sqlite3.Error when the disk
        fails (nothing stored either: the gate will resend).
        """
        return self.add_batches([self.prepare(gate, entries, received_ms)])[0]

    def prepare(
        self,
        gate: str,
        entries: Sequence[Entry | WireEntry],
        received_ms: int,
        refused: Mapping[int, tuple[str, str]] | None = None,
    ) -> PreparedBatch:
        """A batch of `gate`'s entries, received at `received_ms`, checked and encoded for
        `add_batches`. Raises ValueError, naming the entry, when one cannot be stored as it is
        (a number beyond SQLite's range, text that is not valid Unicode).

        `refused`: seq -> (reason, detail) of the entries the ingest refused: quarantined, a
        stub stored in their place (none for `seq_jump`)."""
        return prepare_batch(gate, entries, received_ms, refused)

    def add_batches(self, batches: Sequence[PreparedBatch]) -> list[AddResult]:
        """Store prepared batches, of any gates, in one transaction and in order (an entry of
        an earlier batch is a duplicate in a later one); one result per batch, each with its
        gate's watermark once all are stored. Raises sqlite3.Error when the disk fails: nothing
        is stored and nothing changes (the gates will resend)."""
        with self._lock:
            rows: dict[str, GateRow] = {}
            new_seqs: dict[str, list[int]] = {}
            outcomes = []
            with transaction(self._db):
                for batch in batches:
                    if batch.quarantined:
                        self._db.executemany(INSERT_QUARANTINE, self._copies.rows(batch))
                    row = rows.get(batch.gate) or self._gates.get(batch.gate)
                    row = row or GateRow(batch.gate, first_seen_ms=batch.received_ms)
                    outcome = insert_batch(self._db, batch, row.highest)
                    rows[batch.gate] = gates.counted(row, batch, outcome)
                    new_seqs.setdefault(batch.gate, []).extend(e.seq for e in outcome.new)
                    outcomes.append(outcome)
                for gate, row in rows.items():
                    before = self._gates.get(gate)
                    acked = gates.watermark(self._db, gate, before, new_seqs[gate])
                    rows[gate] = row = replace(row, acked=acked)
                    gates.write_gate(self._db, row)
            self._gates.update(rows)  # only once committed
        return [
            AddResult(
                len(outcome.new),
                outcome.duplicates,
                outcome.conflicts,
                rows[batch.gate].acked,
                rows[batch.gate].highest,
                tuple(outcome.new),
            )
            for batch, outcome in zip(batches, outcomes, strict=True)
        ]

    def set_status(
        self, gate: str, status: dict[str, Any], received_ms: int, skew_ms: int | None
    ) -> GateRow:
        """Remember a gate's last status (a GateStatus as JSON), when it came and the clock
        skew it showed (None when unknown: a retained or offline status)."""
        text = encode(status)
        with self._lock, transaction(self._db):
            row = self._gates.get(gate) or GateRow(gate, first_seen_ms=received_ms)
            row = replace(row, status=json.loads(text), status_ms=received_ms, skew_ms=skew_ms)
            if status.get("online"):
                row = replace(row, last_seen_ms=max(row.last_seen_ms or 0, received_ms))
            gates.write_gate(self._db, row)
        self._gates[gate] = row
        return row

    # --- reading --------------------------------------------------------------------------

    def acked(self, gate: str) -> int:
        row = self._gates.get(gate)
        return row.acked if row else 0

    def gate_rows(self) -> list[GateRow]:
        """Every gate the store has heard of, by id."""
        with self._lock:
            return [self._gates[g] for g in sorted(self._gates)]

    def missing(self, gate: str) -> list[tuple[int, int]]:
        """The gaps above the watermark: (first, last) seq ranges, inclusive, with stored
        entries beyond each. Empty when everything up to the highest seq is stored."""
        with self._lock:
            return gates.missing(self._db, self._gates.get(gate))

    def get(self, gate: str, seq: int) -> StoredEntry | None:
        with self._lock:
            return queries.entry_at(self._db, gate, seq)

    def entries_of_kind(self, kind: str, limit: int = 10_000) -> list[StoredEntry]:
        """Up to `limit` entries of `kind`, by gate and seq."""
        with self._lock:
            return queries.entries_of_kind(self._db, kind, limit)

    def entries_in_hlc_order(
        self, after_hlc: str | None = None, page_size: int = PAGE_SIZE
    ) -> Iterator[StoredEntry]:
        """Every entry with a hybrid timestamp above `after_hlc` (all when None), in the venue's
        order (hybrid timestamp, gate, seq). Reads a page at a time: memory stays flat."""
        key: tuple[str, str, int] = (after_hlc or "", "\uffff" if after_hlc else "", 0)
        while True:
            with self._lock:
                rows = queries.page_in_hlc_order(self._db, key, page_size)
            for row in rows:
                yield entry_from_row(row)
            if len(rows) < page_size:
                return
            last = rows[-1]
            key = (last[3], last[0], last[1])

    def conflicts(self) -> list[Conflict]:
        """Every conflicting entry refused, with the one kept, by gate and seq."""
        with self._lock:
            return queries.read_conflicts(self._db)

    def quarantined(self, limit: int = 10_000) -> list[Quarantined]:
        """Entries refused for what they say, oldest first (at most `limit`)."""
        with self._lock:
            return read_quarantined(self._db, limit)

    def counts(self) -> Counts:
        with self._lock:
            rows = list(self._gates.values())
        return Counts(
            entries=sum(r.stored for r in rows),
            gates=len(rows),
            duplicates=sum(r.duplicates for r in rows),
            conflicts=sum(r.conflicts for r in rows),
        )

    def settings(self) -> dict[str, Any]:
        """The SQLite settings in force, for diagnostics."""
        with self._lock:
            return {
                name: self._db.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("journal_mode", "synchronous")
            }

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
