"""The gate's allowlist on disk: a versioned snapshot in TinyDB, indexed in memory.

The rules core never queries TinyDB: `load` reads the storage's raw tables once and builds the
dicts of `gate.core.Allowlist`. Every change (`save_snapshot`, `apply_delta`) rewrites the whole
snapshot as one atomic file write (`AtomicJSONStorage`), so after a crash the file holds either
the previous version or the new one, all tables of the same version.

Document shape. Each table holds documents of parallel columns rather than one document per
entry: 200,000 entries then load in a fraction of the time and memory (no dict per entry).

    meta     {"1": {"format": 1, "version": 7, "counts": {"tickets": 2, "bands": 3, ...},
                    "from_hub": true}}
    tickets  {"1": {"code": [...], "product": [...], "adults": [...], "children": [...],
                    "valid_from": ["2026-07-01", ...], "valid_to": [...], "guardian_phone": [...]}}
    bands    {"1": {"role": "adult", "uid": [...]}, "2": {"role": "child", "uid": [...]}}
    staff    {"1": {"uid": [...], "name": [...]}}
    revoked  {"1": {"value": [...], "reason": [...]}}

`counts` lets a load prove it has every entry of its version. `from_hub` says the snapshot is
the hub's (a gate's copy of a snapshot or delta it received), not one imported from CSVs on the
gate: a linked gate replaces a local allowlist with the hub's even at the same version, since
version numbers of the two sources say nothing about each other. A file without the key is local.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from tinydb import TinyDB

from gate.core import Allowlist, Role, Ticket
from gate.store.allowlist.changes import AllowlistDelta, applied, checked
from gate.store.allowlist.errors import SnapshotError
from gate.store.allowlist.storage import AtomicJSONStorage
from gate.store.allowlist.validate import BAND_ROLES

FORMAT = 1
META = "meta"
TICKET_COLUMNS = (
    "code",
    "product",
    "adults",
    "children",
    "valid_from",
    "valid_to",
    "guardian_phone",
)
TABLES = ("tickets", "bands", "staff", "revoked")

Tables = dict[str, dict[str, Any]]
T = TypeVar("T")


class AllowlistStore:
    """The allowlist snapshot at `path`, and the in-memory index built from it.

    One process writes a snapshot file. Methods may be called from several threads; `current`
    is swapped only after the new snapshot is durably on disk.

        store = AllowlistStore("/var/lib/wristgate/allowlist.json")
        state.allowlist = store.load()
        state.allowlist = store.apply_delta(delta)    # raises StaleDelta when out of step
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._db = TinyDB(self.path, storage=AtomicJSONStorage)
        self._lock = threading.RLock()
        self._current: Allowlist | None = None
        self._from_hub = False

    @property
    def current(self) -> Allowlist | None:
        """The index last loaded or written by this store, None before the first."""
        return self._current

    @property
    def from_hub(self) -> bool:
        """Whether the current snapshot came from the hub (False for CSVs imported here)."""
        return self._from_hub

    def load(self) -> Allowlist:
        """Read the snapshot and build the index; a missing file is an empty allowlist, version 0.

        Raises `SnapshotError` (naming the file) when the file is unreadable, corrupt or
        incomplete; `current` then keeps the last good index.
        """
        with self._lock:
            tables = self._db.storage.read()
            index = Allowlist() if tables is None else _decode(tables, self.path)
            self._current = index
            self._from_hub = tables is not None and _from_hub(tables)
            return index

    def save_snapshot(
        self, allowlist: Allowlist, version: int | None = None, *, from_hub: bool = False
    ) -> Allowlist:
        """Replace the whole allowlist, durably, and return the new index.

        The snapshot gets `version`, by default the one after the current version (read from
        disk if nothing is loaded yet; pass `version` to replace a corrupt file). Entries are
        checked and UIDs normalised first: `AllowlistError` lists every problem and nothing is
        written. Any version is accepted, lower ones too: a full snapshot is authoritative.
        `from_hub` marks a gate's copy of the hub's snapshot (see `from_hub`).
        """
        with self._lock:
            if version is None:
                version = self._index().version + 1
            index = checked(allowlist, version)
            self._write(index, from_hub)
            return index

    def apply_delta(self, delta: AllowlistDelta) -> Allowlist:
        """Apply `delta` to the current index, durably, and return the new index.

        All or nothing: the delta is checked entirely first (`StaleDelta` when its base is not
        the current version, `DeltaError` for anything else), the new snapshot is written, and
        only then does `current` change. On any error, disk and memory are as before. The result
        comes from where the snapshot it applies to came from.
        """
        with self._lock:
            index = applied(self._index(), delta)
            self._write(index, self._from_hub)
            return index

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> AllowlistStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _index(self) -> Allowlist:
        return self._current if self._current is not None else self.load()

    def _write(self, index: Allowlist, from_hub: bool) -> None:
        self._db.storage.write(_encode(index, from_hub))
        self._current = index
        self._from_hub = from_hub


# --- the document shape ---------------------------------------------------------------------


def _encode(index: Allowlist, from_hub: bool) -> Tables:
    tickets = list(index.tickets.values())
    counts = {name: len(getattr(index, name)) for name in TABLES}
    meta = {"format": FORMAT, "version": index.version, "counts": counts, "from_hub": from_hub}
    return {
        META: {"1": meta},
        "tickets": {
            "1": {
                "code": [t.code for t in tickets],
                "product": [t.product for t in tickets],
                "adults": [t.adults for t in tickets],
                "children": [t.children for t in tickets],
                "valid_from": [t.valid_from.isoformat() for t in tickets],
                "valid_to": [t.valid_to.isoformat() for t in tickets],
                "guardian_phone": [t.guardian_phone for t in tickets],
                "guardian_registered": [t.guardian_registered for t in tickets],
                "session": [t.session for t in tickets],
                "leaders": [t.leaders for t in tickets],
            }
        },
        "bands": {
            str(i): {"role": role.value, "uid": [u for u, r in index.bands.items() if r is role]}
            for i, role in enumerate(BAND_ROLES.values(), start=1)
        },
        "staff": {"1": {"uid": list(index.staff), "name": list(index.staff.values())}},
        "revoked": {"1": {"value": list(index.revoked), "reason": list(index.revoked.values())}},
    }


def _decode(tables: Tables, path: Path) -> Allowlist:
    """The index of a snapshot's raw tables; `SnapshotError` if anything is off."""
    try:
        version, counts = _meta(tables)
        index = Allowlist(
            version,
            _tickets(
                _columns(tables, "tickets", TICKET_COLUMNS),
                _registered(tables),
                _optional(tables, "session"),
                _optional(tables, "leaders"),
            ),
            _bands(tables),
            dict(zip(*_columns(tables, "staff", ("uid", "name")), strict=True)),
            dict(zip(*_columns(tables, "revoked", ("value", "reason")), strict=True)),
        )
    except KeyError as exc:
        raise SnapshotError(path, f"not a complete allowlist snapshot: no {exc}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise SnapshotError(path, f"not a complete allowlist snapshot: {exc}") from exc
    found = {name: len(getattr(index, name)) for name in TABLES}
    if found != counts:
        raise SnapshotError(path, f"incomplete snapshot: holds {found}, its meta says {counts}")
    return index


def _from_hub(tables: Tables) -> bool:
    """The meta's `from_hub`; only a true boolean counts (a file written before it: local)."""
    return any(doc.get("from_hub") is True for doc in tables[META].values())


def _meta(tables: Tables) -> tuple[int, dict[str, int]]:
    docs = list(tables[META].values())
    if len(docs) != 1:
        raise ValueError(f"expected one meta document, found {len(docs)}")
    meta = docs[0]
    if meta["format"] != FORMAT:
        raise ValueError(f"snapshot format {meta['format']!r}, this version reads {FORMAT}")
    if type(meta["version"]) is not int:
        raise ValueError(f"version {meta['version']!r} is not a whole number")
    return meta["version"], dict(meta["counts"])


def _columns(tables: Tables, table: str, names: Sequence[str]) -> list[list[Any]]:
    """The columns of a table's documents, concatenated; all columns must be lists of one length."""
    columns: list[list[Any]] = [[] for _ in names]
    for doc in tables[table].values():
        cells = [doc[name] for name in names]
        if not all(isinstance(c, list) for c in cells) or len({len(c) for c in cells}) != 1:
            raise ValueError(f"{table}: columns {', '.join(names)} must be lists of one length")
        for column, more in zip(columns, cells, strict=True):
            column.extend(more)
    return columns


def _tickets(
    columns: list[list[Any]],
    registered: list[Any] | None,
    sessions: list[Any] | None,
    leaders: list[Any] | None,
) -> dict[str, Ticket]:
    day, same = _memo(date.fromisoformat), _memo(str)  # shared objects for repeated values
    flags = registered if registered is not None else [False] * len(columns[0])
    named = sessions if sessions is not None else [""] * len(columns[0])
    leads = leaders if leaders is not None else [0] * len(columns[0])
    return {
        code: Ticket(
            code, same(product), adults, children, day(start), day(end), phone, flag, same(sn), lead
        )
        for code, product, adults, children, start, end, phone, flag, sn, lead in zip(
            *columns, flags, named, leads, strict=True
        )
    }


def _optional(tables: Tables, name: str) -> list[Any] | None:
    """A tickets column added later (`session`, `leaders`), or None in a snapshot written
    before it (every ticket there is a whole day's, a family's)."""
    docs = list(tables["tickets"].values())
    if not docs or any(name not in doc for doc in docs):
        return None
    return _columns(tables, "tickets", (name,))[0]


def _registered(tables: Tables) -> list[bool] | None:
    """The `guardian_registered` column of the tickets, or None in a snapshot written before
    gates got the allowlist without phones (no ticket there is marked)."""
    docs = list(tables["tickets"].values())
    if not docs or any("guardian_registered" not in doc for doc in docs):
        return None
    return _columns(tables, "tickets", ("guardian_registered",))[0]


def _bands(tables: Tables) -> dict[str, Role]:
    bands: dict[str, Role] = {}
    for doc in tables["bands"].values():
        if not isinstance(doc["uid"], list):
            raise ValueError("bands: uid must be a list")
        bands.update(dict.fromkeys(doc["uid"], BAND_ROLES[doc["role"]]))
    return bands


def _memo(parse: Callable[[str], T]) -> Callable[[str], T]:
    cache: dict[str, T] = {}

    def parsed(text: str) -> T:
        value = cache.get(text)
        if value is None:
            value = cache[text] = parse(text)
        return value

    return parsed
