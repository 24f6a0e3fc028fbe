"""`gatectl`: a technician's questions to a running gate, over its local control socket.

Exit status: 0 done (a scan granted, a check passed), 1 the answer is "no" (a scan denied, a
selftest or diag problem, a command the gate refused), 2 usage, 3 the gate cannot be reached.

What it prints is for a person (`gate.tools.show`, `gate.tools.show_scans`): lined-up columns,
times on the venue's clock, in the language of `--lang` or else of the shell's locale
(`LC_ALL`, `LC_MESSAGES`, `LANG`: `zh_CN.UTF-8` is Chinese). `--json`, before or after the
command, prints the gate's answer itself, its keys in English, for scripts.

`allowlist --import DIR` reads the CSV files itself, with the technician's own rights, and sends
their text: the gate never opens a path it is named.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from gate.control.client import Unreachable, ask
from gate.i18n import Words
from gate.i18n.terminal import output_options, reader_gone, terminal_words
from gate.tools.show import Show, show_diag, show_selftest, show_status, zone_of
from gate.tools.show_guardians import show_with_pickup
from gate.tools.show_scans import show_allowlist, show_journal, show_mode, show_scan

DEFAULT_SOCKET = "/run/wristgate/gate.sock"
EXIT_OK, EXIT_NO, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


# --- commands ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gatectl", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-s",
        "--socket",
        default=os.environ.get("WRISTGATE_SOCKET", DEFAULT_SOCKET),
        help=f"control socket (default $WRISTGATE_SOCKET or {DEFAULT_SOCKET})",
    )
    output_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text)
        output_options(sub, top=False)
        return sub

    command("status", "who the gate is, headcount, journal, reader, scanner")
    scan = command("scan", "a technician's test scan through the same path as a real read")
    which = scan.add_mutually_exclusive_group(required=True)
    which.add_argument("--nfc", metavar="UID")
    which.add_argument("--barcode", metavar="CODE")
    scan.add_argument("--intent", choices=["final", "temporary"], default="final")
    scan.add_argument(
        "--dry-run",
        action="store_true",
        help="decide only: nothing journalled, no light, the relay does not move",
    )
    command("selftest", "cycle indicators, buzzer and relay; read the inputs")
    journal = command("journal", "the journal's last entries, or all of it")
    journal.add_argument("--tail", type=int, default=20, metavar="N")
    journal.add_argument("--export", metavar="FILE", help="every entry as JSON lines (- stdout)")
    allow = command("allowlist", "version and counts; look up; import CSVs")
    allow.add_argument("--lookup", metavar="VALUE", help="a band UID, ticket code or badge")
    allow.add_argument("--import", dest="import_dir", metavar="DIR", help="a CSV directory")
    command("diag", "reader, scanner, GPIO, disk, clock, key file, broker")
    joined = command("join", "staff join two tickets into one family (at a desk)")
    joined.add_argument("tickets", nargs=2, metavar="TICKET")
    desk = command("desk", "a desk action by name, authorised by a staff badge tapped there")
    desk.add_argument(
        "action",
        help="join, replace, unbind, reissue, walkin, not_authorised, revoke, restore, "
        "incident_open, incident_close, stock, hand_back",
    )
    desk.add_argument(
        "args", nargs="*", metavar="KEY=VALUE", help="its arguments; a key given twice: a list"
    )
    replaced = command("replace", "staff replace a lost band: OLD revoked, NEW takes its member")
    replaced.add_argument("old", metavar="OLD")
    replaced.add_argument("new", metavar="NEW")
    command("unbind", "staff unbind a band bound by mistake").add_argument("uid", metavar="UID")
    command("reissue", "staff give back a band returned by mistake").add_argument(
        "uid", metavar="UID"
    )
    walkin = command("walkin", "register a walk-in child alone, with its guardian (at a desk)")
    walkin.add_argument("--guardian", required=True, metavar="NAME")
    walkin.add_argument("--phone", required=True, metavar="PHONE", help="11-digit mobile")
    barred = command("not-authorised", "who may not collect a group's children (at a desk)")
    barred.add_argument("group", metavar="GROUP", help="ticket code or walk-in group")
    barred.add_argument("names", nargs="*", metavar="NAME", help="none: clear the list")
    incident = command(
        "incident", "a lost child or separated family: open or close its incident (at a desk)"
    )
    incident.add_argument("what", choices=["open", "close"])
    incident.add_argument(
        "kind", nargs="?", choices=["lost-child", "separated-family"], default="lost-child"
    )
    family = incident.add_mutually_exclusive_group(required=True)
    family.add_argument("--band", metavar="UID", help="any band of the family")
    family.add_argument("--group", metavar="TICKET", help="the family's ticket")
    incident.add_argument("--note", metavar="TEXT", help="what the child wears, where last seen")
    incident.add_argument("--found", action="store_true", help="close: found (the default)")
    incident.add_argument("--cancelled", action="store_true", help="close: opened by mistake")
    stock = command("stock", "bands taken from the store, returned, written off (at a desk)")
    stock.add_argument("what", choices=["take", "return", "write-off"])
    counted = stock.add_mutually_exclusive_group(required=True)
    counted.add_argument("--count", metavar="N", help="how many bands")
    counted.add_argument(
        "--band", metavar="UID", help="return: one band handed back after a temporary exit"
    )
    stock.add_argument("--shift", metavar="LABEL", help="the desk's shift (default: its last)")
    stock.add_argument("--reason", metavar="TEXT", help="write-off: why (broken clasp, ...)")
    picked = command("pickup", "check a guardian's pickup code (at an exit gate)")
    picked.add_argument("code", metavar="CODE", help="the 6 digits on the guardian's receipt")
    mode = command("mode", "a handheld's mode")
    mode.add_argument("mode", choices=["bind", "check"])
    return parser


def request_for(args: argparse.Namespace) -> dict[str, Any]:
    match args.command:
        case "scan":
            kind, value = ("nfc", args.nfc) if args.nfc else ("barcode", args.barcode)
            scan = {"cmd": "scan", "kind": kind, "value": value, "intent": args.intent}
            return scan | ({"dry_run": True} if args.dry_run else {})
        case "journal":
            return {"cmd": "journal", "tail": args.tail}
        case "allowlist":
            request: dict[str, Any] = {"cmd": "allowlist"}
            if args.lookup:
                request["lookup"] = args.lookup
            if args.import_dir:
                request["import"] = import_request(Path(args.import_dir))
            return request
        case "mode":
            return {"cmd": "mode", "mode": args.mode}
        case "join":
            first, second = args.tickets  # a desk action: the staff badge tapped there first
            return {"cmd": "desk", "action": "join", "args": {"ticket": first, "other": second}}
        case "desk":
            return {"cmd": "desk", "action": args.action, "args": desk_args(args.args)}
        case "replace":
            return {"cmd": "replace", "old": args.old, "new": args.new}
        case "unbind" | "reissue":
            return {"cmd": args.command, "uid": args.uid}
        case "walkin":
            return {"cmd": "walkin", "guardian": args.guardian, "phone": args.phone}
        case "not-authorised":
            return {"cmd": "not_authorised", "group": args.group, "names": list(args.names)}
        case "pickup":
            return {"cmd": "pickup", "code": args.code}
        case "incident":
            return {"cmd": "desk", **incident_request(args)}
        case "stock":
            return {"cmd": "desk", **stock_request(args)}
    return {"cmd": args.command}


def incident_request(args: argparse.Namespace) -> dict[str, Any]:
    """`gatectl incident open|close ...` as the desk action it is (a staff badge tapped)."""
    family = {"band": args.band} if args.band else {"group": args.group}
    if args.what == "open":
        note = {"note": args.note} if args.note else {}
        return {"action": "incident_open", "args": {"kind": args.kind, **family, **note}}
    if args.found and args.cancelled:
        raise ValueError("an incident is closed --found or --cancelled, not both")
    outcome = "cancelled" if args.cancelled else "found"
    return {"action": "incident_close", "args": {**family, "outcome": outcome}}


def stock_request(args: argparse.Namespace) -> dict[str, Any]:
    """`gatectl stock take|return|write-off ...` as the desk action it is (a staff badge)."""
    shift = {"shift": args.shift} if args.shift else {}
    if args.band:
        if args.what != "return":
            raise ValueError("--band is for a band handed back: gatectl stock return --band UID")
        return {"action": "hand_back", "args": {"band": args.band, **shift}}
    kind = {"take": "taken", "return": "returned", "write-off": "written_off"}[args.what]
    reason = {"reason": args.reason} if args.reason else {}
    return {"action": "stock", "args": {"kind": kind, "count": args.count, **shift, **reason}}


def desk_args(pairs: list[str]) -> dict[str, str | list[str]]:
    """`key=value` words as a desk action's arguments: a key given twice or more, a list.
    Raises ValueError for a word with no `=`."""
    found: dict[str, str | list[str]] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise ValueError(f"{pair!r}: arguments are KEY=VALUE (ticket=T1 other=T2)")
        earlier = found.get(key)
        if earlier is None:
            found[key] = value
        else:
            found[key] = [*(earlier if isinstance(earlier, list) else [earlier]), value]
    return found


MAX_IMPORT_BYTES = 8 << 20  # of CSV text sent at once (the gate takes up to 16 MiB of JSON)


def import_request(directory: Path) -> dict[str, Any]:
    """An allowlist directory's files, read here with the caller's rights: `{"source",
    "files": {name: text}}`. Raises `AllowlistError` naming the file that cannot be read."""
    from gate.store.allowlist import read_csv_dir

    source = str(directory.resolve())
    return {"source": source, "files": read_csv_dir(directory, limit=MAX_IMPORT_BYTES)}


def export_journal(path: str, target: str, _: Words) -> int:
    out = sys.stdout if target == "-" else open(target, "w", encoding="utf-8")  # noqa: SIM115
    after, written = 0, 0
    try:
        while True:
            page = ask(path, {"cmd": "journal", "after": after, "limit": 1000})
            if not page.get("ok"):
                raise Unreachable(page.get("error", "journal export refused"))
            for entry in page["entries"]:
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")
                after, written = entry["seq"], written + 1
            if not page["entries"]:
                break
    finally:
        if out is not sys.stdout:
            out.close()
    print(_("{n} entries exported", n=written), file=sys.stderr)
    return EXIT_OK


SHOW: dict[str, Show] = {
    "status": show_status,
    "scan": show_with_pickup,
    "selftest": show_selftest,
    "journal": show_journal,
    "allowlist": show_allowlist,
    "diag": show_diag,
    "mode": show_mode,
    "join": show_scan,
    "desk": show_scan,
    "replace": show_scan,
    "unbind": show_scan,
    "reissue": show_scan,
    "walkin": show_with_pickup,
    "not-authorised": show_scan,
    "pickup": show_scan,
    "incident": show_scan,
    "stock": show_scan,
}


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `gatectl journal | head`
        reader_gone()
        return EXIT_OK


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    _ = terminal_words(args.lang)
    try:
        if args.command == "journal" and args.export:
            return export_journal(args.socket, args.export, _)
        request = request_for(args)
    except ValueError as exc:  # an unreadable import (AllowlistError), a desk argument
        print(f"gatectl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Unreachable as exc:
        print(f"gatectl: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    try:
        answer = ask(args.socket, request)
    except Unreachable as exc:
        print(f"gatectl: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    if args.json:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
    elif not answer.get("ok"):
        print(f"gatectl: {answer.get('error')}", file=sys.stderr)
    else:
        print("\n".join(SHOW[args.command](answer, _, zone_of(answer))))
    if not answer.get("ok"):
        return EXIT_NO
    if answer.get("granted") is False or answer.get("passed") is False:
        return EXIT_NO
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
