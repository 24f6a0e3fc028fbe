"""What a venue's hub holds for head office, read from its store (read-only): the venue
sequence (`chain_order`, numbered as the hub stored each entry, `hub.store.chain`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from venue.processes import Venue

Row = tuple[int, str, int]  # venue sequence, gate, gate's seq


def events_db(venue: Venue) -> Path:
    """The hub's event store of a simulated venue."""
    return venue.root / "hub" / "state" / "events.db"


def hub_rows(path: Path) -> list[Row]:
    """The hub's venue sequence: (vseq, gate, seq) in order."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT vseq, gate, seq FROM chain_order ORDER BY vseq").fetchall()
    finally:
        db.close()
    return [(int(v), str(g), int(s)) for v, g, s in rows]


def hub_last(path: Path) -> int:
    """How many entries the hub holds: the venue sequence's last number."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        (last,) = db.execute("SELECT max(vseq) FROM chain_order").fetchone()
    finally:
        db.close()
    return int(last or 0)
