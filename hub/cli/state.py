"""What the `hub` commands read when the hub may be stopped: its configuration, the venue's
clock, and its state directory (the event store and the allowlist snapshot, read only: SQLite's
WAL lets them read while the hub writes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate.config import ConfigError

if TYPE_CHECKING:
    from datetime import tzinfo

    from gate.core import Allowlist, Policy
    from hub.fold.reconcile import VenueState


def config_of(args: argparse.Namespace) -> Any:
    from hub.service.config import load_hub_config

    return load_hub_config(args.config)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def venue_zone(args: argparse.Namespace) -> tzinfo:
    """The venue's timezone, from the policy hub.toml names (UTC if it cannot be read)."""
    from datetime import UTC

    from gate.config import load_policy

    try:
        return load_policy(config_of(args).hub.policy).tz
    except ConfigError:
        return UTC


@dataclass
class StateView:
    policy: Policy
    venue: VenueState
    allowlist: Allowlist


@contextlib.contextmanager
def open_venue(args: argparse.Namespace) -> Iterator[StateView]:
    """The venue's state folded from the hub's store, opened for reading only."""
    from gate.config import load_policy
    from hub.fold.reconcile import VenueState
    from hub.store.events import EventStore
    from hub.store.guardian_phones import GuardianPhoneBook
    from hub.store.schema import StoreError

    config = config_of(args)
    policy = load_policy(config.hub.policy)
    path = config.hub.state_dir / "events.db"
    if not path.is_file():
        raise ConfigError(f"{path}: no event store here (hub.state_dir in {args.config})")
    allowlist = read_allowlist(config.hub.state_dir / "allowlist")
    try:
        store = EventStore(path)
    except StoreError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        told: dict[str, str] = {}  # walk-ins' guardian phones, as the desks told the hub
        book_path = config.hub.state_dir / "guardian_phones.db"
        if book_path.is_file():  # never made here: the hub's user makes it
            phones = GuardianPhoneBook(book_path)
            told = phones.all()
            phones.close()
        venue = VenueState(store, allowlist=allowlist, policy=policy, guardian_phones=told)
        yield StateView(policy, venue, allowlist)
    finally:
        store.close()


def read_allowlist(directory: Path) -> Allowlist:
    """The hub's allowlist snapshot, read from a copy: opening the live file's store would
    clear the temporary files of a write the running hub may have in progress."""
    from gate.core import Allowlist
    from gate.store.allowlist import AllowlistError, AllowlistStore
    from hub.ingest.allowlist import SNAPSHOT_FILE

    live = directory / SNAPSHOT_FILE
    if not live.is_file():
        print(f"hub: {live}: no allowlist imported yet", file=sys.stderr)
        return Allowlist()
    with tempfile.TemporaryDirectory(prefix="wristgate-read-") as tmp:
        copy = Path(tmp) / SNAPSHOT_FILE
        try:
            shutil.copyfile(live, copy)
            with AllowlistStore(copy) as store:
                return store.load()
        except (OSError, AllowlistError) as exc:
            raise ConfigError(f"{live}: {exc}") from exc
