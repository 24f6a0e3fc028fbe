"""Allowlist cold load of 200k entries, against `json.load` of the same snapshot file.

Each load runs in a fresh process, so the time includes what a restarting gate pays and the
peak RSS is that process's own (imports included, in both).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from bench.common import report
from gate.core import Allowlist, Role, Ticket
from gate.store.allowlist import AllowlistStore

TICKETS, BANDS = 50_000, 150_000

PROBE = """
import json, sys, time
sys.path[:0] = {paths!r}
import gate.store.allowlist
start = time.perf_counter()
{load}
elapsed = time.perf_counter() - start
# VmHWM: this process's own peak (ru_maxrss would carry the parent's over the exec)
status = open("/proc/self/status").read().split("VmHWM:")[1]
rss_mb = int(status.split()[0]) / 1024
print(elapsed, rss_mb)
"""
OURS = "gate.store.allowlist.AllowlistStore(sys.argv[1]).load()"
BASELINE = "json.load(open(sys.argv[1]))"


def write_snapshot(path: Path) -> None:
    day = date(2026, 7, 18)
    tickets = {
        f"T{i:07d}": Ticket(f"T{i:07d}", "family", 2, 1, day, day, "") for i in range(TICKETS)
    }
    bands = {f"04{i:012X}": Role.ADULT if i % 3 else Role.CHILD for i in range(BANDS)}
    staff = {f"04FF{i:08X}": f"Staff {i}" for i in range(50)}
    AllowlistStore(path).save_snapshot(Allowlist(1, tickets, bands, staff, {}))


def cold(load: str, path: Path, runs: int = 3) -> tuple[float, float]:
    """Best time of `runs` fresh processes, and the peak RSS of that run (MB)."""
    code = PROBE.format(paths=sys.path, load=load)
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
        )
        elapsed, rss = map(float, out.stdout.split())
        results.append((elapsed, rss))
    return min(results)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "allowlist.json"
        write_snapshot(path)
        ours_s, ours_mb = cold(OURS, path)
        base_s, base_mb = cold(BASELINE, path)
    name = f"allowlist ({(TICKETS + BANDS) // 1000}k entries)"
    report(name, "cold load", ours_s, "s", base_s, "<= 1.5 s")
    report(name, "peak RSS", ours_mb, "MB", base_mb, "<= 150 MB")


if __name__ == "__main__":
    main()
