"""`python -m venue.chain`: a chain's head office next to simulated venues, on this machine.

    python -m venue.chain [--venues N] [--families N] [--rate X] [--workdir DIR]
                          [--http-port PORT] [--exit-after-day]

A 3-node NATS cluster (JetStream, the MQTT gateway), `hq run`, and N venues (Mosquitto, the
hub and six gates each), every hub forwarding its entries and summaries to head office through
its broker's bridge. Prints the chain page's address and a token to open it with, then the
families of every venue move through a compressed day; at its end, each venue's entries at
head office beside its hub's, and head office's headcount beside the hub's. The chain then
stays up (the page live) until Ctrl-C, or ends with `--exit-after-day`.

Exit status: 0 every venue's entries are at head office exactly once and its headcount there is
the hub's; 1 otherwise; 2 the chain could not run (the message says where its logs are); 130
interrupted during the day.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import traceback
from pathlib import Path
from types import FrameType

from deploy.broker import BrokerError
from venue.chain.chain import Chain
from venue.daemon import DemoError
from venue.processes import clear_workdir, say

DAY_TIMEOUT_S = 900.0
PROGRESS_EVERY_S = 10.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m venue.chain", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--venues", type=int, default=3, metavar="N", help="venues (default 3)")
    parser.add_argument(
        "--families", type=int, default=40, metavar="N",
        help="families a venue (default 40; at least 5)",
    )  # fmt: skip
    parser.add_argument(
        "--rate", type=float, default=120.0, metavar="X",
        help="venue seconds per real second (default 120: the day in about 5 minutes)",
    )  # fmt: skip
    parser.add_argument(
        "--workdir", type=Path, default=Path("var/chain"), metavar="DIR",
        help="configuration, state and logs (default var/chain; emptied first)",
    )  # fmt: skip
    parser.add_argument(
        "--http-port", type=int, default=8090, metavar="PORT",
        help="head office's page (default 8090, or a free port if taken; 0: a free port)",
    )  # fmt: skip
    parser.add_argument(
        "--exit-after-day", action="store_true",
        help="stop once the day is over and judged, instead of staying up until Ctrl-C",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not 1 <= args.venues <= 9:
        parser.error("--venues: 1 to 9")
    if args.families < 5:
        parser.error("--families: at least 5")
    if args.rate <= 0:
        parser.error("--rate must be above 0")
    return args


def run(chain: Chain, exit_after_day: bool) -> int:
    chain.start()
    assert chain.office is not None
    rule = "=" * 72
    say(
        f"{rule}\n  The chain is open. Head office's page:  {chain.office.url}\n"
        f"  opened with the chain's token (in {chain.office.token_file}):\n"
        f'    xdg-open "{chain.office.url}#token=$(cat {chain.office.token_file})"\n'
        f"  API: {chain.office.url}api/venues  (header Authorization: Bearer TOKEN)\n"
        + "".join(
            f"  {vid}'s own display:  {m.venue.display_url}\n" for vid, m in chain.members.items()
        )
        + rule
    )
    chain.open()
    chain.wait_day(DAY_TIMEOUT_S, PROGRESS_EVERY_S)
    say("the day is over in every venue: waiting until head office holds every entry ...")
    settled = chain.settle()
    verdicts = chain.judge()
    for verdict in verdicts:
        say(verdict.line())
    ok = settled and all(v.passed for v in verdicts)
    say(
        f"result: {'PASS' if ok else 'FAIL'}"
        + ("" if settled else " (head office never caught up)")
    )
    status = 0 if ok else 1
    if not exit_after_day:
        say(f"the chain stays up: {chain.office.url}  (Ctrl-C stops it)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            say("\nstopping the venues, head office and the cluster ...")
    return status


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    root = args.workdir.resolve()
    chain = Chain(root, args.venues, args.families, args.rate, say=say, http_port=args.http_port)
    try:
        clear_workdir(root)
        return run(chain, args.exit_after_day)
    except KeyboardInterrupt:
        say("\nstopping the venues, head office and the cluster ...")
        return 130
    except (DemoError, BrokerError, OSError, ValueError) as exc:
        say(f"chain: {exc}\n(logs and state in {root})")
        return 2
    except Exception:
        traceback.print_exc()
        say(f"chain: unexpected error (logs and state in {root})")
        return 2
    finally:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            chain.stop()
        finally:
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
