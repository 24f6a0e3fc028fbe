"""Durable journal appends per second, against `os.write` + `os.fsync` of a record of the same
size to a file in the same directory, measured in the same run.

    python -m bench.journal [DIRECTORY]

DIRECTORY defaults to the repository's `var/`, on the disk the gate writes to; not /tmp, which
may be a tmpfs where a sync costs nothing. Both loops run in alternating rounds so that a change
in the disk's speed during the run hits both alike, after one warm-up round each: the journal's
WAL then has its steady size, as on a gate that has been running for a while.

What each side pays (strace): a journal commit is one `fdatasync` of the WAL, like the raw
loop's one `fsync`, with `synchronous=FULL`. The database file is synced only at checkpoints,
every `WAL_AUTOCHECKPOINT_PAGES` pages (about every thousand appends: two more syncs then). The
commit writes a 4 KiB page plus a 24-byte frame header where the raw loop writes the record
alone, but into a WAL that, once it has wrapped, is overwritten in place: its sync has no file
size to update, where each of the raw loop's syncs also commits the file's new size (truncating
the WAL at each checkpoint instead, `journal_size_limit=0`, measured 2.4k appends/s against
4.2k on the build machine; so did a WAL still growing to a 10,000-page checkpoint). What is left
is CPU: SQLite's B-tree and WAL work and building the entry (JSON, nonce, hybrid timestamp),
tens of microseconds on a sync that costs a few hundred on an SSD and milliseconds on an SD card.
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


def journal_round(journal: Journal, n: int) -> list[int]:
    """Durations (ns) of `n` appends."""
    samples = []
    clock = time.perf_counter_ns
    for _ in range(n):
        start = clock()
        journal.append("decision", BODY)
        samples.append(clock() - start)
    return samples


def raw_round(fd: int, record: bytes, n: int) -> list[int]:
    """Durations (ns) of `n` appends of `record` by write + fsync."""
    samples = []
    clock = time.perf_counter_ns
    for _ in range(n):
        start = clock()
        os.write(fd, record)
        os.fsync(fd)
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
        fd = os.open(Path(tmp) / "raw.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        ours: list[int] = []
        raw: list[int] = []
        gc.collect()
        try:
            journal_round(journal, 3000)  # warm-up: the WAL wraps at least once
            raw_round(fd, record, per_round)
            for _ in range(rounds):
                ours += journal_round(journal, per_round)
                raw += raw_round(fd, record, per_round)
        finally:
            os.close(fd)
            journal.close()
    name = f"journal ({len(record)}-byte entries, {directory})"
    report(name, "appends/s", rate(ours), "1/s", rate(raw), "ratio >= 0.8")
    report(name, "append p50", percentiles_us(ours)[0], "us", percentiles_us(raw)[0])
    report(name, "append p99", percentiles_us(ours)[1], "us", percentiles_us(raw)[1])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR)
