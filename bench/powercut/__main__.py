"""`python -m bench.powercut`: gates and the hub on a filesystem that loses what was not synced,
the power cut again and again, and every cut judged.

    python -m bench.powercut               # the campaign: 280 cuts (about 200 of gates, 70 hub)
    python -m bench.powercut --quick       # a handful of cuts (a couple of minutes; CI runs it)
    python -m bench.powercut --cuts 50 --seed 7 --json

The venue of `venue.processes` (Mosquitto, the hub, six gates, families moved by their plan
through the gates' control sockets) with each gate's state directory and the hub's on one
`LazyFS` mount (`bench.powercut.lazyfs`), each its own machine's disk. Each cut lands at a
moment drawn from `bench.powercut.moments` (mid-scan, mid-binding, mid-allowlist swap,
mid-compaction, mid-ingest commit, at random), armed to fire from inside the operation that
moment is made of; the victim is SIGKILLed as its unsynced writes go, its stores are checked
and it starts again on what survived. At the end the venue settles and the whole history is
judged (`bench.powercut.checker`). Prints a table; with --json its last line is one JSON
object. Exit status 0 when every check passes, 1 otherwise, 2 if the venue cannot be set up.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from bench.powercut import evidence
from bench.powercut.campaign import Cutter, scans_of
from bench.powercut.checker import Verdict, judge, mixed_snapshots
from bench.powercut.mount import Mount, MountError
from bench.powercut.rig import Keeper, PowerFittings, PowerVenue
from venue.clock import SteadyClock
from venue.daemon import DemoError
from venue.faults import unmount_under
from venue.plan import Shares, local_timezone, make_plan
from venue.processes import clear_workdir, http_port, say
from venue.socket_hands import SocketHands
from venue.visitors import Visitors

FULL_CUTS, QUICK_CUTS = 280, 8
SETTLE_TIMEOUT_S = 180.0
SHARES = Shares(solo=0.05, temporary=0.2, checked=0.05, child_alone=0.15)
DAY_RATE, ROOM, WORKERS = 300.0, 60, 8


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.powercut", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CUTS} cuts (CI runs it)")
    parser.add_argument("--cuts", type=int, metavar="N", help=f"how many ({FULL_CUTS} by default)")
    parser.add_argument("--seed", type=int, default=1, help="moments, tears, visitors (default 1)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument(
        "--max-minutes", type=float, default=60.0, metavar="M",
        help="cut no more after this long (default 60)",
    )  # fmt: skip
    parser.add_argument(
        "--workdir", type=Path, default=Path("var/powercut"), metavar="DIR",
        help="configuration, state and logs of the run (default var/powercut; emptied first)",
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cuts = args.cuts if args.cuts is not None else QUICK_CUTS if args.quick else FULL_CUTS
    root = args.workdir.resolve()
    say(f"power-cut campaign: {cuts} cuts, seed {args.seed} (again: --seed {args.seed})")
    unmount_under(root)
    clear_workdir(root)
    timezone = local_timezone()
    today = datetime.now(ZoneInfo(timezone)).date()
    plan = make_plan(600 if args.quick else 6000, args.seed, today, timezone, SHARES)
    mount = Mount(root / "fs")
    venue = PowerVenue(root / "venue", plan, http_port(0), say, PowerFittings(), mount=mount)
    venue.fittings.mount = mount  # type: ignore[attr-defined]
    signal.signal(signal.SIGTERM, _interrupted)
    started = time.monotonic()
    try:
        mount.start()
        say(f"LazyFS at {mount.point} over {mount.backing}; starting the venue ...")
        venue.start()
        summary = Run(venue, mount, args.seed).go(cuts, started + args.max_minutes * 60)
    except (DemoError, MountError) as exc:
        say(f"powercut: {exc}")
        return 2
    finally:
        venue.stop()
        mount.stop()
    say(f"(the run took {time.monotonic() - started:.0f} s; logs and state in {root})")
    if args.json:
        print(json.dumps(summary), flush=True)
    return 0 if summary["passed"] else 1


class Run:
    def __init__(self, venue: PowerVenue, mount: Mount, seed: int) -> None:
        self.venue, self.mount = venue, mount
        self.hands = SocketHands(lambda gate: venue.gates[gate].daemon.socket)
        self.visitors = Visitors(
            venue.plan, self.hands, SteadyClock(DAY_RATE), threading.Event(), say,
            workers=WORKERS, room=ROOM,
        )  # fmt: skip
        self.keeper = Keeper(venue.daemons())
        self.cutter = Cutter(venue, mount, self.keeper, lambda: self.hands.history, seed, say)

    def go(self, cuts: int, deadline: float) -> dict[str, Any]:
        self.visitors.start()
        try:
            time.sleep(3)  # families at the desk before the first cut
            self.cutter.run(cuts, deadline)
            say("the last cut is over; every machine starts again, the visitors finish ...")
        finally:
            self.visitors.stop()
        if self.visitors.errors:
            raise DemoError(f"the visitors failed: {self.visitors.errors[0]!r}")
        up = self.keeper.wait_all_up()
        settled = up and self.venue.wait_settled(SETTLE_TIMEOUT_S)
        verdict = self.verdict()
        return self.report(verdict, settled)

    def verdict(self) -> Verdict:
        journals, compacted = {}, {}
        for gate_id in self.venue.gates:
            disk = self.mount.point / gate_id
            journals[gate_id], compacted[gate_id] = evidence.journal(disk / "journal.db", gate_id)
            self.cutter.books.snapshots.append(
                (f"{gate_id} at the end", evidence.snapshot(disk / "allowlist.json"))
            )
        hub, conflicts = evidence.hub_store(self.mount.point / "hub" / "events.db")
        last = {g: max([compacted[g], *(e.seq for e in rows)]) for g, rows in journals.items()}
        hub = [e for e in hub if e.seq <= last.get(e.gate, 0)]  # journalled after the read
        inside = (self.venue.hub_headcount() or {}).get("inside")
        return judge(scans_of(self.hands.history), journals, compacted, hub, conflicts, inside)

    def report(self, verdict: Verdict, settled: bool) -> dict[str, Any]:
        books = self.cutter.books
        mixed = mixed_snapshots(books.snapshots)
        integrity = books.integrity + [
            f"{p.relative_to(self.mount.point)}: {said}"
            for p in evidence.stores(self.mount.point)
            if (said := evidence.integrity(p)) != "ok"
        ]
        lost = books.lost + verdict.lost
        summary = {
            "bench": "powercut",
            "cuts": books.gate_cuts + books.hub_cuts,
            "gate_cuts": books.gate_cuts,
            "hub_cuts": books.hub_cuts,
            "moments": dict(sorted(books.landed.items())),
            "torn": books.torn,
            "allowlist_imports": books.imports,
            "allowlist_imports_unanswered": books.imports_unanswered,
            "answered": verdict.answered,
            "recovered": verdict.recovered,
            "lost": len(lost),
            "duplicated": len(verdict.duplicated),
            "integrity_failures": len(integrity),
            "mixed_allowlists": len(mixed),
            "unrecoverable_starts": len(self.keeper.unrecoverable),
            "unplanned_deaths": len(self.keeper.deaths),
            "headcount_truth": verdict.truth_inside,
            "settled": settled,
        }
        summary["passed"] = settled and not any(
            summary[k] for k in ("lost", "duplicated", "integrity_failures", "mixed_allowlists",
                                 "unrecoverable_starts", "unplanned_deaths")
        )  # fmt: skip
        say("")
        for key, value in summary.items():
            say(f"  {key:<22} {value}")
        for what, items in (
            ("lost", lost), ("duplicated", verdict.duplicated), ("integrity", integrity),
            ("mixed allowlist", mixed), ("unrecoverable start", self.keeper.unrecoverable),
            ("unplanned death", self.keeper.deaths),
        ):  # fmt: skip
            for item in items[:10]:
                say(f"  {what}: {item}")
        say(f"result: {'PASS' if summary['passed'] else 'FAIL'}")
        return summary


def _interrupted(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
