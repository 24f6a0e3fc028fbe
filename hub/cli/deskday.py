"""`hub incident open lost-child --band UID [--note TEXT]` (or `separated-family`, or
`--group TICKET`), `hub incident close ID --found` (or `--cancelled`), `hub incident list`;
`hub stock issue --desk D1 --count N [--shift S]`, `hub stock return --desk D1 --count N`,
`hub stock write-off --desk D1 --count N --reason R`, and `hub stock` (each desk's balance by
shift, today or `--date`). One band handed back after a temporary exit is taken back at the desk
(`gatectl stock return --band UID`, the console), where a staff badge authorises it and every
gate hears it: `--band` here is refused, saying so.

Through the running hub's control socket, so the display shows an incident at once; when no hub
runs, straight into its store (the operator's own rights), said on standard error. The balance
is read from the store, whether the hub runs or not (`hub report daily` counts the same).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from gate.i18n.terminal import output_options, terminal_words
from hub.cli.state import config_of, open_venue, print_json, venue_zone

EXIT_OK, EXIT_NO = 0, 1


def _ask(args: argparse.Namespace, command: str, request: dict[str, Any]) -> dict[str, Any]:
    """The running hub's answer; else the same request answered from its store."""
    from gate.control.client import Unreachable, ask

    try:
        return dict(ask(str(config_of(args).hub.control_socket), {"cmd": command, **request}))
    except Unreachable:
        pass
    import getpass
    import os

    from hub.service.desk_records import DeskRecords

    _ = terminal_words(args.lang)
    print("hub: " + _("not running: recorded in its store"), file=sys.stderr)
    with open_venue(args) as v:
        path = config_of(args).hub.state_dir / "events.db"
        records = DeskRecords(path, v.venue, v.policy.tz, config_of(args).gates)
        try:
            by = f"{getpass.getuser()} (uid {os.getuid()})"
            record = records.incident if command == "incident" else records.stock
            return {"ok": True, **record(request, by)}
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}
        finally:
            records.close()


def incident_command(args: argparse.Namespace) -> int:
    _ = terminal_words(args.lang)
    request: dict[str, Any] = {"action": args.action}
    if args.action == "open":
        request |= {"kind": args.kind, "note": args.note}
        request |= {"band": args.band} if args.band is not None else {"group": args.group}
    elif args.action == "close":
        request |= {"id": args.id, "outcome": args.outcome, "note": args.note}
    answer = _ask(args, "incident", {k: v for k, v in request.items() if v is not None})
    if not answer.get("ok"):
        print(f"hub incident {args.action}: {answer.get('error')}", file=sys.stderr)
        return EXIT_NO
    if args.json:
        print_json({k: v for k, v in answer.items() if k != "ok"})
        return EXIT_OK
    from hub.views.console.deskday import show_incident, show_open_incidents

    tz = venue_zone(args)
    if args.action == "list":
        print("\n".join(show_open_incidents(answer["incidents"], _, tz)))
    else:
        print("\n".join(show_incident(answer["incident"], _, tz)))
    return EXIT_OK


def stock_command(args: argparse.Namespace) -> int:
    _ = terminal_words(args.lang)
    action = getattr(args, "action", None)
    said: list[str] = []
    record = None
    if action is not None:
        request = {
            "action": action,
            "desk": args.desk,
            "count": args.count,
            "shift": args.shift,
            "band": getattr(args, "band", None),
            "reason": getattr(args, "reason", None),
        }
        answer = _ask(args, "stock", {k: v for k, v in request.items() if v is not None})
        if not answer.get("ok"):
            print(f"hub stock {action.replace('_', '-')}: {answer.get('error')}", file=sys.stderr)
            return EXIT_NO
        record = answer["record"]
        from hub.views.console.deskday import show_record

        said.append(show_record(record, _))
    balance = _balance(args)
    if args.json:
        print_json({"record": record, **balance} if record else balance)
        return EXIT_OK
    from hub.views.console.deskday import show_stock

    print("\n".join(said + show_stock(balance, _, venue_zone(args))))
    return EXIT_OK


def _balance(args: argparse.Namespace) -> dict[str, Any]:
    from hub.views.reports.daily import daily_report

    with open_venue(args) as v:
        day = getattr(args, "date", None) or datetime.now(v.policy.tz).date()
        report = daily_report(v.venue.store, day, v.policy.tz, allowlist=v.allowlist)
    bands = report.bands
    return {
        "day": day.isoformat(),
        "shifts": [b.as_dict() for b in bands.shifts],
        "handed_back": list(bands.handed_back),
    }


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r:.20}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{n}: a count of bands is 1 or more")
    return n


def add_commands(commands: Any, day: Any) -> None:
    """`hub incident` and `hub stock` on the `hub` command's parser."""
    incident = commands.add_parser(
        "incident", help="a lost child or separated family (家长与孩子走失): open, close, list"
    )
    actions = incident.add_subparsers(dest="action", required=True)
    opening = actions.add_parser(
        "open",
        help="open one: the wall display shows the family until it is closed",
        description="Name the family by any band of it (the child's or a parent's) or by its "
        "ticket. The display shows its group, members, last gate and time, and how long it is "
        "open; the daily report lists it.",
    )
    opening.add_argument("kind", choices=["lost-child", "separated-family"])
    who = opening.add_mutually_exclusive_group(required=True)
    who.add_argument("--band", metavar="UID")
    who.add_argument("--group", metavar="TICKET")
    opening.add_argument("--note", metavar="TEXT", help="what staff should know (200 characters)")
    closing = actions.add_parser("close", help="close one when the family is together again")
    closing.add_argument("id", type=int, metavar="ID")
    outcome = closing.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--found", dest="outcome", action="store_const", const="found")
    outcome.add_argument(
        "--cancelled",
        dest="outcome",
        action="store_const",
        const="cancelled",
        help="opened by mistake",
    )
    closing.add_argument("--note", metavar="TEXT")
    listing = actions.add_parser("list", help="the incidents open now")
    for parser in (opening, closing, listing):
        output_options(parser, top=False)
        parser.set_defaults(run=incident_command)

    stock = commands.add_parser(
        "stock",
        help="wristband stock per desk and shift (《每日物资领用记录表》); alone: the balance",
        description="taken - issued + returned - written off = on hand, per desk and shift. "
        "Issued: the bands the desk bound (its journal). A shift starts with the desk's first "
        "record under its name; --shift defaults to the desk's last one (else 1).",
    )
    stock.add_argument("--date", type=day, metavar="YYYY-MM-DD", help="the balance of that day")
    output_options(stock, top=False)
    stock.set_defaults(run=stock_command)
    moves = stock.add_subparsers(dest="action")
    for name, action, what in (
        ("issue", "issue", "bands the store gives the desk"),
        ("return", "return", "bands the desk gives back to the store"),
        ("write-off", "write_off", "bands lost or damaged (报损)"),
    ):
        move = moves.add_parser(name, help=what)
        move.add_argument("--desk", required=True, metavar="GATE")
        move.add_argument("--shift", metavar="NAME")
        if name == "return":
            many = move.add_mutually_exclusive_group(required=True)
            many.add_argument("--count", type=_count, metavar="N")
            many.add_argument(
                "--band",
                metavar="UID",
                help="refused: a band handed back is taken back at the desk, with a staff badge",
            )
        else:
            move.add_argument("--count", type=_count, required=True, metavar="N")
        if name == "write-off":
            move.add_argument("--reason", required=True, metavar="TEXT")
        output_options(move, top=False)
        move.set_defaults(run=stock_command, action=action)
