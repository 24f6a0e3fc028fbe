"""The allowlist store: versioned snapshots on disk, deltas applied all or nothing, crash safety.

The crash test kills a real writer process (`allowlist_writer.py`) with SIGKILL at random moments
and checks that what is left on disk always loads as one whole version.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from itertools import pairwise
from pathlib import Path

import processes
import pytest
from allowlist_writer import check_complete, snapshot
from tinydb import Query, TinyDB

from gate.core import Allowlist, Role, Ticket
from gate.store.allowlist import (
    AllowlistDelta,
    AllowlistError,
    AllowlistStore,
    AtomicJSONStorage,
    DeltaError,
    SnapshotError,
    StaleDelta,
)

DAY = date(2026, 7, 1)
FAMILY = Ticket("FAM-1", "family day", 2, 2, DAY, DAY)
SOLO = Ticket("SOLO-1", "child alone", 0, 1, DAY, date(2026, 7, 2), "+86 138-0013-8000")
ADULT_BAND, CHILD_BAND, BADGE = "04A1B2C3D4E5F6", "04A1B2C3D4E5F7", "08AABBCC"
WRITER = Path(__file__).with_name("allowlist_writer.py")


def venue() -> Allowlist:
    """A small allowlist, as `load_csv_dir` returns it (version 0)."""
    return Allowlist(
        version=0,
        tickets={FAMILY.code: FAMILY, SOLO.code: SOLO},
        bands={ADULT_BAND: Role.ADULT, CHILD_BAND: Role.CHILD},
        staff={BADGE: "Li Na"},
        revoked={"REFUND-1": "refund"},
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "allowlist.json"


@pytest.fixture
def store(path: Path) -> AllowlistStore:
    """A store holding `venue()` as version 1."""
    s = AllowlistStore(path)
    s.save_snapshot(venue(), version=1)
    return s


def temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# --- snapshots ------------------------------------------------------------------------------


def test_a_missing_snapshot_loads_as_an_empty_allowlist_at_version_0(path: Path) -> None:
    assert AllowlistStore(path).load() == Allowlist(version=0)
    assert not path.exists()


def test_snapshot_round_trips_through_a_fresh_store(store: AllowlistStore, path: Path) -> None:
    loaded = AllowlistStore(path).load()

    assert loaded == replace(venue(), version=1)
    assert loaded.tickets["SOLO-1"].valid_to == date(2026, 7, 2)
    assert loaded.bands[CHILD_BAND] is Role.CHILD


def test_save_snapshot_returns_the_index_it_wrote(path: Path) -> None:
    index = AllowlistStore(path).save_snapshot(venue(), version=4)

    assert index == replace(venue(), version=4)
    assert AllowlistStore(path).current is None
    assert AllowlistStore(path).load() == index


def test_save_snapshot_without_a_version_takes_the_next_one(store: AllowlistStore) -> None:
    assert store.save_snapshot(venue()).version == 2
    assert store.save_snapshot(venue()).version == 3


def test_save_snapshot_normalises_uids(path: Path) -> None:
    spelled = replace(venue(), bands={"04:a1:b2:c3:d4:e5:f6": Role.ADULT}, staff={"08aabbcc": "Li"})

    index = AllowlistStore(path).save_snapshot(spelled, version=1)

    assert index.bands == {ADULT_BAND: Role.ADULT}
    assert index.staff == {BADGE: "Li"}


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"bands": {"XYZ": Role.ADULT}}, "band 'XYZ': uid must be 8 to 20 hex digits"),
        ({"bands": {ADULT_BAND: Role.STAFF}}, "role must be adult or child"),
        ({"staff": {ADULT_BAND: "Li"}}, "also in the wristband stock"),
        ({"staff": {BADGE: " "}}, "name must be non-empty text"),
        ({"tickets": {"X": replace(FAMILY, code="X", adults=0, children=0)}}, "both 0"),
        ({"tickets": {"X": FAMILY}}, "filed under 'X' but its code is 'FAM-1'"),
        ({"revoked": {"FAM-1": ""}}, "reason must be non-empty text"),
    ],
)
def test_save_snapshot_rejects_bad_entries_and_writes_nothing(
    store: AllowlistStore, path: Path, change: dict[str, object], complaint: str
) -> None:
    before = path.read_bytes()

    with pytest.raises(AllowlistError, match=complaint):
        store.save_snapshot(replace(venue(), **change), version=2)  # type: ignore[arg-type]

    assert path.read_bytes() == before
    assert store.current is not None and store.current.version == 1


def test_snapshot_file_is_readable_by_the_owner_only(store: AllowlistStore, path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds guardians' phone numbers


# --- deltas ---------------------------------------------------------------------------------


def test_delta_adds_and_replaces_entries(store: AllowlistStore, path: Path) -> None:
    duo = Ticket("DUO-1", "duo", 1, 1, DAY, DAY)
    delta = AllowlistDelta(
        base_version=1,
        version=2,
        tickets=[duo, replace(FAMILY, children=3)],
        bands={"04:a1:b2:c3:d4:e5:f8": Role.CHILD, ADULT_BAND: Role.CHILD},
        staff={"08AABBCD": "Wang Wei"},
    )

    index = store.apply_delta(delta)

    assert index.version == 2
    assert index.tickets["DUO-1"] == duo
    assert index.tickets["FAM-1"].children == 3
    assert index.bands == {
        ADULT_BAND: Role.CHILD,
        CHILD_BAND: Role.CHILD,
        "04A1B2C3D4E5F8": Role.CHILD,
    }
    assert index.staff == {BADGE: "Li Na", "08AABBCD": "Wang Wei"}
    assert AllowlistStore(path).load() == index
    assert store.current is index


def test_delta_revokes_a_ticket_and_a_band(store: AllowlistStore, path: Path) -> None:
    delta = AllowlistDelta(1, 2, revoked={"FAM-1": "refund", "04a1b2c3d4e5f6": "lost band"})

    index = store.apply_delta(delta)

    assert index.revoked == {"REFUND-1": "refund", "FAM-1": "refund", ADULT_BAND: "lost band"}
    assert AllowlistStore(path).load().revoked == index.revoked


def test_delta_lifts_a_revocation(store: AllowlistStore) -> None:
    index = store.apply_delta(AllowlistDelta(1, 2, unrevoked=["REFUND-1", "NEVER-REVOKED"]))

    assert index.revoked == {}


def test_delta_withdraws_a_staff_badge(store: AllowlistStore) -> None:
    index = store.apply_delta(AllowlistDelta(1, 2, removed_staff=["08:aa:bb:cc"]))

    assert index.staff == {}


def test_the_store_remembers_whether_its_list_came_from_the_hub(path: Path) -> None:
    """A gate's list imported from CSVs is its own; a hub snapshot and the deltas on it are the
    hub's, after a restart too. A file written before the mark was kept: its own."""
    with AllowlistStore(path) as local:
        local.save_snapshot(venue(), version=2)
        assert local.from_hub is False
        local.save_snapshot(venue(), version=2, from_hub=True)
        local.apply_delta(AllowlistDelta(2, 3, revoked={"FAM-1": "refund"}))
        assert local.from_hub is True
    with AllowlistStore(path) as reopened:
        assert (reopened.load().version, reopened.from_hub) == (3, True)
    tables = json.loads(path.read_text())
    del tables["meta"]["1"]["from_hub"]
    path.write_text(json.dumps(tables))
    with AllowlistStore(path) as older:
        assert (older.load().version, older.from_hub) == (3, False)


def test_deltas_chain_by_version(store: AllowlistStore) -> None:
    store.apply_delta(AllowlistDelta(1, 2, revoked={"FAM-1": "refund"}))
    index = store.apply_delta(AllowlistDelta(2, 5, unrevoked=["FAM-1"]))

    assert index.version == 5
    assert "FAM-1" not in index.revoked


def test_a_delta_leaves_the_previous_index_untouched(store: AllowlistStore) -> None:
    before = store.current
    assert before is not None

    store.apply_delta(AllowlistDelta(1, 2, bands={"04A1B2C3D4E5F8": Role.ADULT}))

    assert before == replace(venue(), version=1)  # the rules core may still be reading it


def test_the_first_delta_reads_the_version_from_disk(store: AllowlistStore, path: Path) -> None:
    fresh = AllowlistStore(path)

    assert fresh.apply_delta(AllowlistDelta(1, 2)).version == 2


def test_stale_delta_is_rejected_and_changes_nothing(store: AllowlistStore, path: Path) -> None:
    before_disk, before_memory = path.read_bytes(), store.current

    with pytest.raises(StaleDelta) as caught:
        store.apply_delta(AllowlistDelta(base_version=3, version=4, revoked={"FAM-1": "refund"}))

    assert (caught.value.base_version, caught.value.current_version) == (3, 1)
    assert "applies to version 3" in str(caught.value)
    assert path.read_bytes() == before_disk
    assert store.current is before_memory
    assert before_memory == replace(venue(), version=1)


@pytest.mark.parametrize(
    ("delta", "complaint"),
    [
        (AllowlistDelta(1, 1), "must be above base_version"),
        (AllowlistDelta(1, 2, bands={"04A1": Role.ADULT}), "uid must be 8 to 20 hex digits"),
        (AllowlistDelta(1, 2, bands={"04A1B2C3": "kid"}), "role must be adult or child"),  # type: ignore[dict-item]
        (AllowlistDelta(1, 2, staff={ADULT_BAND: "Li"}), "also in the wristband stock"),
        (AllowlistDelta(1, 2, bands={BADGE: Role.ADULT}), "also in the wristband stock"),
        (AllowlistDelta(1, 2, tickets=[replace(SOLO, guardian_phone="")]), "guardian_phone"),
        (AllowlistDelta(1, 2, tickets=[FAMILY, FAMILY]), "appears twice"),
        (AllowlistDelta(1, 2, revoked={"FAM-1": ""}), "reason must be non-empty"),
        (AllowlistDelta(1, 2, revoked={"FAM-1": "x"}, unrevoked=["FAM-1"]), "also revoked"),
        (AllowlistDelta(1, 2, staff={BADGE: "Li"}, removed_staff=[BADGE]), "also added"),
    ],
)
def test_invalid_delta_is_rejected_and_changes_nothing(
    store: AllowlistStore, path: Path, delta: AllowlistDelta, complaint: str
) -> None:
    before_disk, before_memory = path.read_bytes(), store.current

    with pytest.raises(DeltaError, match=complaint):
        store.apply_delta(delta)

    assert path.read_bytes() == before_disk
    assert store.current is before_memory


def test_a_failed_write_changes_nothing_and_leaves_no_temp_file(
    store: AllowlistStore, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before_disk, before_memory = path.read_bytes(), store.current

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        store.apply_delta(AllowlistDelta(1, 2, revoked={"FAM-1": "refund"}))

    assert path.read_bytes() == before_disk
    assert store.current is before_memory
    assert temp_files(path.parent) == []


# --- reading a damaged snapshot -------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (b"", "not valid JSON"),
        (b'{"meta": {"1": {"format": 1, "ver', "not valid JSON"),
        (b"\xff\xfe garbage", "not valid JSON"),
        (b"[1, 2, 3]", "not a TinyDB file"),
        (b'{"_default": {}}', "not a complete allowlist snapshot"),
    ],
)
def test_a_corrupt_snapshot_raises_an_error_naming_the_file(
    path: Path, content: bytes, complaint: str
) -> None:
    path.write_bytes(content)

    with pytest.raises(SnapshotError, match=complaint) as caught:
        AllowlistStore(path).load()

    assert str(path) in str(caught.value)
    assert caught.value.path == path


def test_a_snapshot_missing_entries_is_caught_by_its_counts(
    store: AllowlistStore, path: Path
) -> None:
    tables = json.loads(path.read_bytes())
    tables["bands"]["2"]["uid"].pop()  # a child band lost
    path.write_text(json.dumps(tables))

    with pytest.raises(SnapshotError, match="incomplete snapshot"):
        AllowlistStore(path).load()


def test_a_snapshot_of_another_format_is_refused(store: AllowlistStore, path: Path) -> None:
    tables = json.loads(path.read_bytes())
    tables["meta"]["1"]["format"] = 99
    path.write_text(json.dumps(tables))

    with pytest.raises(SnapshotError, match="format 99"):
        AllowlistStore(path).load()


def test_a_failed_load_keeps_the_last_good_index(store: AllowlistStore, path: Path) -> None:
    good = store.current
    path.write_bytes(b"{broken")

    with pytest.raises(SnapshotError):
        store.load()

    assert store.current is good


def test_a_corrupt_snapshot_can_be_replaced_by_a_full_one(path: Path) -> None:
    path.write_bytes(b"{broken")

    AllowlistStore(path).save_snapshot(venue(), version=7)

    assert AllowlistStore(path).load() == replace(venue(), version=7)


# --- the storage ----------------------------------------------------------------------------


def test_storage_never_rewrites_the_live_file_in_place(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    db = TinyDB(path, storage=AtomicJSONStorage)
    db.insert({"n": 1})
    inodes = [path.stat().st_ino]
    with path.open("rb") as old:  # a reader holding the file open meanwhile
        for n in range(2, 5):
            db.insert({"n": n})
            inodes.append(path.stat().st_ino)
        assert json.loads(old.read()) == {"_default": {"1": {"n": 1}}}

    assert all(a != b for a, b in pairwise(inodes))  # each write is a new file (numbers recycle)
    assert db.search(Query().n >= 3) == [{"n": 3}, {"n": 4}]


def test_storage_fsyncs_the_file_before_the_rename_and_the_directory_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[str] = []
    fsync, rename = os.fsync, os.replace

    def spy_fsync(fd: int) -> None:
        steps.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        fsync(fd)

    def spy_replace(src: str, dst: str) -> None:
        steps.append("rename")
        rename(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    AtomicJSONStorage(tmp_path / "db.json").write({"t": {"1": {"a": 1}}})

    assert steps == ["fsync file", "rename", "fsync dir"]


def test_storage_reads_a_missing_file_as_empty(tmp_path: Path) -> None:
    assert AtomicJSONStorage(tmp_path / "none.json").read() is None


def test_opening_a_store_removes_temp_files_left_by_a_crash(path: Path) -> None:
    AllowlistStore(path).save_snapshot(venue(), version=1)
    (path.parent / f".{path.name}.k3j2h1.tmp").write_bytes(b'{"meta": {"1": {"vers')

    store = AllowlistStore(path)

    assert temp_files(path.parent) == []
    assert store.load().version == 1


# --- crash safety ---------------------------------------------------------------------------


def test_sigkill_during_snapshot_writes_always_leaves_a_whole_version(path: Path) -> None:
    """Kill a writer at random moments, and every other time in the middle of a write (while a
    slowed fsync of its temporary file is under way): each time, the file loads as one whole
    version, at least the last one the writer reported saved. The seed is printed."""
    seed = int(os.environ.get("WRISTGATE_KILL_SEED", random.randrange(1 << 30)))
    print(f"kill seed {seed} (again: WRISTGATE_KILL_SEED={seed})")
    rng = random.Random(seed)
    AllowlistStore(path).save_snapshot(snapshot(1), version=1)
    for kill in range(12):
        first = AllowlistStore(path).load().version + 1
        mid_write = kill % 2 == 1
        saved = _run_and_kill(path, first, rng.uniform(0.0, 0.25), mid_write)
        if mid_write:
            assert temp_files(path.parent), "killed mid-write, yet no temporary file was left"

        loaded = AllowlistStore(path).load()  # opening also clears the dead writer's temp file

        check_complete(loaded)
        last_saved = saved[-1] if saved else first - 1
        assert last_saved <= loaded.version <= last_saved + 1, f"kill {kill}, seed {seed}"
        assert temp_files(path.parent) == []


def _run_and_kill(path: Path, first_version: int, delay_s: float, mid_write: bool) -> list[int]:
    """Start a writer at `first_version` and SIGKILL it `delay_s` after it is ready or, with
    `mid_write`, as soon as it says a file's fsync began (each slowed by a second, so the kill
    lands in it however loaded the machine); the versions it reported saved."""
    child = processes.spawn(
        [sys.executable, str(WRITER), str(path), str(first_version), "1.0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        if mid_write:
            while (line := child.stdout.readline()) not in ("fsync\n", ""):
                lines.append(line)
        else:
            time.sleep(delay_s)
        child.send_signal(signal.SIGKILL)
        lines += child.stdout.readlines()  # not communicate(): it would skip what was buffered
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    return [int(v) for v in lines if v.strip().isdigit()]
