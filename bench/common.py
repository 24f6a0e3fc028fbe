"""What every benchmark shares: the JSON line it prints and a venue of a given size."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from gate.core import (
    Allowlist,
    BandBound,
    BindingOpened,
    MemberMoved,
    MemberState,
    Policy,
    Role,
    State,
    Ticket,
    fold,
)

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 7, 18)
MORNING = datetime(2026, 7, 18, 10, 0, tzinfo=TZ)
POLICY = Policy(
    timezone="Asia/Shanghai", open="09:00", close="21:00", capacity=500_000, pairing_window_s=60
)
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "var"  # a disk, not a tmpfs


@dataclass(frozen=True)
class Options:
    """What every benchmark takes: `quick` (a smoke run of seconds, for CI), the directory
    holding its files, and the benchmarks to run (`python -m bench` only)."""

    quick: bool = False
    directory: Path = DEFAULT_DIR
    only: tuple[str, ...] = ()


def options(argv: Sequence[str] | None = None, what: str = "") -> Options:
    """The command line of a benchmark: [DIRECTORY] [--quick] [--cpus N] [--only NAME ...].
    `--cpus N` pins this process, its threads and every process it starts (Mosquitto, gates,
    the hub) to N cores, to estimate a smaller machine from the ratio."""
    parser = argparse.ArgumentParser(description=what)
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--quick", action="store_true", help="a smoke run (CI): small sizes")
    parser.add_argument("--cpus", type=int, help="run pinned to this many cores")
    parser.add_argument("--only", action="append", default=[], help="this benchmark (repeat)")
    args = parser.parse_args(argv)
    if args.cpus is not None:
        pin_cpus(args.cpus)
    return Options(args.quick, args.directory, tuple(args.only))


def pin_cpus(n: int) -> None:
    """Run on the first `n` cores this process may use; threads and children inherit it."""
    cores = sorted(os.sched_getaffinity(0))
    if not 1 <= n <= len(cores):
        raise SystemExit(f"--cpus {n}: this machine gives this process {len(cores)} cores")
    os.sched_setaffinity(0, set(cores[:n]))


def cpus() -> int:
    return len(os.sched_getaffinity(0))


def report(
    bench: str, figure: str, value: float, unit: str, baseline: float, target: str | None = None
) -> dict[str, object]:
    """Print one figure next to the baseline measured in the same run."""
    line = {
        "bench": bench,
        "figure": figure,
        "value": round(value, 3),
        "unit": unit,
        "baseline": round(baseline, 3),
        "ratio": round(value / baseline, 3) if baseline else None,
        "target": target,
        "cpus": cpus(),
    }
    print(json.dumps(line), flush=True)
    return line


def percentiles_us(samples_ns: Sequence[int]) -> tuple[float, float]:
    """(p50, p99) in microseconds."""
    cuts = statistics.quantiles(samples_ns, n=100, method="inclusive")
    return cuts[49] / 1000, cuts[98] / 1000


def percentiles_ms(samples_s: Sequence[float]) -> tuple[float, float, float]:
    """(p50, p95, p99) in milliseconds of durations in seconds."""
    if len(samples_s) < 2:
        only = samples_s[0] * 1000 if samples_s else float("nan")
        return only, only, only
    cuts = statistics.quantiles(samples_s, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


def time_each(calls: Sequence[Callable[[], object]]) -> list[int]:
    samples = []
    clock = time.perf_counter_ns
    for call in calls:
        start = clock()
        call()
        samples.append(clock() - start)
    return samples


def venue(members: int, adults_per_group: int = 2, children_per_group: int = 2) -> State:
    """An allowlist and a state with `members` bands bound, most of them inside."""
    size = adults_per_group + children_per_group
    groups = members // size
    tickets = {
        f"T{g:07d}": Ticket(f"T{g:07d}", "family", adults_per_group, children_per_group, DAY, DAY)
        for g in range(groups)
    }
    bands: dict[str, Role] = {}
    state = State(allowlist=Allowlist(1, tickets, bands, {"04FF000001": "Duty manager"}, {}))
    at = MORNING - timedelta(hours=1)
    for g, code in enumerate(tickets):
        fold(state, BindingOpened("D1", at, code, adults_per_group, children_per_group))
        for i in range(size):
            uid = f"04{g:08X}{i:02X}"
            role = Role.ADULT if i < adults_per_group else Role.CHILD
            bands[uid] = role
            fold(state, BandBound("D1", at, uid, code, role))
            if g % 4:  # three groups in four are inside
                fold(state, MemberMoved("E1", at, uid, code, MemberState.INSIDE))
    return state
