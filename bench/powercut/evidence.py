"""What the campaign reads off a machine's disk after a cut (and off every disk at the end),
handed to the pure checker (`bench.powercut.checker`). Every connection is closed before the
function returns: the next cut kills whatever holds a file on its machine."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from bench.powercut.checker import Entry


def integrity(path: Path) -> str:
    """'ok', or what `PRAGMA integrity_check` said, or why the store does not open."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
            rows = db.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.Error as exc:
        return f"does not open: {exc}"
    said = "; ".join(str(r[0]) for r in rows)
    return said


def stores(disk: Path) -> list[Path]:
    return sorted(p for p in disk.rglob("*.db") if p.is_file())


def _entry(gate: str, seq: int, nonce: str, kind: str, body: str) -> Entry:
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    scan = data.get("scan") if isinstance(data, dict) else None
    decision = data.get("decision") if isinstance(data, dict) else None
    value = str(scan.get("value", "")) if isinstance(scan, dict) else ""
    code = str(decision.get("code", "")) if isinstance(decision, dict) else ""
    return Entry(gate, int(seq), str(nonce), str(kind), value, code)


def journal(path: Path, gate: str) -> tuple[list[Entry], int]:
    """A gate's journal entries and the seq it compacted up to (0: none)."""
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
        rows = db.execute("SELECT seq, nonce, kind, body FROM entries ORDER BY seq").fetchall()
        found = db.execute("SELECT value FROM meta WHERE key = 'compacted_seq'").fetchone()
    return [_entry(gate, *row) for row in rows], int(found[0]) if found else 0


def hub_store(path: Path) -> tuple[list[Entry], int]:
    """The hub's entries (a refused entry's stub is not an entry) and its conflicts."""
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
        rows = db.execute(
            "SELECT gate, seq, nonce, kind, body FROM entries WHERE kind != 'refused'"
        ).fetchall()
        (conflicts,) = db.execute("SELECT COUNT(*) FROM conflicts").fetchone()
    return [_entry(*row) for row in rows], int(conflicts)


def snapshot(path: Path) -> Any:
    """An allowlist snapshot's tables, or why it cannot be read (a missing file: version 0)."""
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        zero = dict.fromkeys(("tickets", "bands", "staff", "revoked"), 0)
        return {"meta": {"1": {"version": 0, "counts": zero}}, "tickets": {}, "bands": {},
                "staff": {}, "revoked": {}}  # fmt: skip
    except (OSError, ValueError) as exc:
        return f"unreadable: {exc}"
