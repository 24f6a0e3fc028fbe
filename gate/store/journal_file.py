"""The journal's SQLite file: the writer's lock, creating and opening it with its settings and
schema (see `gate.store.journal`), and `JournalError`, which every failure of a journal raises."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from gate.store.durable import fsync_directory

SCHEMA_VERSION = 1
WAL_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default: about 4 MB of WAL between checkpoints
JOURNAL_SIZE_LIMIT = 8 << 20  # above the WAL's steady size, so it is reused, not truncated
FILE_MODE = 0o600  # bodies name wristbands and may carry guardians' phone numbers
LOCK_SUFFIX = "-lock"

_SCHEMA = (
    """CREATE TABLE entries (
        seq     INTEGER PRIMARY KEY,  -- 1, 2, 3... per gate, never reused
        nonce   TEXT    NOT NULL,     -- 16 random hex digits
        wall_ms INTEGER NOT NULL,     -- the gate's wall clock at append, ms since the epoch
        hlc     TEXT    NOT NULL,     -- hybrid timestamp, as text that sorts in time order
        kind    TEXT    NOT NULL,
        body    TEXT    NOT NULL      -- a JSON object
    ) STRICT""",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY NOT NULL) STRICT, WITHOUT ROWID",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)


class JournalError(Exception):
    """The journal cannot be opened, read or written. Names the file; `reason` says why."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"journal {self.path}: {reason}")


def lock_for_writing(path: Path) -> int:
    """Take this writer's exclusive lock, on `<path>-lock`; returns the descriptor holding it.

    A file of its own: a descriptor on the database itself could not be closed without dropping
    the POSIX locks SQLite holds on it in this process. The file stays (removing a lock file
    races with the next writer taking it).
    """
    lock_path = path.with_name(path.name + LOCK_SUFFIX)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        raise JournalError(path, f"cannot be opened for writing: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JournalError(path, "another process is writing this journal") from None
    return fd


def create_file(path: Path) -> None:
    """Create a missing journal file with mode 0600, which SQLite then gives its WAL too."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE))
    except FileExistsError:
        if not path.is_file():
            raise JournalError(path, "is not a file") from None
    except OSError as exc:
        raise JournalError(path, f"cannot be created: {exc.strerror}") from exc


def open_for_writing(path: Path, gate_id: str) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(path, isolation_level=None)  # autocommit: one statement, one commit
    except sqlite3.Error as exc:
        raise JournalError(path, f"cannot be opened: {exc}") from exc
    try:
        _configure(path, db, gate_id)
    except BaseException:
        db.close()
        raise
    return db


def _configure(path: Path, db: sqlite3.Connection, gate_id: str) -> None:
    try:
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise JournalError(path, f"cannot use WAL mode (journal_mode is {mode})")
        db.execute("PRAGMA synchronous = FULL")
        db.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        db.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
        if check_schema(path, db) == 0:
            _create(path, db, gate_id)
        (owner,) = db.execute("SELECT value FROM meta WHERE key = 'gate'").fetchone()
    except sqlite3.Error as exc:
        raise JournalError(path, f"cannot be opened: {exc}") from exc
    if owner != gate_id:
        raise JournalError(path, f"belongs to gate {owner!r}, not {gate_id!r}")


def check_schema(path: Path, db: sqlite3.Connection) -> int:
    """The schema version: 0 for an empty file, else SCHEMA_VERSION; JournalError otherwise."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    (tables,) = db.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    if version == 0 and tables == 0:
        return 0
    if version == 0:
        raise JournalError(path, "not a wristgate journal (a SQLite file of something else)")
    if version != SCHEMA_VERSION:
        raise JournalError(path, f"schema version {version}, this program reads {SCHEMA_VERSION}")
    return int(version)


def _create(path: Path, db: sqlite3.Connection, gate_id: str) -> None:
    """The tables and the owner, in one transaction: a crash leaves an empty file or a journal."""
    with transaction(db):
        for statement in _SCHEMA:
            db.execute(statement)
        db.execute("INSERT INTO meta (key, value) VALUES ('gate', ?)", (gate_id,))
    fsync_directory(path.parent)  # the new file's name must survive a power cut too


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One transaction over several statements (the connection is in autocommit mode)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
