"""The venue sequence the hub sends head office (hub/store/chain.py): every entry numbered once,
in the order stored, with no gap whatever the gates' order, duplicates or conflicts; head
office's watermark kept on disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gate.link.protocol import Entry
from hub.store.events import EventStore


def entry(seq: int, nonce: str | None = None, hlc: int = 0) -> Entry:
    return Entry(
        seq=seq,
        nonce=nonce or f"nonce{seq:05d}",
        wall_ms=1_784_000_000_000 + seq,
        hlc=f"{0x18C000000000 + hlc + seq:016x}",
        kind="passage",
        body={"band": f"B{seq}", "direction": "in"},
    )


def test_entries_are_numbered_in_the_order_stored_across_gates(tmp_path: Path) -> None:
    with EventStore(tmp_path / "events.db") as store:
        store.add("X1", [entry(1), entry(2)], received_ms=1)
        store.add("E1", [entry(3)], received_ms=2)  # a gap at E1: stored, numbered all the same
        store.add("E1", [entry(1), entry(2)], received_ms=3)
        numbered = [(n, e.gate, e.seq) for n, e in store.chain.after(0, 100)]
    assert numbered == [(1, "X1", 1), (2, "X1", 2), (3, "E1", 3), (4, "E1", 1), (5, "E1", 2)]


def test_a_duplicate_or_a_conflict_gets_no_number(tmp_path: Path) -> None:
    with EventStore(tmp_path / "events.db") as store:
        store.add("E1", [entry(1), entry(2)], received_ms=1)
        store.add("E1", [entry(2), entry(2, nonce="another-one")], received_ms=2)
        store.add("E1", [entry(3)], received_ms=3)
        assert store.chain.last() == 3
        assert [(n, e.seq) for n, e in store.chain.after(1, 100)] == [(2, 2), (3, 3)]
        assert store.chain.after(1, 1)[0][1].body == {"band": "B2", "direction": "in"}


def test_the_watermark_and_the_numbers_survive_a_restart(tmp_path: Path) -> None:
    with EventStore(tmp_path / "events.db") as store:
        store.add("E1", [entry(i) for i in range(1, 6)], received_ms=1)
        assert store.chain.acked() == 0
        store.chain.set_acked(3, now_ms=10)
    with EventStore(tmp_path / "events.db") as store:
        assert store.chain.acked() == 3
        store.add("E2", [entry(1)], received_ms=2)
        assert [(n, e.gate) for n, e in store.chain.after(3, 10)] == [
            (4, "E1"),
            (5, "E1"),
            (6, "E2"),
        ]


def test_a_store_from_before_the_chain_gets_its_entries_numbered_in_stored_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"
    with EventStore(path) as store:
        store.add("X1", [entry(1)], received_ms=1)
        store.add("E1", [entry(1), entry(2)], received_ms=2)
    db = sqlite3.connect(path)  # as an earlier release left it: no chain tables
    db.executescript("DROP TRIGGER chain_numbered; DROP TABLE chain_order; DROP TABLE chain_ack;")
    db.close()
    with EventStore(path) as store:
        assert [(n, e.gate, e.seq) for n, e in store.chain.after(0, 10)] == [
            (1, "X1", 1),
            (2, "E1", 1),
            (3, "E1", 2),
        ]
        store.add("E1", [entry(3)], received_ms=3)
        assert store.chain.last() == 4
