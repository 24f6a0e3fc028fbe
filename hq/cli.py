"""The `hq` command: the chain's head office.

hq run -c /etc/wristgate/hq.toml     read the chain's stream, serve the page and the API
hq check -c hq.toml                  the configuration read and checked, nothing started
hq token                             a new API token, and the line hq.toml keeps of it
hq venues -c hq.toml                 the venues head office holds, from their stores
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from gate.config import ConfigError
from gate.i18n import language_from_environment, words
from hq.service.config import load_hq_config
from hq.service.service import HeadOffice
from hq.service.tokens import new_token
from hq.store.venue import VenueStore, venues_in

DEFAULT_CONFIG = Path("/etc/wristgate/hq.toml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hq", description="the chain's head office")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, what in (
        ("run", "read every venue's stream; serve the chain's page and API"),
        ("check", "read and check hq.toml"),
        ("venues", "the venues head office holds"),
    ):
        sub = commands.add_parser(name, help=what)
        sub.add_argument("-c", "--config", type=Path, default=DEFAULT_CONFIG)
    token = commands.add_parser("token", help="a new API token and its hq.toml lines")
    token.add_argument("--name", default="head office")
    token.add_argument("--venues", default="*", help='comma-separated venue ids, or "*"')
    args = parser.parse_args(argv)
    _ = words(language_from_environment())

    if args.command == "token":
        value, secret = new_token()
        venues = [v.strip() for v in args.venues.split(",") if v.strip()]
        print(_("The token (give it to its holder; it is not kept anywhere):"))
        print(value)
        print(_("Add to hq.toml:"))
        print(f'[[token]]\nname = {json.dumps(args.name)}\nsecret = "{secret}"')
        print(f"venues = {json.dumps(venues)}")
        return 0
    try:
        config = load_hq_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "check":
        print(_("{path}: fine", path=args.config))
        return 0
    if args.command == "venues":
        for venue in venues_in(config.hq.state_dir):
            with VenueStore(config.hq.state_dir, venue) as store:
                c = store.counts()
            print(
                _(
                    "{venue}: {upto} entries in order, {stored} stored",
                    venue=venue,
                    upto=c.upto,
                    stored=c.stored,
                )
            )
        return 0
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    office = HeadOffice(config)
    office.handle_signals()
    return office.run()


if __name__ == "__main__":
    sys.exit(main())
