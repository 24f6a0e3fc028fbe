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
An entry a gate may not have written (`gate.core.authority`: the ingest checks each one) is
quarantined: its head, reason and first `QUARANTINE_BODY` characters go to `quarantine`, and
`entries` holds in its place a stub of kind `refused` with no events, so the gate's watermark
moves on over it (nothing waits for it, nothing folds it). An entry refused for its sequence
number (`seq_jump`) is quarantined and not stored at all: it leaves no gap. Each gate's first
`QUARANTINE_COPIES` refused bodies are kept; later ones, and any refused as `flood`, keep only
their head, reason and size. The stub of an entry refused as `clock_ahead` takes the time it
was received as its hybrid timestamp: it must not sort after everything to come.

Schema (`PRAGMA user_version` = 2; a version 1 store gets the quarantine table when opened):

    entries(gate, seq, nonce, hlc, wall_ms, kind, body, received_ms, PRIMARY KEY (gate, seq))
        index entries_by_hlc (hlc, gate, seq)     -- the venue's order: hybrid time, then gate
    gates(gate PRIMARY KEY, acked, highest, stored, duplicates, conflicts,
          first_seen_ms, last_seen_ms, status, status_ms, skew_ms)
    conflicts(gate, seq, nonce, hlc, wall_ms, kind, body, received_ms, kept_nonce,
              PRIMARY KEY (gate, seq, nonce))     -- entries refused for a reused (gate, seq)
    quarantine(gate, seq, nonce, hlc, wall_ms, kind, body, received_ms, reason, detail, size,
               PRIMARY KEY (gate, seq, nonce))    -- entries a gate may not have written

Threads: one thread writes (the hub's ingest loop); other threads may read. Every call takes
the store's lock, and the paged iterator takes it per page, never across a `yield`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from gate.core.hlc import MAX_WALL_MS, Timestamp
from gate.link.batches import WireEntry
from gate.link.protocol import Entry

SCHEMA_VERSION = 2
QUARANTINE_BODY = 2048  # characters of a refused body kept: enough to read, never a flood
QUARANTINE_COPIES = 1000  # refused bodies kept per gate (2 MB at most); later ones: head only
FILE_MODE = 0o600  # bodies name wristbands and may carry guardians' phone numbers
PAGE_SIZE = 2000
MAX_SQL_INT = (1 << 63) - 1

_SCHEMA = (
    """CREATE TABLE entries (
        gate        TEXT    NOT NULL,
        seq         INTEGER NOT NULL,  -- the gate's journal sequence: 1, 2, 3...
        nonce       TEXT    NOT NULL,  -- tells a resent entry from another one with its seq
        hlc         TEXT    NOT NULL,  -- hybrid timestamp, text that sorts in time order
        wall_ms     INTEGER NOT NULL,  -- the gate's wall clock at append (may be wrong)
        kind        TEXT    NOT NULL,
        body        TEXT    NOT NULL,  -- a JSON object
        received_ms INTEGER NOT NULL,  -- the hub's clock when first stored
        PRIMARY KEY (gate, seq)
    ) STRICT""",
    "CREATE INDEX entries_by_hlc ON entries (hlc, gate, seq)",
    """CREATE TABLE gates (
        gate          TEXT PRIMARY KEY,
        acked         INTEGER NOT NULL DEFAULT 0,  -- every seq in 1..acked is stored
        highest       INTEGER NOT NULL DEFAULT 0,  -- highest seq stored
        stored        INTEGER NOT NULL DEFAULT 0,
        duplicates    INTEGER NOT NULL DEFAULT 0,
        conflicts     INTEGER NOT NULL DEFAULT 0,  -- distinct conflicting entries
        first_seen_ms INTEGER,
        last_seen_ms  INTEGER,
        status        TEXT,                        -- the last GateStatus, JSON
        status_ms     INTEGER,                     -- when it was received
        skew_ms       INTEGER                      -- its wall_ms minus status_ms, when live
    ) STRICT""",
    """CREATE TABLE conflicts (
        gate        TEXT    NOT NULL,
        seq         INTEGER NOT NULL,
        nonce       TEXT    NOT NULL,
        hlc         TEXT    NOT NULL,
        wall_ms     INTEGER NOT NULL,
        kind        TEXT    NOT NULL,
        body        TEXT    NOT NULL,
        received_ms INTEGER NOT NULL,
        kept_nonce  TEXT    NOT NULL,
        PRIMARY KEY (gate, seq, nonce)
    ) STRICT""",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
_QUARANTINE = """CREATE TABLE IF NOT EXISTS quarantine (
        gate        TEXT    NOT NULL,
        seq         INTEGER NOT NULL,
        nonce       TEXT    NOT NULL,
        hlc         TEXT    NOT NULL,
        wall_ms     INTEGER NOT NULL,
        kind        TEXT    NOT NULL,
        body        TEXT    NOT NULL,  -- its first QUARANTINE_BODY characters
        received_ms INTEGER NOT NULL,
        reason      TEXT    NOT NULL,  -- gate.core.authority.Reason
        detail      TEXT    NOT NULL,
        size        INTEGER NOT NULL,  -- the whole body's length
        PRIMARY KEY (gate, seq, nonce)
    ) STRICT"""
_ENTRY_COLUMNS = "gate, seq, nonce, hlc, wall_ms, kind, body, received_ms"
_INSERT_ENTRY = f"INSERT INTO entries ({_ENTRY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)"
_INSERT_CONFLICT = (
    f"INSERT OR IGNORE INTO conflicts ({_ENTRY_COLUMNS}, kept_nonce) VALUES (?,?,?,?,?,?,?,?,?)"
)
_INSERT_QUARANTINE = (
    f"INSERT OR IGNORE INTO quarantine ({_ENTRY_COLUMNS}, reason, detail, size) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class StoreError(Exception):
    """The store cannot be opened or is not a hub event store. Names the file."""


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


@dataclass
class _Outcome:
    """What inserting a batch did, before it is committed."""

    new: list[StoredEntry] = field(default_factory=list)
    duplicates: int = 0
    conflicts: int = 0
    recorded: int = 0  # conflicting entries new to the conflicts table


class EventStore:
    """The hub's event store at `path` (created if missing). See the module's docstring."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        if not self.path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"event store {self.path}: cannot be opened: {exc}") from exc
        try:
            self._configure()
            self._gates = {row.gate: row for row in self._read_gates()}
            self._kept: dict[str, int] = {}  # quarantined bodies kept, per gate (`_copies`)
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
        if not isinstance(gate, str) or not gate.isascii():
            raise ValueError(f"gate id {gate!r} is not ASCII text")
        rows, stored, quarantined = [], [], []
        for e in entries:
            if not (0 < e.seq <= MAX_SQL_INT and 0 <= e.wall_ms <= MAX_SQL_INT):
                raise ValueError(f"entry {e.seq} of {gate}: seq or wall_ms out of range")
            try:
                body = e.body_json if isinstance(e, WireEntry) else _encode(e.body)
                for text in (e.nonce, e.kind, body):
                    if not text.isascii():
                        text.encode()  # a lone surrogate cannot be stored
            except (ValueError, TypeError, UnicodeError) as exc:
                raise ValueError(f"entry {e.seq} of {gate}: cannot be stored: {exc}") from exc
            kind, content, hlc = e.kind, e.body, e.hlc
            if refused is not None and e.seq in refused:
                reason, detail = refused[e.seq]
                head = (gate, e.seq, e.nonce, e.hlc, e.wall_ms, kind)
                kept = "" if reason == "flood" else body[:QUARANTINE_BODY]
                size = len(body.encode(errors="surrogatepass"))
                quarantined.append((*head, kept, received_ms, reason, detail[:500], size))
                if reason == "seq_jump":
                    continue
                kind, content = "refused", {"refused": reason, "kind": kind[:32]}
                body = _encode(content)
                if reason == "clock_ahead":  # the stub sorts where it came, not in the future
                    hlc = min(hlc, str(Timestamp(min(max(received_ms, 0), MAX_WALL_MS))))
            rows.append((gate, e.seq, e.nonce, hlc, e.wall_ms, kind, body, received_ms))
            stored.append(
                StoredEntry(gate, e.seq, e.nonce, hlc, e.wall_ms, kind, content, received_ms)
            )
        return PreparedBatch(gate, received_ms, rows, stored, quarantined)

    def add_batches(self, batches: Sequence[PreparedBatch]) -> list[AddResult]:
        """Store prepared batches, of any gates, in one transaction and in order (an entry of
        an earlier batch is a duplicate in a later one); one result per batch, each with its
        gate's watermark once all are stored. Raises sqlite3.Error when the disk fails: nothing
        is stored and nothing changes (the gates will resend)."""
        with self._lock:
            rows: dict[str, GateRow] = {}
            new_seqs: dict[str, list[int]] = {}
            outcomes = []
            with self._transaction():
                for batch in batches:
                    if batch.quarantined:
                        self._db.executemany(_INSERT_QUARANTINE, self._copies(batch))
                    row = rows.get(batch.gate) or self._gates.get(batch.gate)
                    row = row or GateRow(batch.gate, first_seen_ms=batch.received_ms)
                    outcome = self._insert(batch, row.highest)
                    rows[batch.gate] = _counted(row, batch, outcome)
                    new_seqs.setdefault(batch.gate, []).extend(e.seq for e in outcome.new)
                    outcomes.append(outcome)
                for gate, row in rows.items():
                    acked = self._watermark(gate, self._gates.get(gate), new_seqs[gate])
                    rows[gate] = row = replace(row, acked=acked)
                    self._write_gate(row)
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

    def _copies(self, batch: PreparedBatch) -> list[tuple[Any, ...]]:
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

    def set_status(
        self, gate: str, status: dict[str, Any], received_ms: int, skew_ms: int | None
    ) -> GateRow:
        """Remember a gate's last status (a GateStatus as JSON), when it came and the clock
        skew it showed (None when unknown: a retained or offline status)."""
        text = _encode(status)
        with self._lock, self._transaction():
            row = self._gates.get(gate) or GateRow(gate, first_seen_ms=received_ms)
            row = replace(row, status=json.loads(text), status_ms=received_ms, skew_ms=skew_ms)
            if status.get("online"):
                row = replace(row, last_seen_ms=max(row.last_seen_ms or 0, received_ms))
            self._write_gate(row)
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
            row = self._gates.get(gate)
            if row is None or row.highest <= row.acked:
                return []
            gaps, expected = [], row.acked + 1
            cursor = self._db.execute(
                "SELECT seq FROM entries WHERE gate = ? AND seq > ? ORDER BY seq",
                (gate, row.acked),
            )
            for (seq,) in cursor:
                if seq > expected:
                    gaps.append((expected, seq - 1))
                expected = seq + 1
            return gaps

    def get(self, gate: str, seq: int) -> StoredEntry | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE gate = ? AND seq = ?", (gate, seq)
            ).fetchone()
        return _entry(row) if row else None

    def entries_in_hlc_order(
        self, after_hlc: str | None = None, page_size: int = PAGE_SIZE
    ) -> Iterator[StoredEntry]:
        """Every entry with a hybrid timestamp above `after_hlc` (all when None), in the venue's
        order (hybrid timestamp, gate, seq). Reads a page at a time: memory stays flat."""
        key: tuple[str, str, int] = (after_hlc or "", "\uffff" if after_hlc else "", 0)
        while True:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE (hlc, gate, seq) > (?, ?, ?) "
                    "ORDER BY hlc, gate, seq LIMIT ?",
                    (*key, page_size),
                ).fetchall()
            for row in rows:
                yield _entry(row)
            if len(rows) < page_size:
                return
            last = rows[-1]
            key = (last[3], last[0], last[1])

    def conflicts(self) -> list[Conflict]:
        """Every conflicting entry refused, with the one kept, by gate and seq."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ENTRY_COLUMNS}, kept_nonce FROM conflicts "
                "ORDER BY gate, seq, received_ms, nonce"
            ).fetchall()
            kept = {
                (r[0], r[1]): self._db.execute(
                    f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE gate = ? AND seq = ?",
                    (r[0], r[1]),
                ).fetchone()
                for r in rows
            }
        return [Conflict(r[0], r[1], _entry(kept[r[0], r[1]]), _entry(r[:8])) for r in rows]

    def quarantined(self, limit: int = 10_000) -> list[Quarantined]:
        """Entries refused for what they say, oldest first (at most `limit`)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT gate, seq, kind, reason, detail, size, received_ms FROM quarantine "
                "ORDER BY received_ms, gate, seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [Quarantined(*row) for row in rows]

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

    # --- helpers --------------------------------------------------------------------------

    def _configure(self) -> None:
        try:
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"event store {self.path}: cannot use WAL (mode is {mode})")
            self._db.execute("PRAGMA synchronous = FULL")
            (version,) = self._db.execute("PRAGMA user_version").fetchone()
            (tables,) = self._db.execute("SELECT count(*) FROM sqlite_schema").fetchone()
            if version == 0 and tables == 0:
                with self._transaction():
                    for statement in (*_SCHEMA, _QUARANTINE):
                        self._db.execute(statement)
            elif version == 1:  # the store of an earlier release: add the quarantine
                with self._transaction():
                    self._db.execute(_QUARANTINE)
                    self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise StoreError(
                    f"event store {self.path}: schema version {version}, "
                    f"this program reads {SCHEMA_VERSION} (or not a hub event store)"
                )
        except sqlite3.Error as exc:
            raise StoreError(f"event store {self.path}: cannot be opened: {exc}") from exc

    def _read_gates(self) -> list[GateRow]:
        rows = self._db.execute(
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

    def _write_gate(self, row: GateRow) -> None:
        self._db.execute(
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
                _encode(row.status) if row.status is not None else None,
                row.status_ms,
                row.skew_ms,
            ),
        )

    def _insert(self, batch: PreparedBatch, highest: int) -> _Outcome:
        """Insert a batch's entries new to the store (inside a transaction), telling the others
        apart by the nonce stored for their seq. `highest`: the gate's highest seq stored so far
        (a batch all above it, the usual one, needs no lookup)."""
        out = _Outcome()
        lowest = min(e.seq for e in batch.entries) if batch.entries else highest + 1
        known = self._nonces(batch.gate, batch.entries) if lowest <= highest else {}
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
        self._db.executemany(_INSERT_ENTRY, new_rows)
        if conflict_rows:
            out.recorded = self._db.executemany(_INSERT_CONFLICT, conflict_rows).rowcount
        return out

    def _nonces(self, gate: str, entries: Sequence[StoredEntry]) -> dict[int, str]:
        """The nonce stored for each of these entries' seqs that is stored."""
        seqs = sorted({e.seq for e in entries})
        marks = ",".join("?" * len(seqs))
        query = f"SELECT seq, nonce FROM entries WHERE gate = ? AND seq IN ({marks})"
        return dict(self._db.execute(query, (gate, *seqs)).fetchall())

    def _watermark(self, gate: str, before: GateRow | None, new: list[int]) -> int:
        """The gate's watermark now that the seqs `new` are stored, from its row `before`."""
        acked = before.acked if before else 0
        new.sort()
        if not new or new[0] != acked + 1:
            return acked  # the seq right above the watermark is still missing
        if before is not None and before.highest > acked:
            return self._contiguous_from(gate, acked)  # entries stored above a gap before
        # every seq stored above the watermark is new: walk over them, without a query
        if new[-1] - new[0] + 1 == len(new):
            return new[-1]
        for seq in new:
            if seq != acked + 1:
                break
            acked = seq
        return acked

    def _contiguous_from(self, gate: str, acked: int) -> int:
        """The watermark walked up from `acked` over the seqs stored without a hole. Reads only
        the rows it moves over, plus one: incremental, whatever the number stored above."""
        cursor = self._db.execute(
            "SELECT seq FROM entries WHERE gate = ? AND seq > ? ORDER BY seq", (gate, acked)
        )
        for (seq,) in cursor:
            if seq != acked + 1:
                break
            acked = seq
        cursor.close()
        return acked

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # a failed COMMIT may leave it open
                self._db.execute("ROLLBACK")
            raise


def _counted(row: GateRow, batch: PreparedBatch, outcome: _Outcome) -> GateRow:
    """The gate's row with a batch's entries counted in (its watermark is set after)."""
    return replace(
        row,
        highest=max([row.highest, *(e.seq for e in outcome.new)]),
        stored=row.stored + len(outcome.new),
        duplicates=row.duplicates + outcome.duplicates,
        conflicts=row.conflicts + outcome.recorded,
        last_seen_ms=max(row.last_seen_ms or 0, batch.received_ms),
    )


def _entry(row: Sequence[Any]) -> StoredEntry:
    gate, seq, nonce, hlc, wall_ms, kind, body, received_ms = row
    return StoredEntry(gate, seq, nonce, hlc, wall_ms, kind, json.loads(body), received_ms)
