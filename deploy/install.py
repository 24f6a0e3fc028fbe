"""Installing wristgate on a Raspberry Pi: a gate (`scripts/install-gate`), the hub
(`scripts/install-hub`) or a wall display (`scripts/install-display`, deploy/install_display.py),
from the clone the script runs in. docs/install.md is the technician's page.

    install-gate --gate-id X1 --role exit --profile turnstile-pn532 [--broker HOST[:PORT]]
                 [--ca FILE | --plain-mqtt] [--broker-password FILE] [--site-key FILE] [--root DIR]
    install-hub  [--gates E1:entry,X1:exit,D1:desk] [--bind-address ADDR] [--broker-names NAME,...]
                 [--ca-cert FILE [--ca-key FILE]] [--broker-cert FILE --broker-key FILE]
                 [--plain-mqtt] [--root DIR]

The broker speaks TLS to the gates (port 8883) with a venue CA the hub makes (deploy/tls.py) or is
given; its plain port 1883 serves the hub's own clients on 127.0.0.1 only. A gate gets the CA
(--ca) and checks the broker's certificate and name; plain MQTT across the network only with
--plain-mqtt on both.

Both are idempotent: run again with the same arguments, they change nothing (same bytes, same
modes, same secrets). Secrets (the site key, tokens, broker passwords) are generated once and kept.
Files an operator edits are created only when absent (policy.toml, the allowlist CSVs); gate.toml
and hub.toml are kept as long as they say what the arguments say, otherwise the new rendering is
written beside them as `gate.toml.new` / `hub.toml.new` for the operator to merge. Files the
project ships (units, udev rules, the broker's configuration and ACL) are rewritten when they
differ from the clone's.

With `--root DIR` everything lands under DIR and nothing outside it is touched: the service user
and groups are written into DIR/etc/passwd and DIR/etc/group (and DIR/etc/shadow, DIR/etc/gshadow
when DIR has them), no file is chowned, and neither useradd nor systemctl nor udevadm runs. Every
run writes a manifest, /etc/wristgate/install-gate.manifest or install-hub.manifest, with the mode
and owner each path has on a real install (`MODE OWNER:GROUP PATH` per line).

This module is the command line. The steps are in install_gate.py, install_hub.py and
install_broker.py (the hub's Mosquitto); they write through target.py (the machine, its users),
to the paths of layout.py, with config_files.py (gate.toml, hub.toml, the policy) and units.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from deploy.broker import BrokerError
from deploy.install_display import LANGUAGES, install_display
from deploy.install_gate import install_gate
from deploy.install_hub import install_hub
from deploy.layout import VENUE_CA
from deploy.target import InstallError, Target, UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


ROOT_HELP = (
    "install into DIR only (an image, a test): users written into DIR/etc/passwd and group, "
    "nothing chowned, no systemctl; owners recorded in the manifest"
)


WHAT = {"gate": "a gate", "hub": "the hub", "display": "a wall display"}
INSTALLS = {"gate": install_gate, "hub": install_hub, "display": install_display}


def _parser(role: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"install-{role}",
        description=f"Install this clone as {WHAT[role]}: idempotent; see docs/install.md.",
    )
    if role == "display":
        p.add_argument("--hub", required=True, help="the hub's address: http://HUB:8080")
        p.add_argument(
            "--lang",
            required=True,
            choices=LANGUAGES,
            help="the display's language, whatever this machine's locale",
        )
    elif role == "gate":
        p.add_argument("--gate-id", required=True, help="unique in the venue: E1, X2, D1 ...")
        p.add_argument("--role", required=True, choices=("entry", "exit", "desk", "handheld"))
        p.add_argument("--profile", required=True, help="firmware_configs/profiles/NAME.toml")
        p.add_argument(
            "--broker",
            metavar="HOST[:PORT]",
            help="the hub's broker (adds [link]); port 8883 with --ca (TLS), else 1883",
        )
        p.add_argument(
            "--ca",
            metavar="FILE",
            help=f"the venue CA, the hub's {VENUE_CA}: the gate checks the broker with it",
        )
        p.add_argument(
            "--plain-mqtt",
            action="store_true",
            help="plain MQTT to the broker, no TLS (an isolated gate network only)",
        )
        p.add_argument(
            "--broker-password",
            metavar="FILE",
            help="this gate's broker password, from the hub's /etc/wristgate/passwords/ID.password",
        )
        p.add_argument(
            "--site-key", metavar="FILE", help="the venue's site key (else one is generated once)"
        )
    else:
        p.add_argument(
            "--gates",
            metavar="E1:entry,X1:exit,D1:desk",
            help="gates to give broker users (added), with their roles: the venue's roster",
        )
        p.add_argument(
            "--bind-address",
            metavar="ADDR",
            help="the broker's listener for the gates: the hub's address on the gate network "
            "(default: the one installed before, else 127.0.0.1)",
        )
        p.add_argument(
            "--broker-names",
            metavar="NAME,...",
            help="more host names or addresses gates use for the hub (in the broker certificate)",
        )
        p.add_argument("--ca-cert", metavar="FILE", help="the venue CA to use (else one is made)")
        p.add_argument("--ca-key", metavar="FILE", help="its key, to sign the broker certificate")
        p.add_argument("--broker-cert", metavar="FILE", help="the broker certificate to use")
        p.add_argument("--broker-key", metavar="FILE", help="its key")
        p.add_argument(
            "--plain-mqtt",
            action="store_true",
            help="no TLS: plain MQTT for the gates on --bind-address (an isolated network only)",
        )
    p.add_argument("--root", metavar="DIR", help=ROOT_HELP)
    p.add_argument("--code-dir", metavar="PATH", help="where the clone lives on the target")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in INSTALLS:
        print("usage: python -m deploy.install {gate|hub|display} ...", file=sys.stderr)
        return EXIT_USAGE
    role, rest = argv[0], argv[1:]
    args = _parser(role).parse_args(rest)
    prog = f"install-{role}"
    os.umask(0o022)
    if args.root is None and os.geteuid() != 0:
        print(f"{prog}: run as root (sudo), or give --root DIR", file=sys.stderr)
        return EXIT_FAILED
    t = Target(None if args.root is None else Path(args.root), prog)
    print(f"{prog}: installing into {t.root}", file=t.out)
    try:
        INSTALLS[role](args, t)
    except UsageError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (InstallError, BrokerError, OSError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        for text in t.notes:
            print(f"{prog}: note: {text}", file=t.out)
    done = f"{len(t.changes)} change(s)" if t.changes else "nothing to change"
    print(f"{prog}: {done}", file=t.out)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
