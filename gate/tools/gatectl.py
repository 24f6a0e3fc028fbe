"""`gatectl`: a technician's questions to a running gate, over its local control socket.

Exit status: 0 done (a scan granted, a check passed), 1 the answer is "no" (a scan denied, a
selftest or diag problem, a command the gate refused), 2 usage, 3 the gate cannot be reached.

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

DEFAULT_SOCKET = "/run/wristgate/gate.sock"
EXIT_OK, EXIT_NO, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


# --- human output -----------------------------------------------------------------------------


def show_status(a: dict[str, Any]) -> None:
    h, j = a["headcount"], a["journal"]
    print(f"gate {a['gate']} ({a['role']}, mode {a['mode']}), up {a['uptime_s']:.0f} s")
    print(f"allowlist  version {a['allowlist_version']}")
    print(
        f"inside     {h['inside']} ({h['adults']} adults, {h['children']} children, "
        f"{h['unaccompanied_children']} unaccompanied) in {h['groups_inside']} groups"
    )
    print(f"journal    seq {j['last_seq']}, hub acked {j['acked']}, backlog {j['backlog']}")
    for part in ("reader", "scanner"):
        health = a.get(part)
        print(f"{part:<10} {_health(health)}")
    if (link := a.get("link")) and link.get("configured"):
        refused = link.get("last_down_kind") == "refused"
        state = "connected" if link["connected"] else "login refused" if refused else "down"
        tls = "TLS" if link.get("tls") else "plain"
        print(
            f"broker     {state} ({link['broker']}, {tls}), {link['lost']} lost, "
            f"{link['taken_over']} taken over, {link['failed']} failed attempts"
        )
        if link.get("problem"):
            print(f"           {link['problem']}")
    if a.get("fire_alarm"):
        print("FIRE ALARM: exit held open")
    if a.get("counters"):
        print("counts     " + ", ".join(f"{k} {v}" for k, v in a["counters"].items()))
    if a.get("last"):
        print(f"last       {json.dumps(a['last'], ensure_ascii=False)}")


def _health(health: dict[str, Any] | None) -> str:
    if health is None:
        return "not fitted"
    text = f"{health.get('state')} ({health.get('device') or health.get('port')})"
    if health.get("last_error"):
        text += f", last error: {health['last_error']}"
    return text


def show_scan(a: dict[str, Any]) -> None:
    if "check" in a:
        c = a["check"]
        if not c["known"]:
            print(f"{c['value']}: not bound here")
            return
        print(f"{c['value']}: {c['role']} of group {c['group']}, {c['state']}")
        print(f"  last seen {c['last_gate']} {c['last_at']}, guardian {c['guardian_phone'] or '-'}")
        for m in c["group_members"]:
            print(f"  {m['uid']}  {m['role']:<10} {m['state']}")
        return
    d = a["decision"]
    forced = " (forced)" if d["forced"] else ""
    print(f"{d['code']}{forced}: {d['message']}")
    if d.get("group"):
        print(f"  group {d['group']}" + (f", {d['role']}" if d.get("role") else ""))


def show_diag(a: dict[str, Any]) -> None:
    for name, check in a["checks"].items():
        mark = "FAIL" if check.get("problem") else "ok"
        detail = check.get("problem") or ", ".join(
            f"{k}={v}" for k, v in check.items() if k != "problem" and not isinstance(v, dict)
        )
        print(f"{mark:<5}{name:<10}{detail}")


def show_journal(a: dict[str, Any]) -> None:
    for e in a["entries"]:
        body = e["body"]
        what = body.get("decision", {}).get("code") or json.dumps(body, ensure_ascii=False)[:80]
        value = body.get("decision", {}).get("value", "")
        who = body.get("asked_by")
        asker = f"  by {who.get('user')} (uid {who.get('uid')})" if who else ""  # a test scan
        print(f"{e['seq']:>8}  {e['kind']:<10} {value:<16} {what}{asker}")
    print(f"(last seq {a['last_seq']}, hub acked {a['acked']})")


def show_plain(a: dict[str, Any]) -> None:
    for key, value in a.items():
        if key != "ok":
            text = (
                json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
            )
            print(f"{key}: {text}")


# --- commands ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gatectl", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-s",
        "--socket",
        default=os.environ.get("WRISTGATE_SOCKET", DEFAULT_SOCKET),
        help=f"control socket (default $WRISTGATE_SOCKET or {DEFAULT_SOCKET})",
    )
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="who the gate is, headcount, journal, reader, scanner")
    scan = commands.add_parser("scan", help="a test scan through the same path as a real read")
    which = scan.add_mutually_exclusive_group(required=True)
    which.add_argument("--nfc", metavar="UID")
    which.add_argument("--barcode", metavar="CODE")
    scan.add_argument("--intent", choices=["final", "temporary"], default="final")
    commands.add_parser("selftest", help="cycle indicators, buzzer and relay; read the inputs")
    journal = commands.add_parser("journal", help="the journal's last entries, or all of it")
    journal.add_argument("--tail", type=int, default=20, metavar="N")
    journal.add_argument("--export", metavar="FILE", help="every entry as JSON lines (- stdout)")
    allow = commands.add_parser("allowlist", help="version and counts; look up; import CSVs")
    allow.add_argument("--lookup", metavar="VALUE", help="a band UID, ticket code or badge")
    allow.add_argument("--import", dest="import_dir", metavar="DIR", help="a CSV directory")
    commands.add_parser("diag", help="reader, scanner, GPIO, disk, clock, key file")
    mode = commands.add_parser("mode", help="a handheld's mode")
    mode.add_argument("mode", choices=["bind", "check"])
    return parser


def request_for(args: argparse.Namespace) -> dict[str, Any]:
    match args.command:
        case "scan":
            kind, value = ("nfc", args.nfc) if args.nfc else ("barcode", args.barcode)
            return {"cmd": "scan", "kind": kind, "value": value, "intent": args.intent}
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
    return {"cmd": args.command}


MAX_IMPORT_BYTES = 8 << 20  # of CSV text sent at once (the gate takes up to 16 MiB of JSON)


def import_request(directory: Path) -> dict[str, Any]:
    """An allowlist directory's files, read here with the caller's rights: `{"source",
    "files": {name: text}}`. Raises `AllowlistError` naming the file that cannot be read."""
    from gate.store.allowlist import read_csv_dir

    source = str(directory.resolve())
    return {"source": source, "files": read_csv_dir(directory, limit=MAX_IMPORT_BYTES)}


def export_journal(path: str, target: str) -> int:
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
    print(f"{written} entries exported", file=sys.stderr)
    return EXIT_OK


SHOW = {"status": show_status, "scan": show_scan, "diag": show_diag, "journal": show_journal}


def main(argv: list[str] | None = None) -> int:
    from gate.store.allowlist import AllowlistError

    args = build_parser().parse_args(argv)
    try:
        if args.command == "journal" and args.export:
            return export_journal(args.socket, args.export)
        request = request_for(args)
    except AllowlistError as exc:
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
        SHOW.get(args.command, show_plain)(answer)
    if not answer.get("ok"):
        return EXIT_NO
    if answer.get("granted") is False or answer.get("passed") is False:
        return EXIT_NO
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
