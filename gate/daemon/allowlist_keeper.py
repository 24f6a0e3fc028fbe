"""The gate's allowlist: the one it starts with, the hub's snapshots and deltas swapped in on the
loop, and a technician's import. Each swap is journalled; the state decides by the new version
from the next scan on.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from gate.core import Allowlist, Role
from gate.daemon.ledger import Ledger
from gate.link.protocol import AllowlistChange, AllowlistSnapshot, allowlist_of, ticket_of
from gate.store.allowlist import AllowlistDelta, AllowlistStore, load_csv_dir

log = logging.getLogger("gate")


def initial_allowlist(store: AllowlistStore, csv_dir: Path | None) -> Allowlist:
    """The allowlist kept on disk; on a first start, the CSV directory's (`allowlist_csv`)."""
    index = store.load()
    if index.version == 0 and csv_dir is not None:
        loaded, row_errors = load_csv_dir(csv_dir)
        for row_error in row_errors:
            log.warning("allowlist %s: row skipped", row_error)
        index = store.save_snapshot(loaded)
        log.info("allowlist imported from %s: version %d", csv_dir, index.version)
    return index


class AllowlistKeeper:
    """Swaps the allowlist the state decides by. `snapshot` and `change` return whether they did:
    the gate then tells the hub its new version at once."""

    def __init__(self, store: AllowlistStore, ledger: Ledger) -> None:
        self.store = store
        self.ledger = ledger

    def snapshot(self, snapshot: AllowlistSnapshot) -> bool:
        """The hub's allowlist is the venue's: any other version than this gate's replaces it,
        and any version replaces one not from the hub (CSVs imported while the gate ran alone:
        its numbers say nothing of the hub's; a linked gate refuses imports, docs/gate.md)."""
        if snapshot.version == self.ledger.state.allowlist.version and self.store.from_hub:
            return False
        index = self.store.save_snapshot(allowlist_of(snapshot), snapshot.version, from_hub=True)
        self._swap(index, "snapshot")
        return True

    def change(self, change: AllowlistChange) -> bool:
        current = self.ledger.state.allowlist.version
        if not self.store.from_hub:  # no hub version to build on: the retained snapshot comes
            log.info("allowlist delta %d skipped: this gate's list is its own", change.version)
            return False
        if change.version <= current:
            return False
        if change.base_version != current:
            log.info(
                "allowlist delta %d->%d skipped: this gate has %d; waiting for a snapshot",
                change.base_version,
                change.version,
                current,
            )
            return False
        delta = AllowlistDelta(
            base_version=change.base_version,
            version=change.version,
            tickets=[ticket_of(row) for row in change.tickets],
            bands={uid: Role(role) for uid, role in change.bands.items()},
            staff=dict(change.staff),
            revoked=dict(change.revoked),
            unrevoked=list(change.unrevoked),
        )
        self._swap(self.store.apply_delta(delta), "delta")
        return True

    def _swap(self, index: Allowlist, how: str) -> None:
        self._take(index, how)
        log.info("allowlist version %d (%s from the hub)", index.version, how)

    def imported(self, loaded: Allowlist, source: str, asked_by: dict[str, Any]) -> Allowlist:
        """A technician's import (`gatectl allowlist --import`): this gate's own list from now
        on, journalled with who asked."""
        index = self.store.save_snapshot(loaded)
        self._take(index, source, asked_by=asked_by)
        return index

    def _take(self, index: Allowlist, source: str, **more: Any) -> None:
        """The state decides by `index` from now on; the journal says which version and whence."""
        self.ledger.state.allowlist = index
        self.ledger.journal.append(
            "allowlist", {"version": index.version, "source": source, **more}
        )
