"""Decision latency with a 200k-member venue, against a bare dict lookup of the same credentials."""

from __future__ import annotations

import gc
import random
import sys

from bench.common import MORNING, POLICY, percentiles_us, report, time_each, venue
from gate.core import Intent, Kind, Mode, Scan, decide

MEMBERS = 200_000


def main(members: int = MEMBERS, scans: int = 50_000) -> None:
    state = venue(members)
    rng = random.Random(7)
    uids = rng.sample(list(state.members), scans)
    gates = [("E1", Mode.ENTRY), ("X1", Mode.EXIT)]
    batch = []
    for uid in uids:
        gate, mode = rng.choice(gates)
        intent = Intent.TEMPORARY if rng.random() < 0.1 else Intent.FINAL
        batch.append(Scan(gate, mode, Kind.NFC, uid, intent))

    lookup = state.members.get
    gc.collect()
    gc.disable()  # the daemon's loop is allocation-light; a collection would measure the GC
    try:
        baseline = time_each([lambda u=u: lookup(u) for u in uids])
        decided = time_each([lambda s=s: decide(state, s, MORNING, POLICY) for s in batch])
    finally:
        gc.enable()
    base50, base99 = percentiles_us(baseline)
    p50, p99 = percentiles_us(decided)
    name = f"decision ({members // 1000}k members)"
    report(name, "decide p50", p50, "us", base50)
    report(name, "decide p99", p99, "us", base99, "p99 <= 50 us")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else MEMBERS)
