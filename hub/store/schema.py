"""The event store's SQLite file: its tables, how it is opened (WAL, `synchronous=FULL`, mode
0600) and brought up to this program's schema, and its transactions.

Schema (`PRAGMA user_version` = 5; an older store gets the tables it lacks when opened):

    entries(gate, seq, nonce, hlc, wall_ms, kind, body, received_ms, PRIMARY KEY (gate, seq))
        index entries_by_hlc (hlc, gate, seq)     -- the venue's order: hybrid time, then gate
    gates(gate PRIMARY KEY, acked, highest, stored, duplicates, conflicts,
          first_seen_ms, last_seen_ms, status, status_ms, skew_ms)
    conflicts(gate, seq, nonce, hlc, wall_ms, kind, body, received_ms, kept_nonce,
              PRIMARY KEY (gate, seq, nonce))     -- entries refused for a reused (gate, seq)
    quarantine(gate, seq, nonce, hlc, wall_ms, kind, body, received_ms, reason, detail, size,
               PRIMARY KEY (gate, seq, nonce))    -- entries a gate may not have written
    incidents(id, class, what, source, gates, started_ms, ended_ms, offline, drill, detail,
              offline_scans, conflicts, reconciled_ms)  -- outages and faults (hub/store/incidents)
    drills(id, kind, gate, started_ms, ended_ms, by, until_ms, record)  -- rehearsals
    family_incidents(id, kind, grp, band, opened_ms, opened_by, note, closed_ms, closed_by,
                     outcome)          -- lost children, separated families (family_incidents)
    band_stock(id, at_ms, day, desk, shift, kind, count, band, reason, by)
                                       -- wristbands taken, returned, written off (band_stock)
    hub_revocations(id, at_ms, command, value, reason, by, version)
                                       -- `hub revoke` / `hub restore` (hub_revocations)
    chain_order(vseq INTEGER PRIMARY KEY, gate, seq)  -- the venue sequence: every entry
                                       numbered as it is stored (trigger chain_numbered)
    chain_ack(id = 1, acked, acked_ms) -- what head office acknowledged (hub.store.chain)

The chain's tables come with every version: made when missing at each opening, numbering the
entries already stored in the order they were stored. The trigger lives in the file, so every
entry is numbered whichever program stores it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

SCHEMA_VERSION = 5
FILE_MODE = 0o600  # bodies name wristbands and may carry guardians' phone numbers

_SCHEMA = (
    """CREATE TABLE entries (
        gate        TEXT    NOT NULL,
        seq         INTEGER NOT NULL,  -- the gate's journal sequence: 1, 2, 3...
        nonce       TEXT    NOT NULL,  -- tells a resent entry from another one with its seq
        hlc         TEXT    NOT NULL,  -- hybrid timestamp, text that sorts in time order
        wall_ms     INTEGER NOT NULL,  -- the gate's wall clock at append (may be wrong)
        kind        TEXT    NOT NULL,
        body        TEXT    NOT NULL,  -- a JSON object
        received_ms INTEGER NOT NULL,  -- the hub's clock when first stored
        PRIMARY KEY (gate, seq)
    ) STRICT""",
    "CREATE INDEX entries_by_hlc ON entries (hlc, gate, seq)",
    """CREATE TABLE gates (
        gate          TEXT PRIMARY KEY,
        acked         INTEGER NOT NULL DEFAULT 0,  -- every seq in 1..acked is stored
        highest       INTEGER NOT NULL DEFAULT 0,  -- highest seq stored
        stored        INTEGER NOT NULL DEFAULT 0,
        duplicates    INTEGER NOT NULL DEFAULT 0,
        conflicts     INTEGER NOT NULL DEFAULT 0,  -- distinct conflicting entries
        first_seen_ms INTEGER,
        last_seen_ms  INTEGER,
        status        TEXT,                        -- the last GateStatus, JSON
        status_ms     INTEGER,                     -- when it was received
        skew_ms       INTEGER                      -- its wall_ms minus status_ms, when live
    ) STRICT""",
    """CREATE TABLE conflicts (
        gate        TEXT    NOT NULL,
        seq         INTEGER NOT NULL,
        nonce       TEXT    NOT NULL,
        hlc         TEXT    NOT NULL,
        wall_ms     INTEGER NOT NULL,
        kind        TEXT    NOT NULL,
        body        TEXT    NOT NULL,
        received_ms INTEGER NOT NULL,
        kept_nonce  TEXT    NOT NULL,
        PRIMARY KEY (gate, seq, nonce)
    ) STRICT""",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
_QUARANTINE = """CREATE TABLE IF NOT EXISTS quarantine (
        gate        TEXT    NOT NULL,
        seq         INTEGER NOT NULL,
        nonce       TEXT    NOT NULL,
        hlc         TEXT    NOT NULL,
        wall_ms     INTEGER NOT NULL,
        kind        TEXT    NOT NULL,
        body        TEXT    NOT NULL,  -- its first QUARANTINE_BODY characters
        received_ms INTEGER NOT NULL,
        reason      TEXT    NOT NULL,  -- gate.core.authority.Reason
        detail      TEXT    NOT NULL,
        size        INTEGER NOT NULL,  -- the whole body's length
        PRIMARY KEY (gate, seq, nonce)
    ) STRICT"""
_INCIDENTS = (
    """CREATE TABLE IF NOT EXISTS incidents (
        id            INTEGER PRIMARY KEY,
        class         TEXT    NOT NULL,  -- network, broker, reader, scanner, disk, clock, power
        what          TEXT    NOT NULL,  -- hub.store.incidents.WHAT: broker_down, gate_offline...
        source        TEXT    NOT NULL,  -- "broker", "hub" or a gate's id
        gates         TEXT    NOT NULL,  -- JSON list: the gates it cut off or touched
        started_ms    INTEGER NOT NULL,  -- the hub's clock
        ended_ms      INTEGER,           -- NULL while it lasts
        offline       INTEGER NOT NULL,  -- 1: an outage (offline mode), 0: a fault
        drill         INTEGER,           -- drills.id when it is a rehearsal
        detail        TEXT    NOT NULL,
        offline_scans INTEGER,           -- scans the gates decided cut off, once reconciled
        conflicts     INTEGER,           -- what the reconciliation found on those gates
        reconciled_ms INTEGER            -- when every cut-off gate's backlog was at the hub
    ) STRICT""",
    "CREATE INDEX IF NOT EXISTS incidents_by_start ON incidents (started_ms)",
    """CREATE TABLE IF NOT EXISTS drills (
        id         INTEGER PRIMARY KEY,
        kind       TEXT    NOT NULL,     -- broker-cut, reader-removed
        gate       TEXT    NOT NULL,
        started_ms INTEGER NOT NULL,
        until_ms   INTEGER NOT NULL,     -- when the gate ends it by itself at the latest
        ended_ms   INTEGER,
        by         TEXT    NOT NULL,     -- who started it, as the kernel named them
        record     TEXT                  -- JSON, written at its end
    ) STRICT""",
)
_DESK = (  # version 4: what the entry desk records at the hub
    """CREATE TABLE IF NOT EXISTS family_incidents (
        id         INTEGER PRIMARY KEY,
        kind       TEXT    NOT NULL,     -- lost_child, separated_family
        grp        TEXT    NOT NULL,     -- the group (ticket code) of the family
        band       TEXT    NOT NULL,     -- the band it was opened by, "" when by the ticket
        opened_ms  INTEGER NOT NULL,     -- the hub's clock
        opened_by  TEXT    NOT NULL,     -- who: a token's holder, or the kernel's name of a user
        note       TEXT    NOT NULL,
        closed_ms  INTEGER,              -- NULL while it is open
        closed_by  TEXT,
        outcome    TEXT                  -- found, cancelled
    ) STRICT""",
    "CREATE INDEX IF NOT EXISTS family_incidents_by_open ON family_incidents (opened_ms)",
    """CREATE TABLE IF NOT EXISTS band_stock (
        id      INTEGER PRIMARY KEY,
        at_ms   INTEGER NOT NULL,        -- the hub's clock
        day     TEXT    NOT NULL,        -- the venue's day, YYYY-MM-DD
        desk    TEXT    NOT NULL,
        shift   TEXT    NOT NULL,
        kind    TEXT    NOT NULL,        -- taken, returned, written_off
        count   INTEGER NOT NULL,
        band    TEXT    NOT NULL,        -- one band handed back, else ""
        reason  TEXT    NOT NULL,        -- why written off
        by      TEXT    NOT NULL
    ) STRICT""",
    "CREATE INDEX IF NOT EXISTS band_stock_by_day ON band_stock (day, desk, at_ms)",
)
_REVOCATIONS = (  # version 5: revocations typed at the hub, for the daily report
    """CREATE TABLE IF NOT EXISTS hub_revocations (
        id       INTEGER PRIMARY KEY,
        at_ms    INTEGER NOT NULL,         -- the hub's clock
        command  TEXT    NOT NULL,         -- revoke, restore
        value    TEXT    NOT NULL,         -- the band UID or ticket code
        reason   TEXT    NOT NULL,         -- why revoked ("" for a restore)
        by       TEXT    NOT NULL,         -- the user on the hub's machine: "ana (uid 1001)"
        version  INTEGER NOT NULL          -- the allowlist's version it made
    ) STRICT""",
    "CREATE INDEX IF NOT EXISTS hub_revocations_by_time ON hub_revocations (at_ms)",
)


_CHAIN = (  # the venue sequence head office is sent (hub.store.chain)
    """CREATE TABLE IF NOT EXISTS chain_order (
        vseq INTEGER PRIMARY KEY,        -- 1, 2, 3... in the order entries were stored
        gate TEXT    NOT NULL,
        seq  INTEGER NOT NULL
    ) STRICT""",
    """CREATE TRIGGER IF NOT EXISTS chain_numbered AFTER INSERT ON entries BEGIN
        INSERT INTO chain_order (gate, seq) VALUES (new.gate, new.seq);
    END""",
    """CREATE TABLE IF NOT EXISTS chain_ack (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        acked    INTEGER NOT NULL,       -- head office holds every entry 1..acked
        acked_ms INTEGER NOT NULL        -- the hub's clock when it heard so
    ) STRICT""",
)


class StoreError(Exception):
    """The store cannot be opened or is not a hub event store. Names the file."""


def open_database(path: Path) -> sqlite3.Connection:
    """The store's database at `path` (created, readable by its owner only, if missing), in
    WAL mode with `synchronous=FULL` and this program's schema. Raises StoreError."""
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"event store {path}: cannot be opened: {exc}") from exc
    try:
        _configure(db, path)
    except BaseException:
        db.close()
        raise
    return db


def _configure(db: sqlite3.Connection, path: Path) -> None:
    try:
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise StoreError(f"event store {path}: cannot use WAL (mode is {mode})")
        db.execute("PRAGMA synchronous = FULL")
        (version,) = db.execute("PRAGMA user_version").fetchone()
        (tables,) = db.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        if version == 0 and tables == 0:
            with transaction(db):
                for statement in (*_SCHEMA, _QUARANTINE, *_INCIDENTS, *_DESK, *_REVOCATIONS):
                    db.execute(statement)
        elif version in (1, 2, 3, 4):  # the store of an earlier release: add what it lacks
            with transaction(db):
                for statement in (_QUARANTINE, *_INCIDENTS, *_DESK, *_REVOCATIONS):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            raise StoreError(
                f"event store {path}: schema version {version}, "
                f"this program reads {SCHEMA_VERSION} (or not a hub event store)"
            )
        _add_chain(db)
    except sqlite3.Error as exc:
        raise StoreError(f"event store {path}: cannot be opened: {exc}") from exc


def _add_chain(db: sqlite3.Connection) -> None:
    """The chain's tables when missing; the entries already stored numbered in stored order."""
    if db.execute("SELECT 1 FROM sqlite_schema WHERE name = 'chain_numbered'").fetchone():
        return
    with transaction(db):
        for statement in _CHAIN:
            db.execute(statement)
        db.execute(
            "INSERT INTO chain_order (gate, seq) SELECT gate, seq FROM entries "
            "WHERE NOT EXISTS (SELECT 1 FROM chain_order c "
            "WHERE c.gate = entries.gate AND c.seq = entries.seq) ORDER BY rowid"
        )


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # a failed COMMIT may leave it open
            db.execute("ROLLBACK")
        raise
