"""The `hub` command: run the hub, import tickets, ask it how the venue stands."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from gate.config import ConfigError

EXIT_OK, EXIT_NO, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
DEFAULT_CONFIG = Path("/etc/wristgate/hub.toml")


def _config(args: argparse.Namespace) -> Any:
    from hub.service import load_hub_config

    return load_hub_config(args.config)


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=getattr(logging, args.log_level), format="%(levelname)s %(name)s: %(message)s"
    )
    from hub.service import Hub

    try:
        hub = Hub(_config(args))
    except (ConfigError, ValueError, OSError) as exc:
        print(f"hub run: cannot start: {exc}", file=sys.stderr)
        return EXIT_USAGE
    signal.signal(signal.SIGTERM, lambda *_: hub.stop())
    signal.signal(signal.SIGINT, lambda *_: hub.stop())
    return hub.run()


def _ask(args: argparse.Namespace, request: dict[str, Any]) -> dict[str, Any] | None:
    """The running hub's answer, or None when no hub runs on this machine."""
    from gate.gatectl import Unreachable, ask

    try:
        return ask(str(_config(args).hub.control_socket), request)
    except Unreachable:
        return None


def _import(args: argparse.Namespace) -> int:
    """Through the running hub (it publishes the change to the gates), else into its store."""
    path = args.path.resolve()
    answer = _ask(args, {"cmd": "import", "path": str(path)})
    if answer is None:
        from hub.allowlist import HubAllowlist
        from hub.service import import_summary

        with HubAllowlist(_config(args).hub.state_dir / "allowlist") as allowlist:
            result = allowlist.import_dir(path) if path.is_dir() else allowlist.import_tickets(path)
        answer = {"ok": True, **import_summary(result), "note": "hub not running: stored only"}
    if not answer.get("ok"):
        print(f"hub import: {answer.get('error')}", file=sys.stderr)
        return EXIT_NO
    for row in answer.get("rows_skipped", []):
        print(f"{row}: row skipped", file=sys.stderr)
    print(
        f"allowlist version {answer['version']}: {answer['added']} added, "
        f"{answer['replaced']} replaced, {answer['removed']} removed"
        + (f" ({answer['note']})" if answer.get("note") else "")
    )
    return EXIT_NO if answer.get("rows_skipped") else EXIT_OK


def _status(args: argparse.Namespace) -> int:
    answer = _ask(args, {"cmd": args.command})
    if answer is None:
        print("hub: not running (no control socket)", file=sys.stderr)
        return EXIT_UNREACHABLE
    print(json.dumps(answer, indent=2, ensure_ascii=False, default=str))
    return EXIT_OK if answer.get("ok") else EXIT_NO


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="wristgate hub")
    parser.add_argument("-c", "--config", type=Path, default=DEFAULT_CONFIG, metavar="hub.toml")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the hub")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(run=_run)
    for name in ("import-tickets", "import"):
        imp = commands.add_parser(
            name, help="import a tickets CSV (add or replace) or a whole allowlist directory"
        )
        imp.add_argument("path", type=Path, metavar="FILE.csv|DIR")
        imp.set_defaults(run=_import)
    for name, text in (("status", "gates, headcount, rejections"), ("findings", "reconciliation")):
        commands.add_parser(name, help=text).set_defaults(run=_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
