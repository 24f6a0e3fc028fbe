"""The `gate` command.

`gate run` exits 78 (EX_CONFIG, sysexits.h) when it cannot start: its configuration, profile,
site key, policy, journal or allowlist cannot be used; the message names the file, the field
and the reason. Exit 2 is a usage error (argparse), and `gate check`'s "problems found". The
unit's RestartPreventExitStatus=2 78 stops systemd restarting it forever for either.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gate.config import PERMISSIVE_POLICY, ConfigError, load_policy

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
EXIT_CONFIG = 78  # sysexits.h EX_CONFIG: `gate run` cannot start; systemd does not restart it


def _simulate(args: argparse.Namespace) -> int:
    from gate.store.allowlist import AllowlistError, load_csv_dir

    try:
        policy_path = args.policy or args.allowlist / "policy.toml"
        if policy_path.exists() or args.policy:
            policy = load_policy(policy_path)
            sessions = policy.sessions  # a ticket of a session the policy lacks: a row error
        else:
            print(f"no {policy_path}: open around the clock, no capacity limit", file=sys.stderr)
            policy, sessions = PERMISSIVE_POLICY, None
        allowlist, row_errors = load_csv_dir(args.allowlist, sessions)
    except (AllowlistError, ConfigError) as exc:
        print(f"gate simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for row_error in row_errors:
        print(f"{row_error}: row skipped", file=sys.stderr)

    from gate.tools.simulate import simulate

    if str(args.scans) == "-":
        outcome = simulate(allowlist, policy, sys.stdin, sys.stdout, sys.stderr, "stdin")
    else:
        try:
            with args.scans.open(encoding="utf-8") as lines:
                outcome = simulate(
                    allowlist, policy, lines, sys.stdout, sys.stderr, args.scans.name
                )
        except OSError as exc:
            print(f"gate simulate: {args.scans}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
    if args.tally:
        print(outcome.tally(), file=sys.stderr)
    if outcome.rejected or row_errors:
        print(
            f"gate simulate: {len(row_errors)} allowlist rows and "
            f"{outcome.rejected} scan lines skipped",
            file=sys.stderr,
        )
        return EXIT_REJECTED
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from gate.control.logs import configure_logging, say
    from gate.settings import load_gate_config

    configure_logging(args.log_level)  # syslog priorities when journald reads standard error
    try:
        config = load_gate_config(args.config)
    except ConfigError as exc:  # one line per problem
        say("\n".join(f"gate run: {problem}" for problem in str(exc).split("\n")))
        return EXIT_CONFIG

    from gate.daemon.check import start_problems
    from gate.daemon.gate import Gate, StartupError, install_signal_handlers

    problems = start_problems(config)
    if problems:
        say("\n".join(f"gate run: {args.config} {problem}" for problem in problems))
        return EXIT_CONFIG
    try:
        gate = Gate(config)
    except StartupError as exc:
        say(f"gate run: cannot start: {exc}")
        return EXIT_CONFIG
    install_signal_handlers(gate)
    return gate.run()


def _check(args: argparse.Namespace) -> int:
    from gate.control.machine import run_check
    from gate.daemon.check import check_gate

    return run_check("gate check", check_gate, args.config, args.user, args.root)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gate", description="wristgate gate")
    commands = parser.add_subparsers(dest="command", required=True)
    sim = commands.add_parser(
        "simulate",
        help="dry-run scans through the rules, all gates sharing one state",
        description="Prints one JSON decision per scan line, then a summary line. "
        "Exit status: 0 all used, 1 some rows or lines skipped (see stderr), 2 cannot run.",
    )
    sim.add_argument("--allowlist", type=Path, required=True, metavar="DIR", help="CSV directory")
    sim.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="policy TOML (default: DIR/policy.toml, else open around the clock)",
    )
    sim.add_argument("--scans", type=Path, required=True, metavar="FILE", help="JSONL, - for stdin")
    sim.add_argument("--tally", action="store_true", help="count decisions by code on stderr")
    sim.set_defaults(run=_simulate)

    run = commands.add_parser(
        "run",
        help="run the gate daemon",
        description="Runs the gate: reader, scanner, GPIO, journal, control socket. "
        "Exit status 78 (EX_CONFIG): the configuration, key file, journal or allowlist cannot "
        "be used; systemd does not restart it (RestartPreventExitStatus=78).",
    )
    run.add_argument("-c", "--config", type=Path, required=True, metavar="gate.toml")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(run=_run)

    check = commands.add_parser(
        "check",
        help="check a gate.toml and what it names, without starting anything",
        description="Lists every problem `gate run` would meet (fields, profile, pins, files "
        "the service user must read, directories, ports), each with the file, the field and "
        "the fix. Exit status: 0 none, 2 problems found. Run it before a restart.",
    )
    check.add_argument("-c", "--config", type=Path, required=True, metavar="gate.toml")
    check.add_argument("--user", help="the service's user (default: wristgate if it exists)")
    check.add_argument("--root", type=Path, metavar="DIR", help="an image: paths read under DIR")
    check.set_defaults(run=_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
