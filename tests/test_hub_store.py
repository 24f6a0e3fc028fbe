"""The hub's persisted state: the event store (each entry once, the watermark, gaps, conflicts,
the venue's order, restarts, SIGKILL) and the hub's allowlist (ticket imports, directories).

Entries come from the real gate journal (`gate.store.journal.Journal`) where the test is about what
gates send; hand-made ones where it is about edge cases of seq, nonce and order.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import processes
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_faults import committed, failing_insert

from gate.core import Role
from gate.link.batches import WireEntry
from gate.link.protocol import Entry, allowlist_of, ticket_of
from gate.store.allowlist import AllowlistDelta, AllowlistError, AllowlistStore
from gate.store.journal import Journal
from hub.ingest.allowlist import HubAllowlist
from hub.store.events import EventStore
from hub.store.schema import StoreError

JULY_2026 = 1_784_000_000_000
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "children-city"


def wire(journal: Journal, after: int = 0) -> list[Entry]:
    """A journal's entries as they travel to the hub (gate/link/client.py)."""
    return [
        Entry(seq=e.seq, nonce=e.nonce, wall_ms=e.wall_ms, hlc=str(e.hlc), kind=e.kind, body=e.body)
        for e in journal.entries_after(after, limit=100_000)
    ]


def journal_of(tmp: Path, gate: str, n: int, start_ms: int = JULY_2026) -> list[Entry]:
    """`n` entries from a real journal of `gate`, one a second from `start_ms`."""
    clock = [start_ms]

    def wall() -> int:
        clock[0] += 1000
        return clock[0]

    with Journal(tmp / f"{gate}-{start_ms}.db", gate, wall=wall) as journal:
        for i in range(n):
            journal.append("decision", {"n": i, "events": []})
        return wire(journal)


def entry(seq: int, hlc_ms: int | None = None, nonce: str | None = None) -> Entry:
    ms = JULY_2026 + seq * 1000 if hlc_ms is None else hlc_ms
    return Entry(
        seq=seq,
        nonce=nonce or f"{seq:016x}",
        wall_ms=ms,
        hlc=f"{ms:012x}0000",
        kind="decision",
        body={"seq": seq},
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(tmp_path / "events.db") as s:
        yield s


# --- durability and format ------------------------------------------------------------------------


def test_the_store_is_sqlite_wal_with_full_sync_readable_by_its_owner_only(
    store: EventStore, tmp_path: Path
):
    assert store.settings() == {"journal_mode": "wal", "synchronous": 2}  # 2: FULL
    assert stat.S_IMODE(os.stat(tmp_path / "events.db").st_mode) == 0o600


def test_a_file_that_is_not_a_hub_store_is_refused(tmp_path: Path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    with pytest.raises(StoreError, match="not a hub event store"):
        EventStore(other)


# --- each entry once ------------------------------------------------------------------------------


def test_a_batch_is_stored_and_the_watermark_moves_to_its_end(store: EventStore, tmp_path: Path):
    entries = journal_of(tmp_path, "E1", 5)
    result = store.add("E1", entries, received_ms=JULY_2026)
    assert (result.new, result.duplicates, result.conflicts, result.acked) == (5, 0, 0, 5)
    assert [e.seq for e in result.stored] == [1, 2, 3, 4, 5]
    assert result.stored[0].body == entries[0].body
    assert store.get("E1", 3).nonce == entries[2].nonce  # type: ignore[union-attr]


def test_the_same_batch_twice_is_stored_once_and_counted_as_duplicates(
    store: EventStore, tmp_path: Path
):
    entries = journal_of(tmp_path, "E1", 5)
    store.add("E1", entries, JULY_2026)
    again = store.add("E1", entries, JULY_2026 + 1000)
    assert (again.new, again.duplicates, again.conflicts, again.acked) == (0, 5, 0, 5)
    assert again.stored == ()
    assert store.counts().entries == 5 and store.counts().duplicates == 5
    assert store.get("E1", 1).received_ms == JULY_2026  # type: ignore[union-attr]


def test_a_reused_seq_with_another_nonce_is_a_conflict_and_the_first_entry_stays(
    store: EventStore, tmp_path: Path
):
    first = journal_of(tmp_path, "E1", 3)
    store.add("E1", first, JULY_2026)
    reset = journal_of(tmp_path, "E1", 4, start_ms=JULY_2026 + 3_600_000)  # a new journal file
    result = store.add("E1", reset, JULY_2026 + 3_600_000)
    assert (result.new, result.conflicts, result.acked) == (1, 3, 4)
    assert [e.nonce for e in store.entries_in_hlc_order()][:3] == [e.nonce for e in first]
    conflicts = store.conflicts()
    assert [(c.seq, c.kept.nonce, c.refused.nonce) for c in conflicts] == [
        (i + 1, first[i].nonce, reset[i].nonce) for i in range(3)
    ]
    again = store.add("E1", reset, JULY_2026 + 3_601_000)  # resent: still conflicts, once each
    assert again.conflicts == 3 and again.duplicates == 1
    assert len(store.conflicts()) == 3 and store.counts().conflicts == 3


def test_the_watermark_waits_for_missing_entries_and_the_gaps_are_listed(store: EventStore):
    result = store.add("E1", [entry(s) for s in (1, 2, 5, 6, 9)], JULY_2026)
    assert (result.acked, result.highest) == (2, 9)
    assert store.missing("E1") == [(3, 4), (7, 8)]
    assert store.add("E1", [entry(4), entry(3)], JULY_2026).acked == 6
    assert store.missing("E1") == [(7, 8)]
    assert store.add("E1", [entry(8), entry(7)], JULY_2026).acked == 9
    assert store.missing("E1") == []
    assert store.missing("nobody") == []


def test_gates_have_their_own_sequences(store: EventStore, tmp_path: Path):
    store.add("E1", journal_of(tmp_path, "E1", 3), JULY_2026)
    store.add("X1", journal_of(tmp_path, "X1", 2), JULY_2026)
    assert [(r.gate, r.acked, r.stored) for r in store.gate_rows()] == [("E1", 3, 3), ("X1", 2, 2)]
    assert store.counts().entries == 5 and store.counts().gates == 2


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    present=st.sets(st.integers(1, 60), min_size=1),
    batch_size=st.integers(1, 25),
    repeats=st.integers(1, 3),
    seed=st.integers(0, 2**32),
)
def test_whatever_order_and_repetition_each_entry_is_stored_once(
    tmp_path_factory: pytest.TempPathFactory,
    present: set[int],
    batch_size: int,
    repeats: int,
    seed: int,
):
    """Batches in any order, any number of times, any number of them per transaction: stored
    once, the watermark is the longest run from 1, the gaps are exactly the seqs missing below
    the highest."""
    rng = random.Random(seed)
    sent = [s for s in sorted(present) for _ in range(repeats)]
    rng.shuffle(sent)
    with EventStore(tmp_path_factory.mktemp("prop") / "events.db") as s:
        new = duplicates = 0
        batches = [
            s.prepare("E1", [entry(seq) for seq in sent[i : i + batch_size]], JULY_2026)
            for i in range(0, len(sent), batch_size)
        ]
        while batches:
            size = rng.randint(1, 4)
            together, batches = batches[:size], batches[size:]
            for result in s.add_batches(together):
                new, duplicates = new + result.new, duplicates + result.duplicates
        acked = 0
        while acked + 1 in present:
            acked += 1
        assert s.acked("E1") == acked
        assert (new, duplicates) == (len(present), len(sent) - len(present))
        missing = [seq for seq in range(acked + 1, max(present)) if seq not in present]
        assert [seq for a, b in s.missing("E1") for seq in range(a, b + 1)] == missing
        assert sorted(e.seq for e in s.entries_in_hlc_order()) == sorted(present)


def test_an_entry_that_cannot_be_stored_stores_nothing_of_its_batch(store: EventStore):
    bad_body = Entry(  # a typed field refuses it; the free-form body does not
        seq=2, nonce="0" * 16, wall_ms=JULY_2026, hlc="0" * 16, kind="k", body={"x": "\ud800"}
    )
    with pytest.raises(ValueError, match="cannot be stored"):
        store.add("E1", [entry(1), bad_body], JULY_2026)
    with pytest.raises(ValueError, match="out of range"):
        store.add("E1", [entry(1), entry(2**64, hlc_ms=JULY_2026)], JULY_2026)
    assert store.counts().entries == 0 and store.acked("E1") == 0


# --- several batches in one transaction -----------------------------------------------------------


def test_batches_of_several_gates_are_stored_in_one_transaction_each_told_its_gate_s_watermark(
    store: EventStore, tmp_path: Path
):
    e1, x1 = journal_of(tmp_path, "E1", 7), journal_of(tmp_path, "X1", 2)
    prepared = [
        store.prepare("E1", e1[:3], JULY_2026),
        store.prepare("X1", x1, JULY_2026),
        store.prepare("E1", e1[3:], JULY_2026),
    ]
    results = store.add_batches(prepared)
    assert [(r.new, r.duplicates, r.acked, r.highest) for r in results] == [
        (3, 0, 7, 7),  # E1's watermark once the whole transaction is stored
        (2, 0, 2, 2),
        (4, 0, 7, 7),
    ]
    assert [[e.seq for e in r.stored] for r in results] == [[1, 2, 3], [1, 2], [4, 5, 6, 7]]
    assert committed(tmp_path / "events.db") == [("E1", s) for s in range(1, 8)] + [
        ("X1", 1),
        ("X1", 2),
    ]
    assert [(r.gate, r.acked, r.highest, r.stored) for r in store.gate_rows()] == [
        ("E1", 7, 7, 7),
        ("X1", 2, 2, 2),
    ]


def test_a_transaction_that_fails_stores_no_batch_of_it_and_changes_nothing(
    store: EventStore, tmp_path: Path
):
    path = tmp_path / "events.db"
    store.add("E1", [entry(1)], JULY_2026)
    rows_before = store.gate_rows()
    prepared = [
        store.prepare("E1", [entry(2), entry(3)], JULY_2026),
        store.prepare("X1", [entry(1), entry(2)], JULY_2026),  # its seq 2 fails to be written
        store.prepare("E1", [entry(4)], JULY_2026),
    ]
    with failing_insert(path, "X1", 2), pytest.raises(sqlite3.Error, match="disk is full"):
        store.add_batches(prepared)
    assert committed(path) == [("E1", 1)]
    assert store.gate_rows() == rows_before and store.acked("X1") == 0
    assert store.counts().entries == 1
    results = store.add_batches(prepared)  # the disk is back: the same batches go in whole
    assert [r.acked for r in results] == [4, 2, 4]
    assert len(committed(path)) == 6


def test_in_one_transaction_a_batch_sees_the_ones_before_it(store: EventStore):
    reset = [entry(2, nonce="f" * 16), entry(3, nonce="e" * 16)]  # a reset journal's seqs
    results = store.add_batches(
        [
            store.prepare("E1", [entry(1), entry(2), entry(2)], JULY_2026),  # seq 2 twice
            store.prepare("E1", [entry(2), entry(3)], JULY_2026),  # resent, then new
            store.prepare("E1", reset, JULY_2026),
        ]
    )
    assert [(r.new, r.duplicates, r.conflicts) for r in results] == [
        (2, 1, 0),
        (1, 1, 0),
        (0, 0, 2),
    ]
    assert [r.acked for r in results] == [3, 3, 3]
    assert store.counts() == type(store.counts())(entries=3, gates=1, duplicates=2, conflicts=2)
    assert [(c.seq, c.kept.nonce) for c in store.conflicts()] == [
        (2, f"{2:016x}"),
        (3, f"{3:016x}"),
    ]


def test_the_watermark_of_a_transaction_moves_over_every_gap_it_fills(store: EventStore):
    store.add("E1", [entry(1), entry(4), entry(5)], JULY_2026)  # stored above a gap before
    store.add("X1", [entry(1)], JULY_2026)
    results = store.add_batches(
        [
            store.prepare("X1", [entry(3), entry(4)], JULY_2026),  # X1: 2 still missing
            store.prepare("E1", [entry(3)], JULY_2026),
            store.prepare("X1", [entry(2)], JULY_2026),
            store.prepare("E1", [entry(2), entry(7)], JULY_2026),
        ]
    )
    assert [(r.acked, r.highest) for r in results] == [(4, 4), (5, 7), (4, 4), (5, 7)]
    assert store.missing("E1") == [(6, 6)] and store.missing("X1") == []


def test_a_body_sent_as_json_text_is_stored_as_that_text(store: EventStore, tmp_path: Path):
    text = '{"b": 1, "a": ["é", 2.50]}'  # as a gate may have written it: spaces, key order
    body = {"b": 1, "a": ["é", 2.5]}
    sent = WireEntry(1, "0" * 16, JULY_2026, f"{JULY_2026:012x}0000", "decision", body, text)
    assert store.add("E1", [sent], JULY_2026).stored[0].body == body
    with contextlib.closing(sqlite3.connect(tmp_path / "events.db")) as db:
        assert db.execute("SELECT body FROM entries").fetchone() == (text,)
    assert store.get("E1", 1).body == body  # type: ignore[union-attr]


# --- the venue's order ----------------------------------------------------------------------------


def test_entries_come_back_in_hybrid_clock_order_then_gate_then_seq(store: EventStore):
    store.add("X1", [entry(1, JULY_2026 + 5000), entry(2, JULY_2026 + 7000)], JULY_2026)
    store.add("E1", [entry(1, JULY_2026 + 7000), entry(2, JULY_2026 + 9000)], JULY_2026)
    store.add("D1", [entry(1, JULY_2026 + 1000)], JULY_2026)
    order = [(e.gate, e.seq) for e in store.entries_in_hlc_order()]
    assert order == [("D1", 1), ("X1", 1), ("E1", 1), ("X1", 2), ("E1", 2)]
    paged = [(e.gate, e.seq) for e in store.entries_in_hlc_order(page_size=2)]
    assert paged == order
    after = f"{JULY_2026 + 7000:012x}0000"
    assert [(e.gate, e.seq) for e in store.entries_in_hlc_order(after)] == [("E1", 2)]


# --- restarts and kills ---------------------------------------------------------------------------


def test_a_reopened_store_knows_everything(tmp_path: Path):
    path = tmp_path / "events.db"
    with EventStore(path) as s:
        s.add("E1", [entry(1), entry(2), entry(4)], JULY_2026)
        s.add("E1", [entry(1, nonce="f" * 16)], JULY_2026)
        s.set_status("E1", {"gate": "E1", "online": True, "allowlist_version": 3}, JULY_2026, 1500)
        before = (s.gate_rows(), s.counts(), s.conflicts(), list(s.entries_in_hlc_order()))
    with EventStore(path) as s:
        assert (s.gate_rows(), s.counts(), s.conflicts(), list(s.entries_in_hlc_order())) == before
        assert s.acked("E1") == 2 and s.missing("E1") == [(3, 3)]
        assert s.add("E1", [entry(3)], JULY_2026).acked == 4  # and goes on where it was


WRITER = textwrap.dedent(
    """
    import sys
    from gate.link.protocol import Entry
    from hub.store.events import EventStore

    store, gates = EventStore(sys.argv[1]), sys.argv[2:]
    seq = store.acked(gates[0])
    print("ready", flush=True)
    while True:
        batch = [
            Entry(seq=s, nonce=f"{s:016x}", wall_ms=s, hlc=f"{s:016x}", kind="k", body={"s": s})
            for s in range(seq + 1, seq + 51)
        ]
        results = store.add_batches([store.prepare(gate, batch, 0) for gate in gates])
        seq = results[0].acked
        print(seq, flush=True)
    """
)


@pytest.mark.parametrize("gates", [["E1"], ["E1", "X1", "E2"]], ids=["one gate", "three gates"])
def test_sigkill_never_loses_an_acknowledged_batch_nor_half_a_transaction(
    tmp_path: Path, gates: list[str]
):
    """A hub killed while storing: every watermark it could have acknowledged is on disk, and
    a transaction (one batch, or one of each gate) is there whole or not at all.
    `WRISTGATE_HUB_KILL_SEED` replays a run's moments of the kills."""
    seed = int(os.environ.get("WRISTGATE_HUB_KILL_SEED") or random.randrange(2**32))
    print(f"WRISTGATE_HUB_KILL_SEED={seed}")
    rng = random.Random(seed)
    path = tmp_path / "events.db"
    for _ in range(4):
        proc = processes.spawn(
            [sys.executable, "-c", WRITER, str(path), *gates], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.3))
        proc.send_signal(signal.SIGKILL)
        reported = [int(line) for line in proc.stdout.read().split()]
        proc.wait()
        proc.stdout.close()
        with EventStore(path) as s:
            acked, stored = s.acked(gates[0]), s.counts().entries
            assert stored == acked * len(gates) and acked % 50 == 0  # whole transactions only
            assert all(s.acked(gate) == acked for gate in gates)
            assert not reported or acked >= reported[-1]  # nothing acknowledged was lost
            assert sorted(e.seq for e in s.entries_in_hlc_order()) == sorted(
                list(range(1, acked + 1)) * len(gates)
            )
    assert acked > 0


# --- the hub's allowlist --------------------------------------------------------------------------

HEADER = "code,product,adults,children,valid_from,valid_to,guardian_phone\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_importing_tickets_adds_them_in_a_new_version_with_its_change(tmp_path: Path):
    csv = write(
        tmp_path / "day.csv",
        HEADER + "T1,family,2,1,2026-07-18,2026-07-18,\nT2,solo,0,1,2026-07-18,2026-07-18,138001\n",
    )
    with HubAllowlist(tmp_path / "hub") as hub:
        result = hub.import_tickets(csv)
        assert (result.added, result.replaced, result.row_errors) == (("T1", "T2"), (), ())
        assert (result.base_version, result.version, result.applied) == (0, 1, True)
        assert result.change is not None
        assert (result.change.base_version, result.change.version) == (0, 1)
        assert [row.code for row in result.change.tickets] == ["T1", "T2"]
        assert hub.snapshot().version == 1 and len(hub.snapshot().tickets) == 2
    with HubAllowlist(tmp_path / "hub") as again:  # a restarted hub holds the same version
        assert again.version == 1 and set(again.current.tickets) == {"T1", "T2"}


def test_bad_ticket_rows_are_reported_by_file_and_line_and_the_good_ones_imported(
    tmp_path: Path,
):
    csv = write(
        tmp_path / "day-2026-07-18.csv",
        HEADER
        + "T1,family,2,1,2026-07-18,2026-07-18,\n"
        + "T2,family,two,1,2026-07-18,2026-07-18,\n"
        + "\n"
        + "T3,solo,0,1,2026-07-18,2026-07-18,\n"
        + "T1,family,2,2,2026-07-18,2026-07-18,\n"
        + "T4,family,1,1,2026-07-19,2026-07-18,\n"
        + "T5,family,1,1,2026-07-18,2026-07-18,\n",
    )
    with HubAllowlist(tmp_path / "hub") as hub:
        result = hub.import_tickets(csv)
        assert [str(e) for e in result.row_errors] == [
            "day-2026-07-18.csv:3: adults must be a whole number >= 0, got 'two'",
            "day-2026-07-18.csv:5: a ticket with 0 adults admits children alone: "
            "guardian_phone is required",
            "day-2026-07-18.csv:6: duplicate ticket code 'T1' (first on line 2)",
            "day-2026-07-18.csv:7: valid_from 2026-07-19 is after valid_to 2026-07-18",
        ]
        assert result.added == ("T1", "T5") and set(hub.current.tickets) == {"T1", "T5"}


def test_a_ticket_file_without_its_header_or_missing_is_refused_naming_it(tmp_path: Path):
    with HubAllowlist(tmp_path / "hub") as hub:
        bad = write(tmp_path / "day.csv", "code,adults\nT1,2\n")
        with pytest.raises(AllowlistError, match=r"^day\.csv: header lacks columns product"):
            hub.import_tickets(bad)
        with pytest.raises(AllowlistError, match="no such file"):
            hub.import_tickets(tmp_path / "nowhere.csv")
        assert hub.version == 0


def test_importing_again_changes_only_what_changed(tmp_path: Path):
    with HubAllowlist(tmp_path / "hub") as hub:
        first = (
            HEADER + "T1,family,2,1,2026-07-18,2026-07-18,\nT2,family,1,1,2026-07-18,2026-07-18,\n"
        )
        hub.import_tickets(write(tmp_path / "a.csv", first))
        same = hub.import_tickets(tmp_path / "a.csv")
        assert (same.changed, same.version, hub.version) == (False, 1, 1)
        second = (
            HEADER + "T2,family,2,1,2026-07-18,2026-07-18,\nT3,family,1,0,2026-07-18,2026-07-18,\n"
        )
        result = hub.import_tickets(write(tmp_path / "b.csv", second))
        assert (result.added, result.replaced, result.version) == (("T3",), ("T2",), 2)
        assert result.change is not None and result.change.base_version == 1
        assert {row.code for row in result.change.tickets} == {"T2", "T3"}
        assert set(hub.current.tickets) == {"T1", "T2", "T3"}  # an import never removes


def test_a_dry_run_says_what_would_change_and_writes_nothing(tmp_path: Path):
    with HubAllowlist(tmp_path / "hub") as hub:
        csv = write(tmp_path / "a.csv", HEADER + "T1,family,2,1,2026-07-18,2026-07-18,\n")
        result = hub.import_tickets(csv, dry_run=True)
        assert result.added == ("T1",) and not result.applied and hub.version == 0


def test_a_gate_applying_the_published_change_holds_the_hub_s_allowlist(tmp_path: Path):
    """What AllowlistKeeper.change does with an AllowlistChange gives the hub's own allowlist."""
    with HubAllowlist(tmp_path / "hub") as hub, AllowlistStore(tmp_path / "gate.json") as gate:
        hub.import_dir(EXAMPLE)
        gate.save_snapshot(allowlist_of(hub.snapshot()), hub.version)
        more = HEADER + "T9,family,1,1,2026-07-18,2026-07-18,\n"
        change = hub.import_tickets(write(tmp_path / "more.csv", more)).change
        assert change is not None
        index = gate.apply_delta(
            AllowlistDelta(
                base_version=change.base_version,
                version=change.version,
                tickets=[ticket_of(row) for row in change.tickets],
                bands={uid: Role(role) for uid, role in change.bands.items()},
                staff=dict(change.staff),
                revoked=dict(change.revoked),
                unrevoked=list(change.unrevoked),
            )
        )
        assert index == hub.current


def test_importing_a_directory_replaces_the_allowlist_and_says_when_gates_need_a_snapshot(
    tmp_path: Path,
):
    directory = tmp_path / "csv"
    directory.mkdir()
    for name in ("tickets.csv", "wristbands.csv", "staff.csv", "revoked.csv"):
        (directory / name).write_bytes((EXAMPLE / name).read_bytes())
    with HubAllowlist(tmp_path / "hub") as hub:
        first = hub.import_dir(directory)
        assert first.version == 1 and len(first.added) == 329 and first.row_errors == ()
        assert first.other["bands"] == 1211 and first.other["staff"] == 4
        assert len(hub.snapshot().tickets) == 329

        with (directory / "wristbands.csv").open("a") as f:
            f.write("04AAAAAAAAAAAA,child\n")
        added_band = hub.import_dir(directory)
        assert added_band.version == 2 and added_band.other["bands"] == 1
        assert added_band.change is not None and added_band.change.bands == {
            "04AAAAAAAAAAAA": "child"
        }

        lines = (directory / "tickets.csv").read_text().splitlines(keepends=True)
        gone = lines.pop(1).split(",")[0]
        (directory / "tickets.csv").write_text("".join(lines))
        removed = hub.import_dir(directory)
        assert removed.removed == (gone,) and removed.version == 3
        assert removed.change is None  # a change cannot say "removed": gates take the snapshot
        assert gone not in hub.current.tickets

        unchanged = hub.import_dir(directory)
        assert not unchanged.changed and hub.version == 3


# --- quarantine: entries a gate may not have written ----------------------------------------------


def test_a_refused_entry_is_quarantined_and_its_stub_moves_the_watermark(store: EventStore):
    big = Entry(**{**entry(2).model_dump(), "body": {"padding": "x" * 100_000}})
    refused = {2: ("schema", "fire_alarm entry of 100012 bytes"), 3: ("seq_jump", "far")}
    far = entry(3_000_000)
    prepared = store.prepare(
        "H1", [entry(1), big, far], JULY_2026, {**refused, 3_000_000: refused[3]}
    )
    (result,) = store.add_batches([prepared])
    assert (result.acked, result.highest) == (2, 2)  # the stub holds seq 2; the far one: nothing
    stub = store.get("H1", 2)
    assert stub is not None and stub.kind == "refused" and stub.body["refused"] == "schema"
    assert store.get("H1", 3_000_000) is None and store.missing("H1") == []
    quarantined = store.quarantined()
    assert [(q.seq, q.reason) for q in quarantined] == [(2, "schema"), (3_000_000, "seq_jump")]
    assert quarantined[0].size > 100_000 and os.path.getsize(store.path) < 200_000


def test_a_store_of_the_earlier_schema_gets_its_quarantine_when_opened(tmp_path: Path):
    path = tmp_path / "events.db"
    with EventStore(path) as s:
        s.add("E1", [entry(1)], JULY_2026)
    db = sqlite3.connect(path)
    db.execute("DROP TABLE quarantine")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with EventStore(path) as s:
        assert s.acked("E1") == 1 and s.quarantined() == []
