"""`python -m bench.chaos`: the venue under fire, every event accounted for.

    python -m bench.chaos              # the campaign: 500 gate kills, 100 hub kills, 50 outages...
    python -m bench.chaos --quick      # the same, smaller (a couple of minutes; CI runs it)

A venue of real processes on this machine, on loopback only (`venue.processes`, fitted with a
relay per gate, a shifted clock and a small disk): Mosquitto, the hub and six gates. Families
move through it (`venue.visitors`, their scans sent through the gates' control sockets and
recorded: `venue.socket_hands`) while faults are injected (`bench.chaos.nemesis`). Then every
fault is healed, the visitors stop, the venue settles, and the history is judged
(`bench.chaos.checker`): lost, duplicated, unexpected and recovered events, the headcount
against the ground truth, the child-safety invariant, and any daemon that died without being
killed. Prints a table and one JSON line; exit status 0 when every check passes and every fault
asked for was injected, 1 otherwise, 2 if the venue cannot be set up. Bounded: faults stop at
--max-minutes, and settling waits at most 3 minutes.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from bench.chaos.bands import Bands
from bench.chaos.checker import Accounting, Row, account, as_planned, child_safety_violations
from bench.chaos.double_entries import double_entries, recorded_moves
from bench.chaos.nemesis import CLOCK_GATE, DISK_GATE, FAULTS, Campaign, Nemesis
from bench.chaos.proxy import Relays
from gate.devices.nfc.token import load_keyring
from gate.store.journal import Journal
from venue.clock import SteadyClock
from venue.daemon import DemoError
from venue.faults import Death, Fittings, Supervisor
from venue.plan import PAIRING_WINDOW_S, Shares, local_timezone, make_plan
from venue.processes import Venue, http_port, say
from venue.socket_hands import SocketHands
from venue.visitors import Visitors

FULL = Campaign(500, 100, 50, 20, 20, 10, interval_s=0.9)
QUICK = Campaign(25, 5, 3, 2, 2, 2, interval_s=0.9)
SETTLE_TIMEOUT_S = 180.0
# Busier than the demo's day: more adults stepping out for a while, more children trying alone.
SHARES = Shares(solo=0.05, temporary=0.2, checked=0.05, child_alone=0.15)
# The day runs fast (a stay of 45 min to 3 h lasts 9 to 36 s: longer than any forward clock
# jump), with at most ROOM families in at once, served by WORKERS threads.
DAY_RATE = 300.0
ROOM = 80
WORKERS = 12


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="the reduced campaign CI runs")
    for fault in FAULTS:
        parser.add_argument(
            f"--{fault.replace('_', '-')}s", dest=fault, type=int, metavar="N",
            help=f"how many ({FULL.asked()[fault]} in the campaign, {QUICK.asked()[fault]} quick)",
        )  # fmt: skip
    parser.add_argument("--interval-s", type=float, metavar="S", help="mean time between faults")
    parser.add_argument("--seed", type=int, default=1, help="faults and visitors drawn (default 1)")
    parser.add_argument(
        "--max-minutes", type=float, default=30.0, metavar="M",
        help="inject no fault after this long (default 30)",
    )  # fmt: skip
    parser.add_argument(
        "--workdir", type=Path, default=Path("var/chaos"), metavar="DIR",
        help="configuration, state and logs of the run (default var/chaos; emptied first)",
    )  # fmt: skip
    return parser.parse_args(argv)


def campaign_of(args: argparse.Namespace) -> Campaign:
    base = QUICK if args.quick else FULL
    counts = {f: getattr(base, f) if getattr(args, f) is None else getattr(args, f) for f in FAULTS}
    return Campaign(**counts, interval_s=args.interval_s or base.interval_s)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    campaign = campaign_of(args)
    timezone = local_timezone()
    today = datetime.now(ZoneInfo(timezone)).date()
    plan = make_plan(5000 if not args.quick else 600, args.seed, today, timezone, SHARES)
    relays = Relays()  # each gate reaches the broker through its own, which a partition cuts
    fittings = Fittings(relay=relays.dial, shifted_clock=CLOCK_GATE, small_disk=DISK_GATE)
    venue = Venue(args.workdir.resolve(), plan, http_port(0), say, fittings)
    signal.signal(signal.SIGTERM, _interrupted)
    started = time.monotonic()
    try:
        say(f"starting the venue in {venue.root} ...")
        venue.start()
        result = Run(venue, relays, campaign, args).go(started + args.max_minutes * 60)
    except DemoError as exc:
        say(f"chaos: {exc}")
        return 2
    finally:
        venue.stop()
        relays.close()
    say(f"(the run took {time.monotonic() - started:.0f} s; logs and state in {venue.root})")
    return 0 if result else 1


class Run:
    def __init__(
        self, venue: Venue, relays: Relays, campaign: Campaign, args: argparse.Namespace
    ) -> None:
        self.venue = venue
        self.campaign = campaign
        self.supervisor = Supervisor(venue.daemons)
        self.bands = Bands(
            lambda gate: venue.root / gate / "state" / "journal.db",
            load_keyring(venue.root / "venue" / "site.key"),
            frozenset({venue.plan.staff_badge}),
        )
        self.hands = SocketHands(self._socket, self.bands)
        self.visitors = Visitors(
            venue.plan,
            self.hands,
            SteadyClock(DAY_RATE),
            threading.Event(),
            say,
            workers=WORKERS,
            room=ROOM,
        )
        self.nemesis = Nemesis(venue, self.supervisor, relays, campaign, args.seed, say)

    def _socket(self, gate: str) -> Path:
        return self.venue.gates[gate].daemon.socket

    def go(self, deadline: float) -> bool:
        asked = self.campaign.asked()
        say("faults: " + ", ".join(f"{n} {f.replace('_', ' ')}" for f, n in asked.items()))
        self.supervisor.start()
        self.visitors.start()
        try:
            time.sleep(3)  # families at the desk before the first fault
            self.nemesis.run(deadline)
            self.nemesis.heal()
            say("every fault healed; the visitors finish their moves ...")
            time.sleep(3)
        finally:
            self.visitors.stop()
        if self.visitors.errors:
            self.supervisor.stop()
            raise DemoError(f"the visitors failed: {self.visitors.errors[0]!r}")
        self.supervisor.wait_up()
        settled = self.venue.wait_settled(SETTLE_TIMEOUT_S)
        self.supervisor.stop()
        verdict = Verdict(self, settled)
        for line in verdict.table():
            say(line)
        say(json.dumps(verdict.summary()))
        return verdict.passed

    # --- what the venue holds at the end --------------------------------------------------------

    def journals(self) -> dict[str, list[Row]]:
        found = {}
        for gate_id in self.venue.gates:
            path = self.venue.root / gate_id / "state" / "journal.db"
            reader = Journal.open_readonly(path)
            try:
                rows, seq = [], 0
                while page := reader.entries_after(seq, 5000):
                    rows += [Row(gate_id, e.seq, e.nonce, str(e.hlc), e.kind, e.body) for e in page]
                    seq = page[-1].seq
            finally:
                reader.close()
            found[gate_id] = rows
        return found

    def wait_stored(self, journals: dict[str, list[Row]], timeout: float = 30.0) -> None:
        """Until the hub's store holds every entry of `journals` (or `timeout`: the checker
        then names what is missing)."""
        wanted = {(row.gate, row.seq) for rows in journals.values() for row in rows}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if wanted <= {(row.gate, row.seq) for row in self.hub_rows()[0]}:
                return
            time.sleep(0.5)

    def hub_rows(self) -> tuple[list[Row], int]:
        """The hub's store in its order (hybrid clock, gate, seq), and its conflicts."""
        path = self.venue.root / "hub" / "state" / "events.db"
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [
                Row(gate, seq, nonce, hlc, kind, json.loads(body))
                for gate, seq, nonce, hlc, kind, body in db.execute(
                    # an entry the hub refused (quarantined, a stub kept) counts as lost
                    "SELECT gate, seq, nonce, hlc, kind, body FROM entries "
                    "WHERE kind != 'refused' ORDER BY hlc, gate, seq"
                )
            ]
            (conflicts,) = db.execute("SELECT COUNT(*) FROM conflicts").fetchone()
        finally:
            db.close()
        return rows, int(conflicts)


class Verdict:
    def __init__(self, run: Run, settled: bool) -> None:
        self.run = run
        self.settled = settled
        venue = run.venue
        # The journals first: gates still close pairing windows after the venue settled, and an
        # entry journalled after this read is outside the verdict, at the hub or not yet.
        journals = run.journals()
        run.wait_stored(journals)
        hub, conflicts = run.hub_rows()
        last = {gate: rows[-1].seq if rows else 0 for gate, rows in journals.items()}
        hub = [row for row in hub if row.seq <= last.get(row.gate, 0)]
        ops = run.hands.history
        self.accounting: Accounting = account(ops, journals, hub, conflicts)
        self.violations = child_safety_violations(hub, PAIRING_WINDOW_S)
        self.double_entries = double_entries(hub)
        self.recorded_moves = recorded_moves(hub)
        faults = run.nemesis.spans
        finished = run.visitors.finished_families
        self.planned = as_planned(ops, hub, venue.plan, run.hands.overrides, faults, finished)
        self.hub_inside = (venue.hub_headcount() or {}).get("inside")
        status: dict[str, Any] = venue.hub_status() if venue.hub else {}
        self.hub_rejected = sum(dict(status.get("rejected", {})).values())
        self.findings = Counter(f["kind"] for f in venue.findings())
        self.deaths: list[Death] = run.supervisor.deaths
        self.injected = run.nemesis.injected
        self.asked = run.campaign.asked()
        self.kills_seen = run.supervisor.kills  # planned deaths the supervisor reaped

    @property
    def headcount_exact(self) -> bool:
        return self.hub_inside == self.accounting.truth_inside

    @property
    def kills_accounted(self) -> bool:
        """Every kill the nemesis made was reaped as a planned death, and no other."""
        return self.kills_seen == self.kills_made

    @property
    def kills_made(self) -> int:
        return self.injected["gate_kill"] + self.injected["hub_kill"]

    @property
    def passed(self) -> bool:
        a = self.accounting
        return (
            self.settled
            and not (a.lost or a.duplicated or a.unexpected or self.violations or self.deaths)
            and not self.double_entries
            and not (a.mismatched or a.failed)
            and self.planned.passed
            and self.kills_accounted
            and self.headcount_exact
            and all(self.injected[f] >= n for f, n in self.asked.items() if f not in self.skipped)
        )

    @property
    def skipped(self) -> dict[str, str]:
        return self.run.nemesis.skipped

    def table(self) -> list[str]:
        a = self.accounting
        lines = ["", "fault                      asked  injected"]
        for fault in FAULTS:
            why = f"  (not here: {self.skipped[fault]})" if fault in self.skipped else ""
            label = fault.replace("_", " ")
            lines.append(f"{label:<25} {self.asked[fault]:>6} {self.injected[fault]:>9}{why}")
        rows = [
            ("scans sent", a.attempted, ""),
            ("acknowledged (answered with a seq)", a.acknowledged, ""),
            ("  lost", len(a.lost), "must be 0"),
            ("  duplicated", len(a.duplicated), "must be 0"),
            ("unexpected", len(a.unexpected), "must be 0"),
            ("matched to another request's entry", len(a.mismatched), "must be 0"),
            ("no answer (gate killed mid-scan)", a.indeterminate, ""),
            ("  recovered (journalled, at the hub)", a.recovered, ""),
            ("  not applied (died before the commit)", a.not_applied, ""),
            ("not sent (gate down)", a.unavailable, ""),
            ("refused with a reason from the list", a.refused, ""),
            *((f"  {reason}", n, "") for reason, n in sorted(a.refusals.items())),
            ("failed (internal error, off the list)", len(a.failed), "must be 0"),
            ("gate journal entries at the hub", f"{a.at_hub}/{a.journalled}", "all"),
            ("headcount: hub / ground truth", f"{self.hub_inside}/{a.truth_inside}", "equal"),
            ("child-safety violations", len(self.violations), "must be 0"),
            (
                "double entries at the hub (a band let in while inside)",
                len(self.double_entries),
                "must be 0",
            ),
            ("  moves written on the band (journalled with its counter)", self.recorded_moves, ""),
            ("  band records made again after a lost answer", self.run.bands.recovered, ""),
            ("daemons died unkilled", len(self.deaths), "must be 0"),
            ("kills made / reaped as planned", f"{self.kills_made}/{self.kills_seen}", "equal"),
            ("unexpected codes", len(self.planned.unexpected), "must be 0"),
            ("families off plan", len(self.planned.off_plan), "must be 0"),
            (
                "families done / exactly as planned",
                f"{self.planned.finished}/{self.planned.as_planned}",
                "",
            ),
            ("hub payload rejections", self.hub_rejected, ""),
            ("settled after healing", "yes" if self.settled else "NO", "yes"),
        ]
        lines += ["", f"{'events':<40} {'count':>12}  target"]
        lines += [f"{label:<40} {value!s:>12}  {target}" for label, value, target in rows]
        lines.append("decisions: " + ", ".join(f"{c} {n}" for c, n in a.codes.most_common()))
        lines += self.planned.lines()
        lines.append(
            "hub findings: " + (", ".join(f"{k} {n}" for k, n in self.findings.items()) or "none")
        )
        for what, items in (
            ("lost", a.lost),
            ("duplicated", a.duplicated),
            ("unexpected", a.unexpected),
            ("child safety", self.violations),
            ("double entry", self.double_entries),
            ("mismatched", a.mismatched),
            ("failed", a.failed),
        ):
            lines += [f"  {what}: {item}" for item in items[:10]]
        for death in self.deaths[:5]:
            lines.append(f"  {death}")
        lines.append(f"result: {'PASS' if self.passed else 'FAIL'}")
        return lines

    def summary(self) -> dict[str, Any]:
        a = self.accounting
        return {
            "bench": "chaos",
            "injected": dict(self.injected),
            "sent": a.attempted,
            "acknowledged": a.acknowledged,
            "lost": len(a.lost),
            "duplicated": len(a.duplicated),
            "unexpected": len(a.unexpected),
            "recovered": a.recovered,
            "mismatched": len(a.mismatched),
            "refused": dict(a.refusals),
            "failed": len(a.failed),
            "unexpected_codes": len(self.planned.unexpected),
            "explained_codes": sum(self.planned.explained.values()),
            "off_plan": len(self.planned.off_plan),
            "planned": dict(self.planned.planned),
            "happened": dict(self.planned.happened),
            "families_done": self.planned.finished,
            "families_as_planned": self.planned.as_planned,
            "kills": self.kills_seen,
            "headcount_hub": self.hub_inside,
            "headcount_truth": a.truth_inside,
            "child_safety_violations": len(self.violations),
            # bands let in while inside, counted in the hub's store in its order
            # (bench.chaos.double_entries); the hub's own findings of them beside it. The
            # visitors carry their bands' memory (bench.chaos.bands): each gate reads the
            # band's passage record and writes it on a grant
            "double_entries": len(self.double_entries),
            "double_entries_flagged": self.findings.get("double_entry", 0),
            "moves_with_band_record": self.recorded_moves,
            "band_records_made_again": self.run.bands.recovered,
            "deaths": len(self.deaths),
            "passed": self.passed,
        }


def _interrupted(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
