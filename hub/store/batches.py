"""A gate's batch on its way into the store: checked and encoded (`prepare_batch`), then its
entries inserted once each on (gate, seq), resent ones told from conflicting ones by their
nonce (`insert_batch`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gate.link.batches import WireEntry
from gate.link.protocol import Entry
from hub.store.quarantine import quarantine_row, stub
from hub.store.records import ENTRY_COLUMNS, PreparedBatch, StoredEntry, encode

MAX_SQL_INT = (1 << 63) - 1

_INSERT_ENTRY = f"INSERT INTO entries ({ENTRY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)"
_INSERT_CONFLICT = (
    f"INSERT OR IGNORE INTO conflicts ({ENTRY_COLUMNS}, kept_nonce) VALUES (?,?,?,?,?,?,?,?,?)"
)


@dataclass
class Outcome:
    """What inserting a batch did, before it is committed."""

    new: list[StoredEntry] = field(default_factory=list)
    duplicates: int = 0
    conflicts: int = 0
    recorded: int = 0  # conflicting entries new to the conflicts table


def prepare_batch(
    gate: str,
    entries: Sequence[Entry | WireEntry],
    received_ms: int,
    refused: Mapping[int, tuple[str, str]] | None = None,
) -> PreparedBatch:
    """See `EventStore.prepare`."""
    if not isinstance(gate, str) or not gate.isascii():
        raise ValueError(f"gate id {gate!r} is not ASCII text")
    rows, stored, quarantined = [], [], []
    for e in entries:
        if not (0 < e.seq <= MAX_SQL_INT and 0 <= e.wall_ms <= MAX_SQL_INT):
            raise ValueError(f"entry {e.seq} of {gate}: seq or wall_ms out of range")
        try:
            body = e.body_json if isinstance(e, WireEntry) else encode(e.body)
            for text in (e.nonce, e.kind, body):
                if not text.isascii():
                    text.encode()  # a lone surrogate cannot be stored
        except (ValueError, TypeError, UnicodeError) as exc:
            raise ValueError(f"entry {e.seq} of {gate}: cannot be stored: {exc}") from exc
        kind, content, hlc = e.kind, e.body, e.hlc
        if refused is not None and e.seq in refused:
            reason, detail = refused[e.seq]
            quarantined.append(quarantine_row(gate, e, body, received_ms, reason, detail))
            if reason == "seq_jump":
                continue
            kind, content, body, hlc = stub(kind, hlc, reason, received_ms)
        rows.append((gate, e.seq, e.nonce, hlc, e.wall_ms, kind, body, received_ms))
        stored.append(StoredEntry(gate, e.seq, e.nonce, hlc, e.wall_ms, kind, content, received_ms))
    return PreparedBatch(gate, received_ms, rows, stored, quarantined)


def insert_batch(db: sqlite3.Connection, batch: PreparedBatch, highest: int) -> Outcome:
    """Insert a batch's entries new to the store (inside a transaction), telling the others
    apart by the nonce stored for their seq. `highest`: the gate's highest seq stored so far
    (a batch all above it, the usual one, needs no lookup)."""
    out = Outcome()
    lowest = min(e.seq for e in batch.entries) if batch.entries else highest + 1
    known = _nonces(db, batch.gate, batch.entries) if lowest <= highest else {}
    new_rows, conflict_rows = [], []
    for values, entry in zip(batch.rows, batch.entries, strict=True):
        kept = known.get(entry.seq)
        if kept is None:
            known[entry.seq] = entry.nonce  # the same seq again in this batch
            new_rows.append(values)
            out.new.append(entry)
        elif kept == entry.nonce:
            out.duplicates += 1
        else:
            out.conflicts += 1
            conflict_rows.append((*values, kept))
    db.executemany(_INSERT_ENTRY, new_rows)
    if conflict_rows:
        out.recorded = db.executemany(_INSERT_CONFLICT, conflict_rows).rowcount
    return out


def _nonces(db: sqlite3.Connection, gate: str, entries: Sequence[StoredEntry]) -> dict[int, str]:
    """The nonce stored for each of these entries' seqs that is stored."""
    seqs = sorted({e.seq for e in entries})
    marks = ",".join("?" * len(seqs))
    query = f"SELECT seq, nonce FROM entries WHERE gate = ? AND seq IN ({marks})"
    return dict(db.execute(query, (gate, *seqs)).fetchall())
