"""The `hub` command: run the hub, import tickets, ask it how the venue stands.

`report daily`, `sweep`, `lookup` and `findings` read the hub's state directory directly (the
event store and the allowlist snapshot, read only), so they answer whether `hub run` is running
or not: SQLite's WAL lets them read while the hub writes. (`findings` asks the running hub
first: its fold is the live one.)

What they print is for a person (`hub.views.console`): lined-up columns, times on the venue's
clock, in the language of `--lang` or else of the shell's locale (`LC_ALL`, `LC_MESSAGES`,
`LANG`). `--json`, before or after the command, prints the data itself, its keys in English.
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import date
from pathlib import Path
from typing import Any

from gate.config import ConfigError, load_policy
from gate.i18n import N_
from gate.i18n.terminal import output_options, reader_gone, terminal_words
from hub.cli import deskday
from hub.cli.incidents import add_commands
from hub.cli.report import report_command
from hub.cli.revocations import add_commands as add_revocations
from hub.cli.state import config_of, open_venue, print_json, venue_zone

EXIT_OK, EXIT_NO, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
EXIT_CONFIG = 78  # sysexits.h EX_CONFIG: `hub run` cannot start; systemd does not restart it
DEFAULT_CONFIG = Path("/etc/wristgate/hub.toml")


def _run(args: argparse.Namespace) -> int:
    from gate.control.logs import configure_logging, say

    configure_logging(args.log_level)  # syslog priorities when journald reads standard error
    from hub.service.check import start_problems
    from hub.service.hub import Hub
    from hub.store.schema import StoreError

    try:
        config = config_of(args)
    except ConfigError as exc:  # one line per problem
        say("\n".join(f"hub run: {problem}" for problem in str(exc).split("\n")))
        return EXIT_CONFIG
    problems = start_problems(config, args.config)
    if problems:
        say("\n".join(f"hub run: {problem}" for problem in problems))
        return EXIT_CONFIG
    try:
        hub = Hub(config)
    except (ConfigError, ValueError, OSError, StoreError) as exc:
        say(f"hub run: cannot start: {exc}")
        return EXIT_CONFIG
    signal.signal(signal.SIGTERM, lambda *_: hub.stop())
    signal.signal(signal.SIGINT, lambda *_: hub.stop())
    return hub.run()


def _check(args: argparse.Namespace) -> int:
    from gate.control.machine import run_check
    from hub.service.check import check_hub

    return run_check("hub check", check_hub, args.config, args.user, args.root)


def _ask(args: argparse.Namespace, request: dict[str, Any]) -> dict[str, Any] | None:
    """The running hub's answer, or None when no hub runs on this machine."""
    from gate.control.client import Unreachable, ask

    try:
        return ask(str(config_of(args).hub.control_socket), request)
    except Unreachable:
        return None


MAX_IMPORT_BYTES = 8 << 20  # of CSV text sent at once (the hub takes up to 16 MiB of JSON)


def _import(args: argparse.Namespace) -> int:
    """Through the running hub (it publishes the change to the gates), else into its store.

    The files are read here, with the operator's own rights, and their text is sent: the hub,
    which runs as the service user, opens no path an operator names (nor shows a line of one).
    """
    from gate.store.allowlist import AllowlistError, read_csv_dir, read_csv_file

    path = args.path
    try:
        if path.is_dir():
            files = read_csv_dir(path, limit=MAX_IMPORT_BYTES)
            request = {
                "cmd": "import",
                "directory": {"source": str(path.resolve()), "files": files},
            }
        else:
            text = read_csv_file(path, limit=MAX_IMPORT_BYTES)
            request = {"cmd": "import", "tickets": {"name": path.name, "text": text}}
    except AllowlistError as exc:
        print(f"hub import: {exc}", file=sys.stderr)
        return EXIT_NO
    answer = _ask(args, request)
    if answer is None:
        answer = _import_offline(args, request)
    if not answer.get("ok"):
        print(f"hub import: {answer.get('error')}", file=sys.stderr)
        return EXIT_NO
    for row in answer.get("rows_skipped", []):
        print(f"{row}: row skipped", file=sys.stderr)
    if args.json:
        print_json(answer)
    else:
        from hub.views.console.family import show_import

        _ = terminal_words(args.lang)
        shown = {**answer, "note": _(answer["note"])} if answer.get("note") else answer
        print("\n".join(show_import(shown, _)))
    return EXIT_NO if answer.get("rows_skipped") else EXIT_OK


def _import_offline(args: argparse.Namespace, request: dict[str, Any]) -> dict[str, Any]:
    """No hub runs: the same texts go straight into its store (the operator's own rights)."""
    from gate.store.allowlist import AllowlistError
    from hub.ingest.allowlist import HubAllowlist
    from hub.service.control import import_summary

    try:
        hub = config_of(args).hub
        sessions = load_policy(hub.policy).sessions
        with HubAllowlist(hub.state_dir / "allowlist", sessions) as allowlist:
            if "tickets" in request:
                one = request["tickets"]
                result = allowlist.import_tickets_text(one["name"], one["text"])
            else:
                where = request["directory"]
                result = allowlist.import_texts(where["files"], where["source"])
    except (AllowlistError, ConfigError, OSError) as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, **import_summary(result), "note": STORED_ONLY}


STORED_ONLY = N_("hub not running: stored only")


def _status(args: argparse.Namespace) -> int:
    _ = terminal_words(args.lang)
    answer = _ask(args, {"cmd": "status"})
    if answer is None:
        print("hub: " + _("not running (no control socket)"), file=sys.stderr)
        return EXIT_UNREACHABLE
    if args.json:
        print_json(answer)
    elif answer.get("ok"):
        from hub.views.console.status import show_status

        print("\n".join(show_status(answer, _, venue_zone(args))))
    else:
        print(f"hub status: {answer.get('error')}", file=sys.stderr)
    if answer.get("ok") and not answer.get("connected"):
        why = (answer.get("broker") or {}).get("last_down") or _("not connected yet")
        print("hub: " + _("not connected to the broker: {why}", why=why), file=sys.stderr)
        return EXIT_NO  # running, but it hears no gate: the figures are not live
    return EXIT_OK if answer.get("ok") else EXIT_NO


def _findings(args: argparse.Namespace) -> int:
    """The running hub's findings, else the store's (the same fold, done here)."""
    _ = terminal_words(args.lang)
    answer = _ask(args, {"cmd": "findings"})
    if answer is None:
        with open_venue(args) as v:
            answer = {"ok": True, "findings": [f.as_dict() for f in v.venue.findings()]}
        print("hub: " + _("not running: findings read from its store"), file=sys.stderr)
    if not answer.get("ok"):
        print(f"hub findings: {answer.get('error')}", file=sys.stderr)
        return EXIT_NO
    if args.json:
        print_json(answer)
    else:
        from hub.views.console.findings import show_findings

        print("\n".join(show_findings(answer["findings"], _, venue_zone(args))))
    return EXIT_OK


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _sweep(args: argparse.Namespace) -> int:
    from datetime import datetime

    from gate.core import headcount
    from hub.views.closing import closing_alert, closings
    from hub.views.sweep import closing_sweep, unaccompanied_groups

    _ = terminal_words(args.lang)
    with open_venue(args) as v, v.venue.reading() as state:
        rows = closing_sweep(state, staff=args.staff)
        flagged = unaccompanied_groups(state, v.policy.tz)
        count = headcount(state)
        found = closings(v.policy, state, datetime.now(v.policy.tz))
    tz = v.policy.tz
    answer = {
        "closing": [c.as_dict() | closing_alert(c, _) for c in found],
        "headcount": count.as_dict(),
        "children": [row.as_dict(tz) for row in rows],
        "unaccompanied_groups": flagged,
    }
    if args.json:
        print_json(answer)
    else:
        from hub.views.console.family import show_sweep

        print("\n".join(show_sweep(answer, _, tz)))
    return EXIT_OK


def _lookup(args: argparse.Namespace) -> int:
    from hub.views.sweep import lookup

    with open_venue(args) as v, v.venue.reading() as state:
        found = lookup(state, args.value, staff=args.staff, tz=v.policy.tz)
    if found is None:
        print(f"hub lookup: {args.value}: no bound band or known ticket", file=sys.stderr)
        return EXIT_NO
    if args.json:
        print_json(found)
    else:
        from hub.views.console.family import show_lookup

        print("\n".join(show_lookup(found, terminal_words(args.lang), v.policy.tz)))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="wristgate hub")
    parser.add_argument("-c", "--config", type=Path, default=DEFAULT_CONFIG, metavar="hub.toml")
    output_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run",
        help="run the hub",
        description="Exit status 78 (EX_CONFIG): hub.toml, the policy, a token or password file, "
        "the store or the HTTP port cannot be used; 2: a usage error. systemd restarts it for "
        "neither (RestartPreventExitStatus=2 78).",
    )
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(run=_run)
    check = commands.add_parser(
        "check",
        help="check a hub.toml and what it names, without starting anything",
        description="Lists every problem `hub run` would meet (fields, the policy, files the "
        "service user must read, directories, the HTTP port), each with the file, the field "
        "and the fix. Exit status: 0 none, 2 problems found. Run it before a restart.",
    )
    check.add_argument("-c", "--config", type=Path, default=argparse.SUPPRESS, metavar="hub.toml")
    check.add_argument("--user", help="the service's user (default: wristgate if it exists)")
    check.add_argument("--root", type=Path, metavar="DIR", help="an image: paths read under DIR")
    check.set_defaults(run=_check)
    for name in ("import-tickets", "import"):
        imp = commands.add_parser(
            name, help="import a tickets CSV (add or replace) or a whole allowlist directory"
        )
        imp.add_argument("path", type=Path, metavar="FILE.csv|DIR")
        output_options(imp, top=False)
        imp.set_defaults(run=_import)
    status = commands.add_parser("status", help="the broker link, the headcount, each gate")
    output_options(status, top=False)
    status.set_defaults(run=_status)
    findings = commands.add_parser(
        "findings", help="what the reconciliation found (from the store when the hub is stopped)"
    )
    output_options(findings, top=False)
    findings.set_defaults(run=_findings)

    report = commands.add_parser("report", help="reports from the hub's store")
    reports = report.add_subparsers(dest="report", required=True)
    daily = reports.add_parser(
        "daily",
        help="the day's headcount, wristbands and incidents (tables on screen by default)",
    )
    daily.add_argument("--date", type=_day, metavar="YYYY-MM-DD", help="default: today")
    daily.add_argument("--xlsx", metavar="FILE", help="write a workbook here, a sheet per table")
    daily.add_argument("--csv-dir", type=Path, metavar="DIR", help="write a CSV per table here")
    daily.add_argument("--html", metavar="FILE", help="write a printable HTML page here")
    daily.add_argument(
        "--csv", metavar="FILE", help="every table stacked in one CSV, for scripts (- for stdout)"
    )
    daily.add_argument("--staff", action="store_true", help="show guardian phone numbers")
    output_options(daily, top=False)
    daily.set_defaults(run=report_command)

    sweep = commands.add_parser("sweep", help="the closing sweep: every child still inside")
    sweep.add_argument("--staff", action="store_true", help="show guardian phone numbers")
    output_options(sweep, top=False)
    sweep.set_defaults(run=_sweep)

    find = commands.add_parser("lookup", help="a family by any of its bands or its ticket")
    find.add_argument("value", metavar="UID|TICKET")
    find.add_argument("--staff", action="store_true", help="show the guardian phone number")
    output_options(find, top=False)
    find.set_defaults(run=_lookup)
    add_commands(commands, _day)  # hub incidents, hub drill (hub/cli/incidents.py)
    add_revocations(commands)  # hub revoke, hub restore (hub/cli/revocations.py)
    deskday.add_commands(commands, _day)  # hub incident, hub stock (hub/cli/deskday.py)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `hub findings | head`
        reader_gone()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
