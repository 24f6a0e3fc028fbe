"""What the hub's event store keeps and hands out: entries as stored, gates' rows, batches
prepared and what storing them did, conflicts and quarantined entries, and the counts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

ENTRY_COLUMNS = "gate, seq, nonce, hlc, wall_ms, kind, body, received_ms"
encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class StoredEntry(NamedTuple):
    """One entry as the hub keeps it: the gate's journal entry and when the hub first got it.
    (A named tuple: the ingest makes one per entry, in half the time a dataclass takes.)"""

    gate: str
    seq: int
    nonce: str
    hlc: str
    wall_ms: int
    kind: str
    body: dict[str, Any]
    received_ms: int

    @property
    def key(self) -> tuple[str, str, int]:
        """The venue's order: hybrid timestamp, then gate and seq to break ties."""
        return (self.hlc, self.gate, self.seq)


@dataclass(frozen=True, slots=True)
class AddResult:
    """What one batch did. `stored` are the entries new to the store, in the batch's order."""

    new: int
    duplicates: int
    conflicts: int
    acked: int  # the gate's watermark once the transaction is committed
    highest: int  # the highest seq stored for the gate: above `acked` means a gap
    stored: tuple[StoredEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch checked and encoded by `EventStore.prepare`, ready for `add_batches`."""

    gate: str
    received_ms: int
    rows: list[tuple[Any, ...]]  # as inserted: gate, seq, nonce, hlc, wall_ms, kind, body, ms
    entries: list[StoredEntry]  # the same entries, as the venue's state gets them
    quarantined: list[tuple[Any, ...]] = field(default_factory=list)  # as `quarantine` rows


@dataclass(frozen=True, slots=True)
class Quarantined:
    """An entry a gate may not have written, as the quarantine keeps it."""

    gate: str
    seq: int
    kind: str
    reason: str
    detail: str
    size: int
    received_ms: int


@dataclass(frozen=True, slots=True)
class GateRow:
    gate: str
    acked: int = 0
    highest: int = 0
    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0
    first_seen_ms: int | None = None
    last_seen_ms: int | None = None
    status: dict[str, Any] | None = None
    status_ms: int | None = None
    skew_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Conflict:
    """An entry refused because the store holds another one with its (gate, seq)."""

    gate: str
    seq: int
    kept: StoredEntry
    refused: StoredEntry


@dataclass(frozen=True, slots=True)
class Counts:
    entries: int
    gates: int
    duplicates: int
    conflicts: int


def entry_from_row(row: Sequence[Any]) -> StoredEntry:
    gate, seq, nonce, hlc, wall_ms, kind, body, received_ms = row
    return StoredEntry(gate, seq, nonce, hlc, wall_ms, kind, json.loads(body), received_ms)
