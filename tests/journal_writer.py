"""Appends to a journal in a tight loop until killed: the victim of the journal's crash test.

    python tests/journal_writer.py PATH [COMPACT_EVERY]

Prints `ready`, then the sequence number of each entry once `append` has returned (committed).
With COMPACT_EVERY, every that many entries it also acknowledges all but the last few and compacts
everything acknowledged, so kills land in compactions too. Stops by itself after `LIFETIME_S`.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

from gate.store.journal import Journal

GATE = "E1"
LIFETIME_S = 30.0
UNACKED = 5  # entries left unacknowledged at each compaction


def main(path: str, compact_every: int = 0) -> None:
    journal = Journal(path, GATE)
    print("ready", flush=True)
    deadline = time.monotonic() + LIFETIME_S
    while time.monotonic() < deadline:
        entry = journal.append("scan", {"uid": "04A1B2C3D4E5F6", "code": "OK_ENTRY", "n": 1})
        print(entry.seq, flush=True)
        if compact_every and entry.seq % compact_every == 0:
            journal.acknowledge(entry.seq - UNACKED)
            journal.compact(timedelta(0), datetime.now(UTC) + timedelta(days=1))


if __name__ == "__main__":
    main(sys.argv[1], *map(int, sys.argv[2:3]))
