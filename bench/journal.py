"""Durable journal appends per second, against the same record written in place into a
preallocated file and made durable with `os.fdatasync`, as SQLite's WAL does, in the same
directory and the same run.

    python -m bench.journal [DIRECTORY]

DIRECTORY defaults to the repository's `var/`, on the disk the gate writes to; not /tmp, which
may be a tmpfs where a sync costs nothing. Both loops run in alternating rounds so that a change
in the disk's speed during the run hits both alike, after one warm-up round each: the journal's
WAL then has its steady size, as on a gate that has been running for a while.

What each side pays (strace): a journal commit is one `fdatasync` of the WAL, with
`synchronous=FULL`; the database file is synced only at checkpoints, every
`WAL_AUTOCHECKPOINT_PAGES` pages (about every thousand appends: two more syncs then). A WAL that
has wrapped is overwritten in place, so its sync has no file size or block allocation to commit.
The baseline pays the same: `pwrite` of the record at the next offset of a file written full of
zeros and synced beforehand (`RING_BYTES`, wrapping like the WAL), then one `fdatasync`. (An
earlier baseline, `write` + `fsync` of a growing file, also committed the new size at each sync,
a handicap to the raw side.) The commit writes a 4 KiB page plus a 24-byte frame header where
the baseline writes the record alone; what is left is CPU: SQLite's B-tree and WAL work and
building the entry (JSON, nonce, hybrid timestamp), tens of microseconds on a sync that costs a
few hundred on an SSD and milliseconds on an SD card.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.common import percentiles_us, report
from gate.store.journal import Journal

ROUNDS, PER_ROUND = 20, 250
BODY = {
    "type": "decision",
    "uid": "04A1B2C3D4E5F6",
    "code": "OK_ENTRY",
    "group": "T0000001",
    "role": "adult",
    "mode": "entry",
}
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "var"
RING_BYTES = 4 << 20  # the baseline's preallocated file: about the journal's WAL at its limit


def journal_round(journal: Journal, n: int) -> list[int]:
    """Durations (ns) of `n` appends."""
    samples = []
    clock = time.perf_counter_ns
    for _ in range(n):
        start = clock()
        journal.append("decision", BODY)
        samples.append(clock() - start)
    return samples


class Ring:
    """The baseline: a file written full and synced once, then overwritten in place."""

    def __init__(self, path: Path, size: int = RING_BYTES) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        chunk = bytes(1 << 20)
        for offset in range(0, size, len(chunk)):
            os.pwrite(self.fd, chunk[: size - offset], offset)
        os.fsync(self.fd)  # the blocks allocated and their size committed, once
        self.size, self.offset = size, 0

    def append(self, record: bytes) -> None:
        if self.offset + len(record) > self.size:
            self.offset = 0
        os.pwrite(self.fd, record, self.offset)
        os.fdatasync(self.fd)
        self.offset += len(record)

    def close(self) -> None:
        os.close(self.fd)


def raw_round(ring: Ring, record: bytes, n: int) -> list[int]:
    """Durations (ns) of `n` appends of `record` by pwrite in place + fdatasync."""
    samples = []
    clock = time.perf_counter_ns
    for _ in range(n):
        start = clock()
        ring.append(record)
        samples.append(clock() - start)
    return samples


def rate(samples: list[int]) -> float:
    """Appends per second."""
    return len(samples) / (sum(samples) / 1e9)


def main(directory: Path = DEFAULT_DIR, rounds: int = ROUNDS, per_round: int = PER_ROUND) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix="bench-journal-") as tmp:
        journal = Journal(Path(tmp) / "journal.db", "E1")
        record = (json.dumps(journal.append("decision", BODY).to_json()) + "\n").encode()
        ring = Ring(Path(tmp) / "raw.ring")
        ours: list[int] = []
        raw: list[int] = []
        gc.collect()
        try:
            journal_round(journal, 3000)  # warm-up: the WAL wraps at least once
            raw_round(ring, record, per_round)
            for _ in range(rounds):
                ours += journal_round(journal, per_round)
                raw += raw_round(ring, record, per_round)
        finally:
            ring.close()
            journal.close()
    name = f"journal ({len(record)}-byte entries, {directory})"
    report(name, "appends/s", rate(ours), "1/s", rate(raw), "ratio >= 0.8")
    report(name, "append p50", percentiles_us(ours)[0], "us", percentiles_us(raw)[0])
    report(name, "append p99", percentiles_us(ours)[1], "us", percentiles_us(raw)[1])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR)
