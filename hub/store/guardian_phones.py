"""The walk-in children's guardian phones, in full, as the desks sent them to the hub alone
(`gate.link.guardian_phone`; the events every gate hears hold them masked): kept in their own
file beside the event store (`guardian_phones.db`, readable by its owner only), one row a
group, for staff lookups, the staff's report and the notifier, across restarts.

    book = GuardianPhoneBook(state_dir / "guardian_phones.db")
    book.put("D1", "W-D1-20260718-1", "13800138000", at_ms)   # True when new or changed
    book.all()  -> {"W-D1-20260718-1": "13800138000"}
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

FILE_MODE = 0o600


class GuardianPhoneBook:
    def __init__(self, path: Path) -> None:
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        self._lock = threading.Lock()
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS guardian_phones ("
            "grp TEXT PRIMARY KEY, gate TEXT NOT NULL, phone TEXT NOT NULL, at_ms INTEGER)"
        )

    def put(self, gate: str, group: str, phone: str, at_ms: int) -> bool:
        """Keep `group`'s phone as desk `gate` sent it; True when it was not held so."""
        with self._lock:
            held = self.db.execute(
                "SELECT gate, phone FROM guardian_phones WHERE grp = ?", (group,)
            ).fetchone()
            if held == (gate, phone):
                return False
            self.db.execute(
                "INSERT OR REPLACE INTO guardian_phones (grp, gate, phone, at_ms) "
                "VALUES (?, ?, ?, ?)",
                (group, gate, phone, at_ms),
            )
            return True

    def all(self) -> dict[str, str]:
        with self._lock:
            rows = self.db.execute("SELECT grp, phone FROM guardian_phones").fetchall()
        return {str(g): str(p) for g, p in rows}

    def close(self) -> None:
        self.db.close()
