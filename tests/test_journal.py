"""The gate's durable journal: sequence numbers without gaps, the hub's watermark, resending,
compaction, restarts, read-only readers, and SIGKILL at random moments.

The crash tests kill a real writer process (`journal_writer.py`) with SIGKILL while it appends and
check, after each kill, that every entry it reported committed is on disk, in a file that opens
cleanly, numbered 1..N with no gap and no repeat.
"""

from __future__ import annotations

import io
import json
import os
import pwd
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import processes
import pytest
from journal_writer import GATE, UNACKED

from gate.core.hlc import ClockDriftError, Timestamp
from gate.store.journal import Entry, Journal, JournalReader
from gate.store.journal_file import JournalError

JULY_2026 = 1_784_000_000_000  # ms since the epoch
NOW = datetime.fromtimestamp(JULY_2026 / 1000, UTC)
DAY_MS = 86_400_000
WRITER = Path(__file__).with_name("journal_writer.py")


class Wall:
    """A wall clock the test sets by hand, in ms."""

    def __init__(self, ms: int = JULY_2026) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def journal(path: Path, wall: Wall) -> Iterator[Journal]:
    with Journal(path, "E1", wall=wall) as j:
        yield j


def fill(journal: Journal, n: int) -> list[Entry]:
    return [journal.append("scan", {"n": i}) for i in range(n)]


# --- appending --------------------------------------------------------------------------------


def test_sequence_starts_at_1_and_goes_up_by_one(journal: Journal) -> None:
    assert journal.last_seq == 0
    assert [e.seq for e in fill(journal, 5)] == [1, 2, 3, 4, 5]
    assert journal.last_seq == 5


def test_append_returns_the_entry_as_stored(journal: Journal, wall: Wall) -> None:
    entry = journal.append("decision", {"uid": "04A1B2C3D4E5F6", "code": "OK_ENTRY", "n": (1, 2)})

    assert entry == Entry(
        "E1",
        1,
        entry.nonce,
        JULY_2026,
        Timestamp(JULY_2026, 0),
        "decision",
        {"uid": "04A1B2C3D4E5F6", "code": "OK_ENTRY", "n": [1, 2]},
    )
    assert journal.entries_after(0) == [entry]


def test_each_entry_gets_its_own_16_hex_digit_nonce(journal: Journal) -> None:
    nonces = [e.nonce for e in fill(journal, 50)]
    assert len(set(nonces)) == 50
    assert all(len(n) == 16 and int(n, 16) >= 0 for n in nonces)


def test_entries_keep_the_wall_time_seen_and_a_timestamp_that_never_goes_back(
    journal: Journal, wall: Wall
) -> None:
    first = journal.append("scan", {})
    wall.ms = 0  # NTP not synced yet after a power cut: 1970
    second = journal.append("scan", {})

    assert (first.wall_ms, second.wall_ms) == (JULY_2026, 0)
    assert second.hlc == Timestamp(JULY_2026, 1)


def test_a_body_that_is_not_json_is_refused_and_uses_no_sequence_number(journal: Journal) -> None:
    with pytest.raises(TypeError):
        journal.append("scan", {"at": datetime(2026, 7, 18)})
    with pytest.raises(ValueError):
        journal.append("scan", {"x": float("nan")})
    assert journal.append("scan", {}).seq == 1


def test_a_failed_write_raises_journal_error_and_uses_no_sequence_number(
    journal: Journal, path: Path
) -> None:
    fill(journal, 3)
    pages = journal._db.execute("PRAGMA page_count").fetchone()[0]
    journal._db.execute(f"PRAGMA max_page_count = {pages}")  # a full disk, as SQLite sees it

    with pytest.raises(JournalError, match="full") as failed:
        while True:
            journal.append("scan", {"padding": "x" * 500})

    assert failed.value.path == path
    committed = journal.last_seq
    assert [e.seq for e in journal.entries_after(0, 10_000)] == list(range(1, committed + 1))
    journal._db.execute("PRAGMA max_page_count = 1000000")
    assert journal.append("scan", {}).seq == committed + 1


def test_commits_are_synced_in_wal_mode(journal: Journal) -> None:
    settings = journal.settings()
    assert settings["journal_mode"] == "wal"
    assert settings["synchronous"] == 2  # FULL: the WAL is synced at every commit


def test_the_journal_file_is_readable_by_the_owner_only(journal: Journal, path: Path) -> None:
    journal.append("scan", {})
    for name in (path, path.with_name(path.name + "-wal")):
        assert stat.S_IMODE(name.stat().st_mode) == 0o600


# --- restarts ---------------------------------------------------------------------------------


def test_a_restart_resumes_the_sequence_and_the_clock(path: Path) -> None:
    with Journal(path, "E1", wall=Wall(JULY_2026)) as j:
        fill(j, 3)
    with Journal(path, "E1", wall=Wall(0)) as j:  # rebooted with the clock in 1970
        entry = j.append("scan", {})

    assert entry.seq == 4
    assert entry.hlc == Timestamp(JULY_2026, 3)


def test_the_acknowledged_watermark_survives_a_restart(path: Path) -> None:
    with Journal(path, "E1") as j:
        fill(j, 5)
        j.acknowledge(3)
    with Journal(path, "E1") as j:
        assert (j.acked, j.last_seq, j.backlog) == (3, 5, 2)


def test_a_lower_acknowledgement_is_ignored(journal: Journal) -> None:
    fill(journal, 5)
    assert journal.acknowledge(4) == 4
    assert journal.acknowledge(2) == 4
    assert journal.acked == 4


def test_an_acknowledgement_beyond_the_last_entry_is_refused(journal: Journal) -> None:
    fill(journal, 2)
    with pytest.raises(ValueError, match="beyond the last entry"):
        journal.acknowledge(3)
    assert journal.acked == 0


def test_backlog_counts_the_entries_the_hub_has_not_acknowledged(journal: Journal) -> None:
    fill(journal, 7)
    journal.acknowledge(5)
    assert journal.backlog == 2


def test_entries_after_gives_what_to_resend_in_order(journal: Journal) -> None:
    entries = fill(journal, 10)
    journal.acknowledge(4)

    assert journal.entries_after(journal.acked) == entries[4:]
    assert journal.entries_after(4, limit=3) == entries[4:7]
    assert journal.entries_after(10) == []


def test_tail_gives_the_last_entries_oldest_first(journal: Journal) -> None:
    entries = fill(journal, 6)
    assert journal.tail(2) == entries[-2:]
    assert journal.tail(100) == entries


def test_export_writes_one_json_object_per_line(journal: Journal) -> None:
    entries = fill(journal, 3)
    out = io.StringIO()

    assert journal.export(out) == 3

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == [e.to_json() for e in entries]
    assert lines[0] == {
        "gate": "E1",
        "seq": 1,
        "nonce": entries[0].nonce,
        "wall_ms": JULY_2026,
        "hlc": str(Timestamp(JULY_2026, 0)),
        "kind": "scan",
        "body": {"n": 0},
    }


# --- the hybrid clock -------------------------------------------------------------------------


def test_an_observed_remote_timestamp_orders_the_next_entry_after_it(journal: Journal) -> None:
    remote = Timestamp(JULY_2026 + 2_000, 9)  # the hub's clock, a little ahead
    assert journal.observe(remote) == Timestamp(JULY_2026 + 2_000, 10)
    assert journal.append("scan", {}).hlc == Timestamp(JULY_2026 + 2_000, 11)


def test_a_wildly_future_remote_timestamp_is_refused(journal: Journal) -> None:
    journal.append("scan", {})
    with pytest.raises(ClockDriftError):
        journal.observe(Timestamp(JULY_2026 + 365 * DAY_MS, 0))
    assert journal.append("scan", {}).hlc == Timestamp(JULY_2026, 1)


# --- compaction -------------------------------------------------------------------------------


def test_compaction_deletes_acknowledged_entries_older_than_the_retention(
    journal: Journal, wall: Wall
) -> None:
    for day in range(5):  # one entry a day
        wall.ms = JULY_2026 + day * DAY_MS
        journal.append("scan", {"day": day})
    journal.acknowledge(5)

    deleted = journal.compact(timedelta(days=2), now=NOW + timedelta(days=4))

    assert deleted == 2
    assert [e.body["day"] for e in journal.tail(10)] == [2, 3, 4]


def test_compaction_never_deletes_unacknowledged_entries(journal: Journal) -> None:
    fill(journal, 10)
    journal.acknowledge(6)

    assert journal.compact(timedelta(0), now=NOW + timedelta(days=30)) == 6
    assert [e.seq for e in journal.tail(100)] == [7, 8, 9, 10]
    assert journal.compact(timedelta(0), now=NOW + timedelta(days=30)) == 0


def test_compaction_ages_entries_by_hybrid_timestamp_not_by_a_wall_clock_in_1970(
    journal: Journal, wall: Wall
) -> None:
    journal.append("scan", {})
    wall.ms = 0  # entries written while the clock was wrong are not decades old
    fill(journal, 3)
    journal.acknowledge(4)

    assert journal.compact(timedelta(days=1), now=NOW + timedelta(hours=1)) == 0


def test_sequence_numbers_continue_after_compaction_removed_every_entry(
    path: Path, wall: Wall
) -> None:
    with Journal(path, "E1", wall=wall) as j:
        fill(j, 5)
        j.acknowledge(5)
        assert j.compact(timedelta(0), now=NOW + timedelta(days=1)) == 5
        assert (j.last_seq, j.backlog, j.tail(5)) == (5, 0, [])
    with Journal(path, "E1", wall=Wall(0)) as j:
        entry = j.append("scan", {})
    assert entry.seq == 6
    assert entry.hlc == Timestamp(JULY_2026, 5)


def test_compaction_needs_an_aware_now_and_a_positive_retention(journal: Journal) -> None:
    with pytest.raises(ValueError, match="aware"):
        journal.compact(timedelta(days=1), now=datetime(2026, 7, 18))
    with pytest.raises(ValueError, match="negative"):
        journal.compact(timedelta(days=-1), now=NOW)


# --- readers and writers ----------------------------------------------------------------------


def test_a_reader_sees_what_the_writer_commits_while_both_are_open(
    journal: Journal, path: Path
) -> None:
    fill(journal, 2)
    with Journal.open_readonly(path) as reader:
        assert (reader.gate_id, reader.last_seq) == ("E1", 2)
        fill(journal, 3)
        journal.acknowledge(4)
        assert (reader.last_seq, reader.acked, reader.backlog) == (5, 4, 1)
        assert reader.tail(5) == journal.tail(5)


def test_a_reader_cannot_write(journal: Journal, path: Path) -> None:
    journal.append("scan", {})
    with JournalReader(path) as reader, pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader._db.execute("DELETE FROM entries")


def test_a_second_writer_is_refused(journal: Journal, path: Path) -> None:
    with pytest.raises(JournalError, match="another process is writing"):
        Journal(path, "E1")


def test_the_writer_lock_is_released_on_close(path: Path) -> None:
    Journal(path, "E1").close()
    Journal(path, "E1").close()


# --- files that cannot be a journal -----------------------------------------------------------


def test_a_journal_in_a_missing_directory_raises_an_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "no-such-dir" / "journal.db"
    with pytest.raises(JournalError, match="No such file or directory") as failed:
        Journal(path, "E1")
    assert failed.value.path == path
    assert str(path) in str(failed.value)


def test_a_journal_in_a_read_only_directory_raises_an_error_naming_the_path(
    tmp_path: Path,
) -> None:
    """As the service user would meet it. Root writes into any directory, so as root (CI) the
    journal is opened in a child that dropped to `nobody`, as systemd runs the gate unprivileged."""
    if os.geteuid() != 0:
        directory = tmp_path / "ro"
        directory.mkdir(mode=0o500)
        with pytest.raises(JournalError, match="Permission denied") as failed:
            Journal(directory / "journal.db", "E1")
        assert failed.value.path == directory / "journal.db"
        return
    # pytest's own directory is root's alone (0700): a directory nobody can reach but not write
    with tempfile.TemporaryDirectory(prefix="wristgate-ro-") as top:
        os.chmod(top, 0o755)
        directory = Path(top) / "ro"
        directory.mkdir(mode=0o555)
        message, where = _open_as_nobody(directory / "journal.db")
    assert "Permission denied" in message, message
    assert where == str(directory / "journal.db")
    assert where in message


def _open_as_nobody(path: Path) -> tuple[str, str]:
    """Open a journal at `path` in a forked child running as `nobody`: the JournalError's
    message and path (or what went wrong instead)."""
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe, then leaves at once
        outcome = ["opened: no error", ""]
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            Journal(path, "E1").close()
        except JournalError as exc:
            outcome = [str(exc), str(exc.path)]
        except BaseException as exc:
            outcome = [f"{type(exc).__name__}: {exc}", ""]
        finally:
            os.write(write_end, json.dumps(outcome).encode())
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        said = pipe.read()
    os.waitpid(child, 0)
    message, where = json.loads(said)
    return message, where


def test_a_directory_in_place_of_the_file_raises_an_error_naming_the_path(path: Path) -> None:
    path.mkdir()
    with pytest.raises(JournalError, match="is not a file") as failed:
        Journal(path, "E1")
    assert failed.value.path == path


def test_a_corrupt_file_raises_an_error_naming_the_path(path: Path) -> None:
    path.write_bytes(os.urandom(8192))
    with pytest.raises(JournalError, match="not a database") as failed:
        Journal(path, "E1")
    assert failed.value.path == path
    with pytest.raises(JournalError, match="not a database"):
        Journal.open_readonly(path)


def test_a_sqlite_file_of_another_program_is_refused(path: Path) -> None:
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE t (x)")
    other.close()
    with pytest.raises(JournalError, match="not a wristgate journal"):
        Journal(path, "E1")


def test_another_gates_journal_is_refused(path: Path) -> None:
    Journal(path, "E1").close()
    with pytest.raises(JournalError, match="belongs to gate 'E1', not 'X2'"):
        Journal(path, "X2")


def test_reading_a_missing_journal_raises_an_error_naming_the_path(path: Path) -> None:
    with pytest.raises(JournalError, match="no such journal file") as failed:
        Journal.open_readonly(path)
    assert failed.value.path == path


# --- crash safety -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("compact_every", "kills"), [(0, 20), (16, 10)], ids=["appending", "appending+compacting"]
)
def test_sigkill_never_loses_a_committed_entry_nor_breaks_the_sequence(
    path: Path, compact_every: int, kills: int
) -> None:
    """Kill a writer at random moments, restarting it each time on the same file. After each
    kill the file opens cleanly, every entry the writer reported committed is there (or was
    compacted after the hub acknowledged it), at most one more, and the sequence is 1..N; an
    acknowledgement once committed is never lost. `WRISTGATE_JOURNAL_KILL_SEED` replays a run."""
    seed = int(os.environ.get("WRISTGATE_JOURNAL_KILL_SEED") or random.randrange(2**32))
    print(f"WRISTGATE_JOURNAL_KILL_SEED={seed}")
    rng = random.Random(seed)
    nonces: dict[int, str] = {}  # every entry ever seen on disk
    last_before, acked_before = 0, 0
    for kill in range(kills):
        reported = _run_and_kill(path, compact_every, rng.uniform(0.0, 0.4))

        with Journal(path, GATE) as journal:
            entries = journal.entries_after(0, limit=1_000_000)
            last, acked = journal.last_seq, journal.acked
        context = (
            f"seed {seed}, kill {kill}: reported {reported[:1]}..{reported[-1:]}, journal at "
            f"{last}, acknowledged {acked} (before: {acked_before})"
        )
        # The writer went on from the last entry on disk...
        assert reported == list(range(last_before + 1, last_before + 1 + len(reported)))
        # ...and everything it reported is there, plus at most one it was killed before printing.
        last_reported = reported[-1] if reported else last_before
        assert last_reported <= last <= last_reported + 1, context
        seqs = [e.seq for e in entries]
        assert seqs == list(range(last - len(seqs) + 1, last + 1)), context  # no gap, no repeat
        first_kept = seqs[0] if seqs else last + 1
        if compact_every:
            assert first_kept <= acked + 1, context  # only acknowledged entries were compacted
            assert acked >= acked_before, context  # an acknowledgement survives every kill
        else:
            assert first_kept == 1, context
        for e in entries:
            assert nonces.setdefault(e.seq, e.nonce) == e.nonce, context  # never rewritten
        assert len(set(nonces.values())) == len(nonces), context
        with sqlite3.connect(path) as check:
            assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        check.close()
        last_before, acked_before = last, acked
    assert last_before > kills, "the writer hardly wrote anything"
    if compact_every:  # it acknowledged and compacted along the way (a kill between an entry
        # and its acknowledgement loses that acknowledgement: the hub sends it again)
        assert acked >= compact_every - UNACKED, f"seed {seed}: nothing acknowledged"


def _run_and_kill(path: Path, compact_every: int, delay_s: float) -> list[int]:
    """Start a writer on `path`, SIGKILL it `delay_s` after it is ready; the sequence numbers it
    reported committed."""
    child = processes.spawn(
        [sys.executable, str(WRITER), str(path), str(compact_every)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        time.sleep(delay_s)
        child.send_signal(signal.SIGKILL)
        out = child.stdout.read()  # not communicate(): it would skip what readline buffered
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    seqs = [int(line) for line in out.split()]
    assert all(b == a + 1 for a, b in pairwise(seqs))
    return seqs
