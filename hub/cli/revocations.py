"""`hub revoke VALUE --reason R` and `hub restore VALUE`: one ticket or band revoked (a lost
band, a refund) or restored, through the running hub, which publishes the change to the gates
as a delta at once; with no hub running, into its store (published when it starts).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from typing import Any

from gate.i18n import N_
from gate.i18n.terminal import output_options, terminal_words
from hub.cli.state import config_of, print_json

EXIT_OK, EXIT_NO = 0, 1
STORED_ONLY = N_("hub not running: stored only, published when it starts")


def _ask(args: argparse.Namespace, request: dict[str, Any]) -> dict[str, Any] | None:
    from gate.control.client import Unreachable, ask

    try:
        return ask(str(config_of(args).hub.control_socket), request)
    except Unreachable:
        return None


def _offline(args: argparse.Namespace, request: dict[str, Any]) -> dict[str, Any]:
    from gate.config import ConfigError, load_policy
    from gate.store.allowlist import AllowlistError
    from hub.ingest.allowlist import HubAllowlist
    from hub.service.control import import_summary
    from hub.store.hub_revocations import HubRevocations
    from hub.store.schema import StoreError

    try:
        hub = config_of(args).hub
        sessions = load_policy(hub.policy).sessions
        with HubAllowlist(hub.state_dir / "allowlist", sessions) as allowlist:
            if request["cmd"] == "revoke":
                result = allowlist.revoke(request["value"], request["reason"])
            else:
                result = allowlist.restore(request["value"])
        if result.applied:  # for the daily report: who, when, why
            with HubRevocations(hub.state_dir / "events.db") as log:
                reason = request.get("reason", "")
                by = f"{getpass.getuser()} (uid {os.getuid()})"
                now_ms = int(time.time() * 1000)
                log.add(request["cmd"], request["value"], reason, by, result.version, now_ms)
    except (AllowlistError, ConfigError, OSError, ValueError, StoreError) as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, **import_summary(result), "value": request["value"], "note": STORED_ONLY}


def revocation_command(args: argparse.Namespace) -> int:
    request: dict[str, Any] = {"cmd": args.command, "value": args.value}
    if args.command == "revoke":
        request["reason"] = args.reason
    answer = _ask(args, request)
    if answer is None:
        answer = _offline(args, request)
    if not answer.get("ok"):
        print(f"hub {args.command}: {answer.get('error')}", file=sys.stderr)
        return EXIT_NO
    if args.json:
        print_json(answer)
        return EXIT_OK
    from hub.views.console.family import show_import

    _ = terminal_words(args.lang)
    shown = {**answer, "note": _(answer["note"])} if answer.get("note") else answer
    print("\n".join(show_import(shown, _)))
    return EXIT_OK


def add_commands(commands: Any) -> None:
    revoke = commands.add_parser(
        "revoke", help="revoke one band or ticket (a lost band, a refund): gates get it at once"
    )
    revoke.add_argument("value", metavar="UID|TICKET")
    revoke.add_argument("--reason", required=True, help="why: lost band, refund, ...")
    output_options(revoke, top=False)
    revoke.set_defaults(run=revocation_command)
    restore = commands.add_parser("restore", help="lift the revocation of one band or ticket")
    restore.add_argument("value", metavar="UID|TICKET")
    output_options(restore, top=False)
    restore.set_defaults(run=revocation_command)
