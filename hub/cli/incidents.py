"""`hub incidents` (the faults by class, from the running hub or else its store) and `hub drill
start KIND --gate G [--for S]`, `hub drill end`, `hub drill status` (through the running hub: a
drill is played live).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime, timedelta
from typing import Any

from gate.i18n.terminal import output_options, terminal_words
from hub.cli.state import config_of, print_json, venue_zone

EXIT_OK, EXIT_NO, EXIT_UNREACHABLE = 0, 1, 3
END_WAIT_S = 300.0  # `hub drill end` waits this long at most for the record


def _ask(args: argparse.Namespace, request: dict[str, Any], timeout: float = 10) -> Any:
    from gate.control.client import Unreachable, ask

    try:
        return ask(str(config_of(args).hub.control_socket), request, timeout=timeout)
    except Unreachable:
        return None


def _day_window(args: argparse.Namespace) -> dict[str, int]:
    """The venue day `--date` (today by default) as milliseconds since the epoch."""
    tz = venue_zone(args)
    day: date = args.date or datetime.now(tz).date()
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    end = start + timedelta(days=1)
    return {"from_ms": int(start.timestamp() * 1000), "to_ms": int(end.timestamp() * 1000)}


def incidents_command(args: argparse.Namespace) -> int:
    _ = terminal_words(args.lang)
    window = _day_window(args)
    answer = _ask(args, {"cmd": "incidents", **window})
    if answer is None:
        from hub.service.faults import incidents_answer
        from hub.store.incidents import IncidentLog
        from hub.store.schema import StoreError

        path = config_of(args).hub.state_dir / "events.db"
        if not path.is_file():
            print(f"hub incidents: {path}: no event store here (hub.state_dir)", file=sys.stderr)
            return EXIT_NO
        try:
            with IncidentLog(path) as log:
                answer = {"ok": True, **incidents_answer(log, window)}
        except StoreError as exc:
            print(f"hub incidents: {exc}", file=sys.stderr)
            return EXIT_NO
        print("hub: " + _("not running: incidents read from its store"), file=sys.stderr)
    if not answer.get("ok"):
        print(f"hub incidents: {answer.get('error')}", file=sys.stderr)
        return EXIT_NO
    if args.json:
        print_json({k: v for k, v in answer.items() if k != "ok"})
    else:
        from hub.views.console.incidents import show_incidents

        print("\n".join(show_incidents(answer, _, venue_zone(args))))
    return EXIT_OK


def drill_command(args: argparse.Namespace) -> int:
    _ = terminal_words(args.lang)
    request: dict[str, Any] = {"cmd": "drill", "action": args.action}
    if args.action == "start":
        request |= {"kind": args.kind, "gate": args.gate, "for_s": args.for_s}
    answer = _ask(args, request)
    if answer is None:
        print("hub: " + _("not running (no control socket)"), file=sys.stderr)
        return EXIT_UNREACHABLE
    if not answer.get("ok"):
        print(f"hub drill {args.action}: {answer.get('error')}", file=sys.stderr)
        return EXIT_NO
    drill = answer.get("drill")
    if args.action == "end" and drill:
        answer = _wait_record(args, drill["id"], drill["until_ms"] / 1000)
        drill = answer.get("drill") if answer else drill
    if args.json:
        print_json({k: v for k, v in (answer or {}).items() if k != "ok"})
    elif drill is None:
        print(_("no drill is under way"))
    else:
        from hub.views.console.incidents import show_drill

        print("\n".join(show_drill(drill, _, venue_zone(args))))
    return EXIT_OK if drill is None or drill.get("record") or args.action != "end" else EXIT_NO


def _wait_record(args: argparse.Namespace, n: int, gate_end: float) -> Any:
    """The drill's answer once its record is written (the gate back, its backlog at the hub,
    the outage reconciled), or the last one when the wait is over."""
    deadline = max(time.time(), gate_end) + END_WAIT_S
    answer = None
    while time.time() < deadline:
        answer = _ask(args, {"cmd": "drill", "action": "status", "drill": n})
        if answer is None or (answer.get("drill") or {}).get("record"):
            return answer
        time.sleep(0.5)
    return answer


def add_commands(commands: Any, day: Any) -> None:
    """`hub incidents` and `hub drill` on the `hub` command's parser."""
    incidents = commands.add_parser(
        "incidents",
        help="outages and faults by class (network, broker, reader, scanner, disk, clock, power)",
    )
    incidents.add_argument("--date", type=day, metavar="YYYY-MM-DD", help="default: today")
    output_options(incidents, top=False)
    incidents.set_defaults(run=incidents_command)

    drill = commands.add_parser("drill", help="rehearse a fault on the live venue (定期演练)")
    actions = drill.add_subparsers(dest="action", required=True)
    start = actions.add_parser(
        "start",
        help="order a gate to play a fault",
        description="broker-cut: the gate drops its broker link for --for seconds, then comes "
        "back by itself; reader-removed: the gate treats its reader as removed until `hub drill "
        "end`. Everything the drill causes is marked as the drill.",
    )
    start.add_argument("kind", choices=["broker-cut", "reader-removed"])
    start.add_argument("--gate", required=True, metavar="GATE")
    start.add_argument(
        "--for", dest="for_s", type=int, default=60, metavar="SECONDS", help="default 60"
    )
    end = actions.add_parser(
        "end", help="end the drill and print its record (waits for the gate and its backlog)"
    )
    status = actions.add_parser("status", help="the drill under way")
    for parser in (start, end, status):
        output_options(parser, top=False)
        parser.set_defaults(run=drill_command)
