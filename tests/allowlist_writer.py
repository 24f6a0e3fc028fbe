"""Writes allowlist snapshots in a loop until killed: the victim of the crash test.

    python tests/allowlist_writer.py PATH FIRST_VERSION [FSYNC_DELAY_S]

Prints `ready`, then each version once `save_snapshot` has returned (durably on disk), and
`fsync` each time a file's (slowed) fsync has begun: the writer is in the middle of a write. Every
snapshot is self-describing, so a reader can tell a complete one from a mix of two versions:
`expected_sizes(v)` entries, each marked with its version. Stops by itself after `LIFETIME_S`.

FSYNC_DELAY_S makes each fsync of a file that much slower, as on an SD card, so that a kill at a
random moment often lands while a temporary file is being written.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta

from gate.core import Allowlist, Role, Ticket
from gate.store.allowlist import AllowlistStore

LIFETIME_S = 30.0
DAY = date(2026, 7, 1)


def expected_sizes(version: int) -> tuple[int, int, int, int]:
    """(tickets, bands, staff, revoked) of the snapshot of `version`: grows with the version."""
    tickets = 4000 + 7 * version
    return tickets, 3 * tickets, 1 + version % 5, version % 11


def snapshot(version: int) -> Allowlist:
    """The snapshot of `version`; every entry carries the version in its key or its text."""
    n_tickets, n_bands, n_staff, n_revoked = expected_sizes(version)
    mark = f"v{version}"
    tickets = {
        f"{mark}-T{i}": Ticket(f"{mark}-T{i}", mark, 2, 1, DAY, DAY + timedelta(days=i % 3))
        for i in range(n_tickets)
    }
    bands = {
        f"{version:06X}{i:08X}": Role.CHILD if i % 3 == 0 else Role.ADULT for i in range(n_bands)
    }
    staff = {f"{0x80000000 + i:08X}": mark for i in range(n_staff)}
    revoked = {f"{mark}-T{i}": mark for i in range(n_revoked)}
    return Allowlist(version, tickets, bands, staff, revoked)


def check_complete(allowlist: Allowlist) -> None:
    """Raise AssertionError unless `allowlist` is exactly one whole version written here."""
    v = allowlist.version
    mark = f"v{v}"
    sizes = (len(allowlist.tickets), len(allowlist.bands), len(allowlist.staff))
    assert (*sizes, len(allowlist.revoked)) == expected_sizes(v), f"sizes of version {v}"
    assert all(t.product == mark for t in allowlist.tickets.values()), f"tickets of {v}"
    assert all(uid.startswith(f"{v:06X}") for uid in allowlist.bands), f"bands of {v}"
    assert set(allowlist.staff.values()) == {mark}, f"staff of {v}"
    assert all(reason == mark for reason in allowlist.revoked.values()), f"revoked of {v}"


def slow(fsync: Callable[[int], None], delay_s: float) -> Callable[[int], None]:
    def slow_fsync(fd: int) -> None:
        fsync(fd)
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            print("fsync", flush=True)  # a file is being written: a kill now lands mid-write
            time.sleep(delay_s)

    return slow_fsync


def main(path: str, first_version: int, fsync_delay_s: float = 0.0) -> None:
    if fsync_delay_s:
        os.fsync = slow(os.fsync, fsync_delay_s)  # type: ignore[assignment]
    store = AllowlistStore(path)
    print("ready", flush=True)
    deadline = time.monotonic() + LIFETIME_S
    version = first_version
    while time.monotonic() < deadline:
        store.save_snapshot(snapshot(version), version=version)
        print(version, flush=True)
        version += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:4]))
