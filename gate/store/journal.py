"""The gate's durable journal: every event, in order, on disk before the gate acts on it.

Design §5: each event goes first into this journal, then to the hub, which acknowledges per gate
the highest contiguous sequence number it has stored; the gate resends everything above it.

    with Journal("/var/lib/wristgate/journal.db", "E1") as journal:
        entry = journal.append("decision", {"uid": "04A1B2C3D4E5F6", "code": "OK_ENTRY"})
        relay.pulse()                      # only once the entry is on disk
        publish(journal.entries_after(journal.acked, 500))
        journal.acknowledge(hub_ack)       # the hub's watermark, stored durably

Storage: SQLite in WAL mode with `synchronous=FULL` (design §6). `append` is one INSERT in its
own transaction; on commit SQLite syncs the WAL once, so the entry survives a power cut once
`append` returns. The database file is synced only at checkpoints, every
`WAL_AUTOCHECKPOINT_PAGES` pages, after which the WAL is written again from its start, not
truncated (`journal_size_limit` only trims a WAL that grew while a reader held it): a sync into
blocks the file already has costs about half what a sync of a growing file does
(bench/journal.py).

Sequence numbers start at 1 and go up by one per entry: never reused and never skipped, across
restarts and compaction (`compact` records the highest sequence it deleted in `meta`). A failed
append raises `JournalError` and uses no sequence number.

Threads and processes: one thread owns a `Journal` (the daemon's loop); Python's sqlite3 checks
this. A second writer of the same file is refused (an exclusive `flock` on `<path>-lock`).
Readers in other processes, such as the technician's CLI, use `Journal.open_readonly(path)`,
which WAL lets read while the gate writes.

Schema (`PRAGMA user_version` = 1):

    entries(seq INTEGER PRIMARY KEY, nonce TEXT, wall_ms INTEGER, hlc TEXT, kind TEXT, body TEXT)
    meta(key TEXT PRIMARY KEY, value)   -- gate, acked, compacted_seq, compacted_hlc
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TextIO

from gate.core.hlc import DEFAULT_MAX_DRIFT_MS, MAX_WALL_MS, ZERO, HybridClock, Timestamp
from gate.store.journal_file import (
    JournalError,
    check_schema,
    create_file,
    lock_for_writing,
    open_for_writing,
    transaction,
)

READ_BUSY_TIMEOUT_MS = 5000
_INSERT = "INSERT INTO entries (seq, nonce, wall_ms, hlc, kind, body) VALUES (?, ?, ?, ?, ?, ?)"
_COLUMNS = "seq, nonce, wall_ms, hlc, kind, body"
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_SET_META = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?"


def wall_clock_ms() -> int:
    """The system's wall clock in milliseconds since the epoch (may be wrong: see gate.core.hlc)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Entry:
    """One journalled event, as the hub receives it."""

    gate: str
    seq: int
    nonce: str
    wall_ms: int
    hlc: Timestamp
    kind: str
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object (the hybrid timestamp in its text form)."""
        return {
            "gate": self.gate,
            "seq": self.seq,
            "nonce": self.nonce,
            "wall_ms": self.wall_ms,
            "hlc": str(self.hlc),
            "kind": self.kind,
            "body": self.body,
        }


class _JournalView:
    """What both the writer and a read-only reader can do."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db
        self.gate_id: str = self._meta("gate", "")

    @property
    def last_seq(self) -> int:
        """The sequence number of the last entry appended (0 for none)."""
        return self._read_last()[0]

    @property
    def acked(self) -> int:
        """The hub's acknowledged watermark: every entry up to it is stored at the hub."""
        return int(self._meta("acked", 0))

    @property
    def backlog(self) -> int:
        """Entries not yet acknowledged by the hub."""
        acked = self.acked  # first: a reader's two queries may straddle an append and an ack
        return self.last_seq - acked

    def entries_after(self, seq: int, limit: int = 1000) -> list[Entry]:
        """Up to `limit` entries with a sequence number above `seq`, in order: what to resend."""
        rows = self._query(
            f"SELECT {_COLUMNS} FROM entries WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [self._entry(row) for row in rows]

    def tail(self, n: int) -> list[Entry]:
        """The last `n` entries, oldest first."""
        rows = self._query(f"SELECT {_COLUMNS} FROM entries ORDER BY seq DESC LIMIT ?", (n,))
        return [self._entry(row) for row in reversed(rows)]

    def export(self, fh: TextIO, after: int = 0) -> int:
        """Write the entries above `after` to `fh`, one JSON object per line, in order; returns
        how many. Streams: memory stays flat whatever the journal's size."""
        count = 0
        with self._failures("cannot be read"):
            cursor = self._db.execute(
                f"SELECT {_COLUMNS} FROM entries WHERE seq > ? ORDER BY seq", (after,)
            )
            for row in cursor:
                fh.write(_encode_json(self._entry(row).to_json()) + "\n")
                count += 1
        return count

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- helpers --------------------------------------------------------------------------

    def _entry(self, row: tuple[Any, ...]) -> Entry:
        seq, nonce, wall_ms, hlc, kind, body = row
        return Entry(
            self.gate_id, seq, nonce, wall_ms, Timestamp.parse(hlc), kind, json.loads(body)
        )

    def _read_last(self) -> tuple[int, Timestamp]:
        """(last sequence number, last hybrid timestamp), from the entries or, when compaction
        removed them all, from what it recorded."""
        rows = self._query("SELECT seq, hlc FROM entries ORDER BY seq DESC LIMIT 1")
        seq, hlc = rows[0] if rows else (0, str(ZERO))
        compacted_seq = int(self._meta("compacted_seq", 0))
        compacted_hlc = str(self._meta("compacted_hlc", str(ZERO)))
        return max(seq, compacted_seq), Timestamp.parse(max(hlc, compacted_hlc))

    def _meta(self, key: str, default: Any) -> Any:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else default

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._failures("cannot be read"):
            return self._db.execute(sql, params).fetchall()

    @contextlib.contextmanager
    def _failures(self, doing: str) -> Iterator[None]:
        """SQLite and OS errors as `JournalError`, naming the file."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(self.path, f"{doing}: {exc}") from exc


class JournalReader(_JournalView):
    """A read-only view of a journal, safe to open while the gate writes it (WAL)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        if not path.is_file():
            raise JournalError(path, "no such journal file")
        uri = f"{path.absolute().as_uri()}?mode=ro"
        try:
            db = sqlite3.connect(uri, uri=True, isolation_level=None)
            db.execute(f"PRAGMA busy_timeout = {READ_BUSY_TIMEOUT_MS}")
            check_schema(path, db)
        except sqlite3.Error as exc:
            raise JournalError(path, f"cannot be opened for reading: {exc}") from exc
        super().__init__(path, db)


class Journal(_JournalView):
    """The gate's journal, open for writing. See the module's docstring.

    `wall` returns the wall time in ms (injected in tests); `max_drift_ms` bounds how far ahead
    a remote hybrid timestamp may be (`observe`). Opening a file of another gate, another
    program or a newer schema, an unreadable file or a missing directory raises `JournalError`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        gate_id: str,
        *,
        wall: Callable[[], int] = wall_clock_ms,
        max_drift_ms: int = DEFAULT_MAX_DRIFT_MS,
    ) -> None:
        if not gate_id:
            raise ValueError("gate_id must not be empty")
        path = Path(path)
        self._lock_fd = lock_for_writing(path)
        db = None
        try:
            create_file(path)
            db = open_for_writing(path, gate_id)
            super().__init__(path, db)
            self._last_seq, last_hlc = self._read_last()
            self._acked = super().acked
        except BaseException:
            if db is not None:
                db.close()
            os.close(self._lock_fd)
            raise
        self._wall = wall
        self._clock = HybridClock(wall, last=last_hlc, max_drift_ms=max_drift_ms)
        self._stamped: Timestamp | None = None  # issued by `stamp`, for the next entry

    @staticmethod
    def open_readonly(path: str | os.PathLike[str]) -> JournalReader:
        """A read-only view of the journal at `path`, for another thread or process."""
        return JournalReader(path)

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def acked(self) -> int:
        return self._acked

    @property
    def hlc(self) -> Timestamp:
        """The last hybrid timestamp issued or observed."""
        return self._clock.last

    def clock_ms(self) -> int:
        """This gate's clock as `observe` measures a remote timestamp against: the later of
        the wall clock and the last hybrid timestamp, in ms."""
        return max(self._wall(), self._clock.last.wall_ms)

    def clock_put_right(self) -> bool:
        """The wall clock was ahead and is now put right (`gate.daemon.clock_watch`): forget
        the hybrid clock's readings beyond both the wall clock and the last entry journalled
        (a restart's first reading, taken an hour ahead, would otherwise stamp the next hour's
        entries there and every other gate would refuse them). Entries journalled keep their
        timestamps and the clock never goes back below them. True when it went back."""
        journalled = self._read_last()[1]
        last = max(journalled, min(self._clock.last, Timestamp(self._wall(), 0)))
        if last >= self._clock.last:
            return False
        self._clock = HybridClock(self._wall, last=last, max_drift_ms=self._clock.max_drift_ms)
        return True

    @property
    def max_drift_ms(self) -> int:
        """How far ahead of `clock_ms` a remote timestamp may be."""
        return self._clock.max_drift_ms

    def stamp(self) -> Timestamp:
        """The hybrid timestamp the next entry is journalled with, issued now (a band's passage
        record carries it, written before its decision is journalled): `append` takes it as
        long as the clock issued or observed nothing after it."""
        self._stamped = self._clock.tick(self._wall())
        return self._stamped

    def append(self, kind: str, body: dict[str, Any]) -> Entry:
        """Journal an event; returns once it is committed to disk.

        `body` must be JSON-serialisable (ValueError or TypeError otherwise, nothing written).
        Raises `JournalError` when the write fails; no sequence number is used then.
        """
        if not kind:
            raise ValueError("kind must not be empty")
        text = _encode_json(body)
        seq = self._last_seq + 1
        wall_ms = self._wall()
        stamped, self._stamped = self._stamped, None
        hlc = stamped if stamped == self._clock.last else self._clock.tick(wall_ms)
        nonce = secrets.token_hex(8)
        try:
            self._db.execute(_INSERT, (seq, nonce, wall_ms, str(hlc), kind, text))
        except sqlite3.Error as exc:
            self._resync()
            raise JournalError(self.path, f"append of entry {seq} failed: {exc}") from exc
        self._last_seq = seq
        return Entry(self.gate_id, seq, nonce, wall_ms, hlc, kind, json.loads(text))

    def acknowledge(self, seq: int) -> int:
        """Store the hub's acknowledged watermark durably; returns the watermark.

        A lower watermark than the one held is ignored (acks can arrive out of order). One above
        the last entry is refused with ValueError: the hub is speaking of another journal.
        """
        if seq > self._last_seq:
            raise ValueError(f"ack {seq} is beyond the last entry {self._last_seq} of {self.path}")
        if seq > self._acked:
            with self._failures("cannot store the acknowledgement"):
                self._db.execute(_SET_META, ("acked", seq, seq))
            self._acked = seq
        return self._acked

    def observe(self, remote: Timestamp) -> Timestamp:
        """Merge a remote hybrid timestamp into the clock (see `HybridClock.observe`, which may
        raise `ClockDriftError`). It is persisted with the next entry."""
        return self._clock.observe(remote)

    def compact(self, retain: timedelta, now: datetime) -> int:
        """Delete acknowledged entries older than `retain` at `now` (by hybrid timestamp, which
        does not go back with the wall clock); returns how many. Unacknowledged entries are
        always kept. Space freed is reused by later entries."""
        if retain < timedelta(0):
            raise ValueError(f"retain must not be negative: {retain}")
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        cutoff_ms = max(0, (now - retain).timestamp() * 1000)
        cutoff = str(Timestamp(min(int(cutoff_ms), MAX_WALL_MS)))
        with self._failures("compaction failed"), transaction(self._db):
            # Sequence numbers and timestamps grow together, so what goes is a prefix.
            rows = self._db.execute(
                "SELECT seq, hlc FROM entries WHERE seq <= ? AND hlc < ? ORDER BY seq DESC LIMIT 1",
                (self._acked, cutoff),
            ).fetchall()
            if not rows:
                return 0
            upto, hlc = rows[0]
            deleted = self._db.execute("DELETE FROM entries WHERE seq <= ?", (upto,)).rowcount
            self._db.execute(_SET_META, ("compacted_seq", upto, upto))
            self._db.execute(_SET_META, ("compacted_hlc", hlc, hlc))
        return int(deleted)

    def settings(self) -> dict[str, Any]:
        """The SQLite settings in force, for diagnostics."""
        names = ("journal_mode", "synchronous", "wal_autocheckpoint", "journal_size_limit")
        return {name: self._query(f"PRAGMA {name}")[0][0] for name in names}

    def close(self) -> None:
        """Close the database, then release the writer's lock."""
        if self._lock_fd < 0:
            return
        self._db.close()
        os.close(self._lock_fd)
        self._lock_fd = -1

    # --- helpers --------------------------------------------------------------------------

    def _resync(self) -> None:
        """After a failed append: read the last sequence number from disk again, in case the entry
        reached it after all (an I/O error can be reported for a commit that was written)."""
        with contextlib.suppress(JournalError):
            self._last_seq = max(self._last_seq, self._read_last()[0])
