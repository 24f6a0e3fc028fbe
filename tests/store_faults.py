"""The hub's event store seen from outside its connection: what is committed, and a real SQLite
failure inside its transaction.

- `committed(path)`: every (gate, seq) another connection sees, so only what is committed.
- `failing_insert(path, gate=None, seq=None)`: while the block runs, SQLite fails the store's
  insert of that entry (of every entry when None) with "database or disk is full", through a
  trigger added by another connection: the transaction fails as on a full or failing disk.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


def committed(path: Path) -> list[tuple[str, int]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows: list[tuple[str, int]] = db.execute(
            "SELECT gate, seq FROM entries ORDER BY gate, seq"
        ).fetchall()
        return rows


def committed_run(path: Path, gate: str) -> int:
    """The longest run 1, 2, 3... of `gate`'s seqs that another connection sees."""
    seqs = {seq for g, seq in committed(path) if g == gate}
    run = 0
    while run + 1 in seqs:
        run += 1
    return run


@contextlib.contextmanager
def failing_insert(path: Path, gate: str | None = None, seq: int | None = None) -> Iterator[None]:
    when = "1" if gate is None else f"NEW.gate = '{gate}' AND NEW.seq = {seq}"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute(
            f"CREATE TRIGGER fail_insert BEFORE INSERT ON entries WHEN {when} "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
        try:
            yield
        finally:
            db.execute("DROP TRIGGER fail_insert")
