"""The power-cut filesystem itself (bench/powercut/lazyfs.py): it really loses what was not
synced, keeps what was, tears at a page boundary, undoes names whose directory was not synced,
kills the processes on the machine, and SQLite in WAL mode comes through a cut whole."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.powercut.mount import Mount
from bench.powercut.overlay import PAGE

PAGES = 4


@pytest.fixture
def fs(tmp_path: Path) -> Iterator[Mount]:
    mount = Mount(tmp_path).start()
    try:
        (mount.point / "M").mkdir()
        yield mount
    finally:
        mount.stop()


def write(path: Path, data: bytes, offset: int = 0, sync: bool = False) -> None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.pwrite(fd, data, offset)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def test_unsynced_writes_are_lost_and_synced_ones_kept(fs: Mount) -> None:
    f = fs.point / "M" / "data"
    write(f, b"a" * (PAGES * PAGE), sync=True)
    write(f, b"b" * 100, offset=10)
    write(f, b"c" * PAGE, offset=PAGES * PAGE)  # grows the file
    assert f.read_bytes()[10:110] == b"b" * 100, "reads see the unsynced writes"
    assert f.stat().st_size == (PAGES + 1) * PAGE
    assert (fs.backing / "M" / "data").read_bytes() == b"a" * (PAGES * PAGE), "not on the disk"
    cut = fs.cuts()[-1] if fs.cuts() else None
    assert cut is None
    fs.cut("M", [])
    assert f.read_bytes() == b"a" * (PAGES * PAGE)


def test_fdatasync_makes_data_durable_and_truncate_waits_for_a_sync(fs: Mount) -> None:
    f = fs.point / "M" / "data"
    write(f, b"a" * 3 * PAGE, sync=True)
    fd = os.open(f, os.O_RDWR)
    os.pwrite(fd, b"z" * 10, 0)
    os.fdatasync(fd)
    os.truncate(fd, PAGE)  # not synced: the length comes back
    os.close(fd)
    assert f.stat().st_size == PAGE
    fs.cut("M", [])
    assert f.read_bytes() == b"z" * 10 + b"a" * (3 * PAGE - 10)


def test_the_last_unsynced_write_tears_at_a_page_boundary(fs: Mount) -> None:
    """The kernel may hand the write over in pieces (a partial first page apart): whatever
    reaches the disk is one run of the new bytes that ends on a page boundary."""
    f = fs.point / "M" / "data"
    ends = set()
    for seed in range(6):
        write(f, b"a" * PAGES * PAGE, sync=True)
        write(f, b"b" * (3 * PAGE), offset=PAGE // 2)
        fs.cut("M", [], tear=True, seed=seed)
        data = f.read_bytes()
        assert len(data) == PAGES * PAGE
        new = [i for i, byte in enumerate(data) if byte == ord("b")]
        if not new:
            continue  # torn before its first boundary: nothing of it reached the disk
        start, end = new[0], new[-1] + 1
        assert data[start:end] == b"b" * (end - start), "one run"
        assert end % PAGE == 0, f"torn at {end}, not a page boundary"
        ends.add(end)
    assert len(ends) > 1, f"the tear falls at different boundaries: {ends}"


def test_a_rename_is_durable_only_once_its_directory_is_synced(fs: Mount) -> None:
    d = fs.point / "M"
    write(d / "live", b"old", sync=True)
    sync_dir(d)
    write(d / "tmp", b"new", sync=True)
    os.replace(d / "tmp", d / "live")
    assert (d / "live").read_bytes() == b"new"
    fs.cut("M", [])
    assert (d / "live").read_bytes() == b"old", "the rename without a directory fsync is undone"
    assert (d / "tmp").read_bytes() == b"new", "the synced file is back under its old name"
    os.replace(d / "tmp", d / "live")
    sync_dir(d)
    (d / "live").unlink()
    fs.cut("M", [])
    assert (d / "live").read_bytes() == b"new", "the unlink was not synced"
    assert sorted(os.listdir(d)) == ["live"]


def test_a_created_file_without_any_sync_is_gone(fs: Mount) -> None:
    d = fs.point / "M"
    write(d / "kept", b"k", sync=True)  # its own fsync keeps its name (as ext4)
    write(d / "gone", b"g")
    fs.cut("M", [])
    assert sorted(os.listdir(d)) == ["kept"]


def test_a_cut_kills_the_processes_on_its_machine_only(fs: Mount) -> None:
    (fs.point / "N").mkdir()
    holder = (
        "import sys, time; f = open(sys.argv[1], 'ab'); print('ready', flush=True); time.sleep(120)"
    )
    procs = []
    for machine in ("M", "N"):
        p = subprocess.Popen(
            [sys.executable, "-c", holder, str(fs.point / machine / "held")],
            stdout=subprocess.PIPE,
        )
        assert p.stdout is not None and p.stdout.readline() == b"ready\n"
        procs.append(p)
    named = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        fs.cut("M", [named.pid])
        assert procs[0].wait(timeout=10) == -9, "it held a file on the machine"
        assert named.wait(timeout=10) == -9, "it was named"
        assert procs[1].poll() is None, "another machine's process lives on"
    finally:
        for p in [*procs, named]:
            p.kill()
            p.wait()


def test_an_armed_cut_fires_inside_the_nth_write(fs: Mount) -> None:
    """The writer is killed from inside its third write (a process of the machine: this test's
    own process must hold no file there)."""
    f = fs.point / "M" / "log"
    write(f, b"", sync=True)
    fs.arm("M", "write", "log", [], skip=2)
    writer = (
        "import os, sys\nfd = os.open(sys.argv[1], os.O_WRONLY)\n"
        "for i in range(5):\n    os.pwrite(fd, b'%d' % i, i)\n    print(i, flush=True)\n"
    )
    proc = subprocess.run([sys.executable, "-c", writer, str(f)], capture_output=True, timeout=30)
    assert proc.returncode == -9, proc.stderr
    assert proc.stdout.split() == [b"0", b"1"], "killed inside the third write"
    assert fs.disarm() is True
    fs.wait_cut(1)
    assert f.read_bytes() == b""


WRITER = textwrap.dedent(
    """
    import sqlite3, sys
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)")
    (i,) = db.execute("SELECT coalesce(max(id), 0) FROM t").fetchone()
    while True:
        i += 1
        db.execute("INSERT INTO t (id, body) VALUES (?, ?)", (i, "x" * 3000))
        print(i, flush=True)
    """
)


@pytest.mark.parametrize("tear", [False, True])
def test_sqlite_in_wal_mode_survives_a_cut_mid_commit(fs: Mount, tear: bool) -> None:
    path = fs.point / "M" / "store.db"
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        committed = [int(proc.stdout.readline())]  # up and writing
        fs.arm("M", "write", "store.db-wal", [proc.pid], skip=7 + round_, tear=tear, seed=round_)
        committed += [int(line) for line in proc.stdout]  # until it is killed
        assert proc.wait(timeout=30) == -9
        deadline = time.monotonic() + 30
        while not (fs.cuts() and all(c["done"] for c in fs.cuts())):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        db = sqlite3.connect(path)
        try:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            ids = {row[0] for row in db.execute("SELECT id FROM t")}
        finally:
            db.close()
        assert set(committed) <= ids, f"acknowledged commits lost: {set(committed) - ids}"
    assert len(fs.cuts()) == 3
    assert any(c["lost_bytes"] for c in fs.cuts()), "the cuts did lose unsynced pages"


def test_a_gate_keeps_the_roster_it_was_sent_across_a_power_cut(fs: Mount) -> None:
    """Found by this filesystem: the roster was renamed into place without its directory
    synced, so a cut could take it back (a gate then starts with no roles until the broker)."""
    from gate.link.peers import Peers
    from gate.link.protocol import Roster

    path = fs.point / "M" / "roster.json"
    Peers(path).set_roster(Roster(gates={"E1": "entry", "X1": "exit"}))
    fs.cut("M", [])
    assert set(Peers(path).roster) == {"E1", "X1"}


def test_an_allowlist_swap_is_the_old_or_the_new_version_after_a_cut(fs: Mount) -> None:
    from gate.core import Allowlist
    from gate.store.allowlist import AllowlistStore

    path = fs.point / "M" / "allowlist.json"
    store = AllowlistStore(path)
    store.save_snapshot(Allowlist(staff={"04A1B2C3D4E5F6": "Ann"}), 1)
    store.close()
    writer = (
        "import sys\nfrom gate.core import Allowlist\n"
        "from gate.store.allowlist import AllowlistStore\n"
        "s = AllowlistStore(sys.argv[1])\nsys.stdin.readline()\n"
        "s.save_snapshot(Allowlist(staff={'04A1B2C3D4E5F6': 'Ann', '04B1B2C3D4E5F6': 'Bo'}), 2)\n"
        "print('saved')\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", writer, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    fs.arm("M", "rename", "allowlist", [proc.pid], skip=0)
    out, _ = proc.communicate(b"go\n", timeout=60)
    assert proc.returncode == -9 and b"saved" not in out, "cut inside the rename"
    fs.wait_cut(1)
    reopened = AllowlistStore(path)
    assert reopened.load().version == 1, "the rename was not synced: the old version"
    reopened.close()
