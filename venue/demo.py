"""`python -m venue`: a whole simulated venue on this machine, for a compressed day.

    python -m venue [--families N] [--outage-s S] [--speed X] [--seed N]
                       [--workdir DIR] [--http-port PORT] [--keep-open]

Exit status: 0 the hub's headcount equals the ground truth at every checkpoint, no journal
entry was lost or stored twice, every answer was the code the simulator expected, the hub holds
the moves and flags the plan called for, and no daemon died; 1 otherwise; 2 the venue could not
run (the message says where its logs are); 130 interrupted (Ctrl-C) during the day, everything
stopped. With --keep-open the venue stays up after the day until Ctrl-C or SIGTERM, then the
day's status.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from venue.configs import GATES
from venue.daemon import DemoError
from venue.day import Simulation, real_elapsed
from venue.faults import describe_status
from venue.hands import Stopped
from venue.keep_open import stay_open
from venue.plan import CLOSES, OPENS, OUTAGE_AT, Plan, hhmm, local_timezone, make_plan
from venue.processes import Venue, http_port, say
from venue.summary import Report, journal_rows, judge_demo, store_bodies, store_rows

DEFAULT_FAMILIES = 120
DEFAULT_OUTAGE_S = 20.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m venue",
        description=(
            "A simulated children's city on this machine: Mosquitto, the hub and six gates "
            "(real processes, emulated readers, mock pins), and families moving through a "
            "compressed day, with a broker outage in the middle. Ends by setting the hub's "
            "headcount beside the simulator's ground truth."
        ),
    )
    parser.add_argument(
        "--families", type=_at_least(5), default=DEFAULT_FAMILIES, metavar="N",
        help=f"families in the day (default {DEFAULT_FAMILIES}; at least 5)",
    )  # fmt: skip
    parser.add_argument(
        "--outage-s", type=float, default=DEFAULT_OUTAGE_S, metavar="S",
        help=f"real seconds the broker is down from venue time {hhmm(OUTAGE_AT)} "
        f"(default {DEFAULT_OUTAGE_S:g}; 0: no outage)",
    )  # fmt: skip
    parser.add_argument(
        "--speed", type=float, default=1.0, metavar="X",
        help="how fast the day runs: 1 (default) brings families about as fast as the one "
        "desk binds them; 2 twice as fast (a queue at the desk); 0.5 half as fast",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=7, help="the families drawn (default 7)")
    parser.add_argument(
        "--workdir", type=Path, default=Path("var/demo"), metavar="DIR",
        help="configuration, state and logs of the run (default var/demo; emptied first)",
    )  # fmt: skip
    parser.add_argument(
        "--http-port", type=int, default=8080, metavar="PORT",
        help="the hub's display and API (default 8080, or a free port if taken; 0: a free port)",
    )  # fmt: skip
    parser.add_argument(
        "--keep-open", action="store_true",
        help="after the day, keep the venue running and print the commands to try against it "
        "(gatectl, hub, the display) until Ctrl-C",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.speed <= 0:
        parser.error("--speed must be above 0")
    if args.outage_s < 0:
        parser.error("--outage-s must be 0 or more")
    return args


def _at_least(low: int) -> type[int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"at least {low}")
        return value

    return parse  # type: ignore[return-value]


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.venue: Venue | None = None
        self.started = time.monotonic()
        self.interrupted_after_day = False

    def run(self) -> int:
        args = self.args
        timezone = local_timezone()
        today = datetime.now(ZoneInfo(timezone)).date()
        plan = make_plan(args.families, args.seed, today, timezone)
        root = args.workdir.resolve()
        self.venue = venue = Venue(root, plan, http_port(args.http_port), say)
        self._introduce(plan, root)
        venue.start()
        self._banner(venue)
        sim = Simulation(venue, plan, args.outage_s, args.speed, say)
        try:
            sim.run()
        except Stopped:
            raise DemoError("the day stopped early") from None
        events_db = root / "hub" / "state" / "events.db"
        stored = store_rows(events_db)
        judgement = judge_demo(plan, sim, store_bodies(events_db))
        deaths = [  # nothing kills a daemon in the demo: any death is unplanned
            f"{d.name} {describe_status(d.proc.returncode if d.proc else None)}:\n{d.tail(30)}"
            for d in venue.daemons().values()
            if not d.running
        ]
        journals = journal_rows(venue.journals(), stored) if not deaths else []
        report = Report(plan, sim, journals, venue.findings(), judgement, deaths)
        for line in report.lines():
            say(line)
        minutes, seconds = divmod(int(time.monotonic() - self.started), 60)
        say(f"(the run took {minutes} min {seconds:02d} s of real time; logs and state in {root})")
        status = 0 if report.ok else 1
        if self.args.keep_open:
            try:
                stay_open(venue, say)
            except KeyboardInterrupt:
                say(f"\n{real_elapsed(time.monotonic() - self.started)}: stopping the gates, "
                    "the hub and the broker ...")  # fmt: skip
        return status

    def _introduce(self, plan: Plan, root: Path) -> None:
        outage = (
            f"at venue time {hhmm(OUTAGE_AT)} the broker goes down for "
            f"{self.args.outage_s:g} s of real time"
            if self.args.outage_s
            else "no broker outage"
        )
        say(
            f"wristgate demo: a day at a simulated children's city, {plan.day} ({plan.timezone})\n"
            f"  {len(plan.families)} families, {plan.people} people (seed {self.args.seed}); "
            f"{outage}\n"
            f"  gates: {'; '.join(f'{g.id} {g.what}' for g in GATES)}\n"
            f"  work directory: {root}"
        )

    def _banner(self, venue: Venue) -> None:
        rule = "=" * 72
        say(
            f"{rule}\n"
            f"  The venue is open. Live display:   {venue.display_url}\n"
            f"  (headcount JSON: {venue.display_url}api/headcount)\n"
            f"{rule}\n"
            f"Two clocks: the venue's clock runs the day from {hhmm(OPENS)} to {hhmm(CLOSES)} in a "
            "few minutes (lines say 'venue 12:30');\nthe gates, the hub and the display keep real "
            "time (the progress lines say 'real 2:05': real time since the start).\n"
            "A progress line every few seconds: families, people inside by the ground truth "
            "(and by the hub), the broker, the desk's queue."
        )

    def where_logs_are(self) -> None:
        if self.venue is not None and self.venue.broker is not None:
            say(f"the logs are in {self.venue.root} (hub/hub.log, D1/gate.log, ...)")

    def close(self) -> bool:
        """Stop gates, hub and broker, whatever happened; a second Ctrl-C cannot cut it short.
        True if anything had been started."""
        if self.venue is None or self.venue.broker is None:
            return False
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self.venue.stop()
        finally:
            signal.signal(signal.SIGINT, previous)
        return True


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stopped by a service manager: as Ctrl-C
    # Ctrl-C stops the day even if it started with SIGINT ignored (a script's background job
    # inherits that, and Python then leaves it ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    demo = Demo(args)
    try:
        return demo.run()
    except KeyboardInterrupt:
        say("\ninterrupted: stopping the gates, the hub and the broker ...")
        return 130
    except (DemoError, OSError, ValueError) as exc:
        say(f"demo: {exc}")
        demo.where_logs_are()
        return 2
    except Exception:
        traceback.print_exc()
        say("demo: unexpected error")
        demo.where_logs_are()
        return 2
    finally:
        if demo.close():
            say("stopped: gates, hub and broker")


if __name__ == "__main__":
    sys.exit(main())
