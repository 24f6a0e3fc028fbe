"""One venue's store at head office: a SQLite file of its own under hq's state directory
(`venues/{venue}.db`; delete, export or restore one venue without the others).

It is the hub's own event store (`hub.store.events.EventStore`: the entries exactly as the hub
stored them, idempotent on (gate, seq)), so head office folds, audits and reports on it with the
hub's own code; beside it, head office's tables:

    hq_order(vseq INTEGER PRIMARY KEY, gate, seq, nonce, stored_ms)
                 -- the venue sequence: which entry the hub numbered vseq
    hq_venue(id = 1, upto, batches, duplicates, conflicts, summary, summary_ms)
                 -- every vseq in 1..upto is stored; the counts; the hub's last summary

    store = VenueStore(state_dir, "V1")
    outcome = store.add(batch, now_ms)         # idempotent on (venue, vseq); durable on return
    publish(Ack(venue="V1", upto=outcome.upto))

`add` is idempotent: a batch delivered again, or sent again by the hub, changes nothing but the
duplicate count. The same vseq with another entry (a hub's store replaced under the same venue
id) is a conflict: counted, the first kept, never folded. The entries are stored (synced) before
their numbers, so `upto` never counts an entry that is not on disk.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from gate.link.protocol import Entry
from hub.chain.wire import ChainEntry, EntryBatch, Summary, check_venue
from hub.store.events import EventStore
from hub.store.records import StoredEntry
from hub.store.schema import transaction

_TABLES = (
    """CREATE TABLE IF NOT EXISTS hq_order (
        vseq      INTEGER PRIMARY KEY,
        gate      TEXT    NOT NULL,
        seq       INTEGER NOT NULL,
        nonce     TEXT    NOT NULL,
        stored_ms INTEGER NOT NULL
    ) STRICT""",
    """CREATE TABLE IF NOT EXISTS hq_venue (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        upto       INTEGER NOT NULL DEFAULT 0,
        batches    INTEGER NOT NULL DEFAULT 0,
        duplicates INTEGER NOT NULL DEFAULT 0,
        conflicts  INTEGER NOT NULL DEFAULT 0,
        summary    TEXT,
        summary_ms INTEGER
    ) STRICT""",
    "INSERT OR IGNORE INTO hq_venue (id) VALUES (1)",
)


@dataclass(frozen=True)
class AddOutcome:
    """What storing a batch did."""

    new: int
    duplicates: int
    conflicts: int
    upto: int  # every vseq 1..upto stored once it returned
    stored: tuple[StoredEntry, ...] = ()  # entries new to the store, for the fold


@dataclass
class VenueCounts:
    upto: int = 0
    batches: int = 0
    duplicates: int = 0
    conflicts: int = 0
    highest: int = 0  # highest vseq stored (above upto: a gap waits for the resend)
    stored: int = 0
    summary: dict[str, Any] | None = None
    summary_ms: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class VenueStore:
    """See the module's docstring. One writer thread (hq's consumer); readers from any."""

    def __init__(self, state_dir: str | os.PathLike[str], venue: str) -> None:
        self.venue = check_venue(venue)
        self.path = Path(state_dir) / "venues" / f"{venue}.db"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.events = EventStore(self.path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA synchronous = FULL")
            with transaction(self._db):
                for statement in _TABLES:
                    self._db.execute(statement)
        except BaseException:
            self.close()
            raise

    # --- writing --------------------------------------------------------------------------

    def add(self, batch: EntryBatch, now_ms: int) -> AddOutcome:
        """Store a batch of this venue's entries; see the module's docstring. Raises
        ValueError (nothing stored) when the batch is another venue's or an entry cannot be
        stored as it is; sqlite3.Error when the disk fails."""
        if batch.venue != self.venue:
            raise ValueError(f"a batch of venue {batch.venue!r} for {self.venue!r}'s store")
        with self._lock:
            known = self._known(batch.first, batch.last)
            fresh: list[tuple[int, ChainEntry]] = []
            duplicates = conflicts = 0
            for vseq, entry in batch.numbered():
                kept = known.get(vseq)
                if kept is None:
                    fresh.append((vseq, entry))
                elif kept == (entry.gate, entry.seq, entry.nonce):
                    duplicates += 1
                else:
                    conflicts += 1
            stored = self._store_entries([e for _, e in fresh]) if fresh else []
            with transaction(self._db):
                self._db.executemany(
                    "INSERT INTO hq_order (vseq, gate, seq, nonce, stored_ms) VALUES (?,?,?,?,?)",
                    [(v, e.gate, e.seq, e.nonce, now_ms) for v, e in fresh],
                )
                upto = self._contiguous(self._read_row()["upto"])
                self._db.execute(
                    "UPDATE hq_venue SET upto = ?, batches = batches + 1, "
                    "duplicates = duplicates + ?, conflicts = conflicts + ? WHERE id = 1",
                    (upto, duplicates, conflicts),
                )
        return AddOutcome(len(fresh), duplicates, conflicts, upto, tuple(stored))

    def _store_entries(self, entries: Sequence[ChainEntry]) -> list[StoredEntry]:
        """Into the event store, one transaction: runs of one gate with one hub time each."""
        runs: list[tuple[str, int, list[ChainEntry]]] = []
        for e in entries:
            if runs and runs[-1][0] == e.gate and runs[-1][1] == e.received_ms:
                runs[-1][2].append(e)
            else:
                runs.append((e.gate, e.received_ms, [e]))
        prepared = [
            self.events.prepare(gate, cast(Sequence[Entry], run), received_ms)
            for gate, received_ms, run in runs
        ]
        return [s for result in self.events.add_batches(prepared) for s in result.stored]

    def _known(self, first: int, last: int) -> dict[int, tuple[str, int, str]]:
        rows = self._db.execute(
            "SELECT vseq, gate, seq, nonce FROM hq_order WHERE vseq BETWEEN ? AND ?", (first, last)
        ).fetchall()
        return {vseq: (gate, seq, nonce) for vseq, gate, seq, nonce in rows}

    def _contiguous(self, upto: int) -> int:
        """The highest n with every vseq 1..n stored, from `upto` on."""
        while True:
            rows = self._db.execute(
                "SELECT vseq FROM hq_order WHERE vseq > ? ORDER BY vseq LIMIT 5000", (upto,)
            ).fetchall()
            for (vseq,) in rows:
                if vseq != upto + 1:
                    return upto
                upto = vseq
            if len(rows) < 5000:
                return upto

    def set_summary(self, summary: Summary, now_ms: int) -> None:
        """Keep the hub's latest summary (a late, older one is ignored)."""
        with self._lock, transaction(self._db):
            row = self._read_row()
            if row["summary"] and json.loads(row["summary"]).get("at_ms", 0) > summary.at_ms:
                return
            self._db.execute(
                "UPDATE hq_venue SET summary = ?, summary_ms = ? WHERE id = 1",
                (summary.model_dump_json(), now_ms),
            )

    # --- reading --------------------------------------------------------------------------

    def counts(self) -> VenueCounts:
        with self._lock:
            row = self._read_row()
            highest, stored = self._db.execute(
                "SELECT coalesce(max(vseq), 0), count(*) FROM hq_order"
            ).fetchone()
        return VenueCounts(
            upto=row["upto"],
            batches=row["batches"],
            duplicates=row["duplicates"],
            conflicts=row["conflicts"],
            highest=highest,
            stored=stored,
            summary=json.loads(row["summary"]) if row["summary"] else None,
            summary_ms=row["summary_ms"],
        )

    def upto(self) -> int:
        with self._lock:
            return int(self._read_row()["upto"])

    def entry_keys(self) -> list[tuple[int, str, int]]:
        """(vseq, gate, seq) of every entry, by vseq (for checks and exports)."""
        with self._lock:
            return [
                (v, g, s)
                for v, g, s in self._db.execute(
                    "SELECT vseq, gate, seq FROM hq_order ORDER BY vseq"
                )
            ]

    def _read_row(self) -> dict[str, Any]:
        cursor = self._db.execute("SELECT * FROM hq_venue WHERE id = 1")
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))

    def close(self) -> None:
        self._db.close()
        self.events.close()

    def __enter__(self) -> VenueStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def venues_in(state_dir: str | os.PathLike[str]) -> list[str]:
    """The venues with a store under `state_dir`, by id."""
    folder = Path(state_dir) / "venues"
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.db"):
        try:
            found.append(check_venue(path.stem))
        except ValueError:
            continue
    return sorted(found)
