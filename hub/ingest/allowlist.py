"""The hub's allowlist: ticket imports in, versioned snapshots and changes out to the gates.

    allowlist = HubAllowlist("/var/lib/wristgate-hub")        # allowlist.json in that directory
    result = allowlist.import_tickets("day-2026-07-18.csv")   # tickets.csv format, design §8
    for e in result.row_errors:
        print(e)                  # day-2026-07-18.csv:12: adults must be a whole number >= 0 ...
    if result.change is not None:  # gates at base_version apply it
        publish(topics.allowlist_full_delta, dump(result.change))
        publish(topics.allowlist_delta, dump(change_without_phones(result.change)))
    publish(topics.allowlist_full, dump(allowlist.snapshot()), retain=True)  # desk, handhelds
    publish(topics.allowlist, dump(allowlist.gate_snapshot()), retain=True)  # no phones

The CSV files are read by the gates' own loader (`gate.store.allowlist.load_csv_dir`), so the hub
and
the gates accept and refuse exactly the same rows, with the same messages and line numbers. A bad
row is skipped and reported; the good rows are imported. The snapshot is the gates' own
`AllowlistStore` (crash-safe TinyDB file), so a restarted hub holds the same version.

`import_tickets` adds or replaces tickets (by code) and never removes any: one version up, as a
delta. `import_dir` takes a whole directory (tickets, wristbands, staff, revoked) as the new
allowlist: whatever it no longer lists is gone. Its change can be published as a delta only when
nothing was removed (`AllowlistChange` cannot say so); otherwise `change` is None and the gates
take the snapshot.

`revoke` and `restore` change one ticket or band, and a directory holding only `revoked.csv`
adds its revocations (`hub.ingest.revocations`): each one version up, as a delta.

`import_tickets_text` and `import_texts` take files already read (name -> text): the running hub
imports only so, from what `hub import-tickets` read with the operator's rights and sent over
its control socket; the path forms serve the hub's own start-up import and offline imports.

One thread imports at a time (the store's own lock makes concurrent calls safe, not meaningful).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from gate.core import Allowlist, Ticket
from gate.link.protocol import (
    AllowlistChange,
    AllowlistSnapshot,
    snapshot_of,
    ticket_row,
    without_phones,
)
from gate.store.allowlist import (
    AllowlistDelta,
    AllowlistError,
    AllowlistStore,
    RowError,
    load_csv_texts,
    read_csv_dir,
    read_csv_file,
)
from gate.store.allowlist.csvdir import COLUMNS, STAFF, TICKETS, WRISTBANDS
from hub.ingest.revocations import (
    checked_reason,
    checked_value,
    read_revoked,
    revocation_change,
    revocations_only,
)

SNAPSHOT_FILE = "allowlist.json"
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class ImportResult:
    """What an import changed. `version` is the allowlist's version after it (the same as
    `base_version` when nothing changed or on a dry run)."""

    base_version: int
    version: int
    added: tuple[str, ...] = ()  # ticket codes new to the allowlist
    replaced: tuple[str, ...] = ()  # ticket codes whose row changed
    removed: tuple[str, ...] = ()  # ticket codes no longer listed (import_dir)
    other: Mapping[str, int] = field(default_factory=dict)  # bands, staff, revoked: changes
    row_errors: tuple[RowError, ...] = ()
    delta: AllowlistDelta | None = None  # None: nothing changed
    change: AllowlistChange | None = None  # None: nothing changed, or gates need the snapshot
    applied: bool = False

    @property
    def changed(self) -> bool:
        return self.delta is not None


class HubAllowlist:
    """The hub's allowlist snapshot in `directory` (created if missing)."""

    def __init__(
        self, directory: str | os.PathLike[str], sessions: Collection[str] | None = None
    ) -> None:
        self.directory = Path(directory)
        self.sessions = sessions  # the venue policy's: a ticket of another is a row error
        self.directory.mkdir(parents=True, exist_ok=True)
        self.store = AllowlistStore(self.directory / SNAPSHOT_FILE)
        self._current = self.store.load()

    @property
    def current(self) -> Allowlist:
        return self._current

    @property
    def version(self) -> int:
        return self._current.version

    def snapshot(self) -> AllowlistSnapshot:
        """The whole allowlist, guardian phones included, as desks and handhelds get it."""
        return snapshot_of(self._current)

    def gate_snapshot(self) -> AllowlistSnapshot:
        """The allowlist as entry and exit gates get it: no phones, only whether one is
        registered."""
        return snapshot_of(without_phones(self._current))

    def import_tickets(
        self, csv_path: str | os.PathLike[str], *, dry_run: bool = False
    ) -> ImportResult:
        """Add or replace the tickets of one `tickets.csv`-format file (any name).

        Raises `AllowlistError` when the file cannot be read or its header lacks columns; bad
        rows are skipped and listed in `row_errors` as `FILE:LINE: reason`.
        """
        path = Path(csv_path)
        return self.import_tickets_text(path.name, read_csv_file(path), dry_run=dry_run)

    def import_tickets_text(self, name: str, text: str, *, dry_run: bool = False) -> ImportResult:
        """`import_tickets` for a file already read: `name` (its file name) and its text."""
        tickets, row_errors = _read_tickets(name, text, self.sessions)
        current = self._current
        added = [t for code, t in tickets.items() if code not in current.tickets]
        replaced = [
            t
            for code, t in tickets.items()
            if code in current.tickets and current.tickets[code] != t
        ]
        base = current.version
        result = ImportResult(
            base,
            base,
            added=tuple(t.code for t in added),
            replaced=tuple(t.code for t in replaced),
            row_errors=tuple(row_errors),
        )
        if not added and not replaced:
            return result
        delta = AllowlistDelta(base, base + 1, tickets=[*added, *replaced])
        change = AllowlistChange(
            base_version=base, version=base + 1, tickets=[ticket_row(t) for t in delta.tickets]
        )
        if dry_run:
            return replace(result, delta=delta, change=change)
        self._current = self.store.apply_delta(delta)
        return replace(
            result, version=self._current.version, delta=delta, change=change, applied=True
        )

    def import_dir(self, csv_dir: str | os.PathLike[str], *, dry_run: bool = False) -> ImportResult:
        """Take a whole allowlist directory (design §8) as the new allowlist, one version up.

        Raises `AllowlistError` when a required file is missing or unreadable or a header lacks
        columns; bad rows are skipped and listed in `row_errors`.
        """
        return self.import_texts(read_csv_dir(csv_dir), str(csv_dir), dry_run=dry_run)

    def import_texts(
        self, texts: Mapping[str, str], where: str, *, dry_run: bool = False
    ) -> ImportResult:
        """`import_dir` for files already read: file name (`tickets.csv`, ...) -> its text;
        `where` names the directory they came from."""
        if revocations_only(texts):  # a revocation list alone: added, nothing removed
            revoked, errors = read_revoked(texts, where, self._current)
            return self._amend(revoked, (), errors, dry_run=dry_run)
        loaded, row_errors = load_csv_texts(texts, where, self.sessions)
        current = self._current
        base = current.version
        old, new = current.tickets, loaded.tickets
        added = tuple(c for c in new if c not in old)
        replaced = tuple(c for c in new if c in old and old[c] != new[c])
        removed = tuple(c for c in old if c not in new)
        bands = _changed(current.bands, loaded.bands)
        staff = _changed(current.staff, loaded.staff)
        revoked = _changed(current.revoked, loaded.revoked)
        unrevoked = [v for v in current.revoked if v not in loaded.revoked]
        gone_bands = [u for u in current.bands if u not in loaded.bands]
        gone_staff = [u for u in current.staff if u not in loaded.staff]
        other = {
            "bands": len(bands),
            "staff": len(staff),
            "revoked": len(revoked),
            "unrevoked": len(unrevoked),
            "removed_bands": len(gone_bands),
            "removed_staff": len(gone_staff),
        }
        result = ImportResult(
            base, base, added, replaced, removed, other, row_errors=tuple(row_errors)
        )
        if not (added or replaced or removed or any(other.values())):
            return result
        delta = AllowlistDelta(
            base,
            base + 1,
            tickets=[new[c] for c in (*added, *replaced)],
            bands=bands,
            staff=staff,
            revoked=revoked,
            unrevoked=unrevoked,
            removed_staff=gone_staff,
        )
        change = None
        if not (removed or gone_bands or gone_staff):  # a change cannot carry removals
            change = AllowlistChange(
                base_version=base,
                version=base + 1,
                tickets=[ticket_row(t) for t in delta.tickets],
                bands={uid: role.value for uid, role in bands.items()},
                staff=dict(staff),
                revoked=dict(revoked),
                unrevoked=list(unrevoked),
            )
        if dry_run:
            return replace(result, delta=delta, change=change)
        self._current = self.store.save_snapshot(loaded, base + 1)
        return replace(
            result, version=self._current.version, delta=delta, change=change, applied=True
        )

    def revoke(self, value: object, reason: object) -> ImportResult:
        """Revoke one ticket or band (`hub revoke`), one version up, as a delta; ValueError
        says what is wrong with `value` or `reason`."""
        key = checked_value(value, self._current)
        return self._amend({key: checked_reason(reason)}, ())

    def restore(self, value: object) -> ImportResult:
        """Lift one revocation (`hub restore`), one version up, as a delta."""
        key = checked_value(value, self._current)
        if key not in self._current.revoked:
            raise ValueError(f"{key} is not revoked in allowlist version {self.version}")
        return self._amend({}, (key,))

    def _amend(
        self,
        revoked: Mapping[str, str],
        unrevoked: Sequence[str],
        errors: Sequence[RowError] = (),
        *,
        dry_run: bool = False,
    ) -> ImportResult:
        base = self.version
        found = revocation_change(self._current, revoked, unrevoked)
        if found is None:
            return ImportResult(base, base, row_errors=tuple(errors))
        delta, change, counts = found
        result = ImportResult(base, base, other=counts, row_errors=tuple(errors))
        if dry_run:
            return replace(result, delta=delta, change=change)
        self._current = self.store.apply_delta(delta)
        return replace(result, version=self.version, delta=delta, change=change, applied=True)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> HubAllowlist:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_tickets(
    name: str, text: str, sessions: Collection[str] | None = None
) -> tuple[dict[str, Ticket], list[RowError]]:
    """The tickets of one file in the `tickets.csv` format, read by the gates' loader; errors
    name the file by `name`."""
    empty = {n: ",".join(COLUMNS[n]) + "\n" for n in (WRISTBANDS, STAFF)}  # the loader wants them
    try:
        loaded, row_errors = load_csv_texts({TICKETS: text, **empty}, where=name, sessions=sessions)
    except AllowlistError as exc:
        raise AllowlistError([_renamed(p, name) for p in exc.problems]) from exc
    errors = [RowError(name, e.line, e.message) for e in row_errors]
    return loaded.tickets, errors


def _renamed(problem: str, name: str) -> str:
    return name + problem[len(TICKETS) :] if problem.startswith(TICKETS) else problem


def _changed(old: Mapping[K, V], new: Mapping[K, V]) -> dict[K, V]:
    """The entries of `new` that `old` lacks or holds with another value."""
    return {k: v for k, v in new.items() if old.get(k) != v}
