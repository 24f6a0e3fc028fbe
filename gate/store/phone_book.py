"""The guardians' phones this desk registered for walk-in children, in full: kept on the desk
alone (its journal, which every gate hears, holds the phone masked: `ChildRegistered`), for the
pickup code it sends to the hub for the guardian and for the hub itself (`gate/{desk}/guardian`,
`gate.link.guardian_phone`), which the desk sends again each time it connects until the day's
end.

    book = PhoneBook(state_dir / "guardian_phones.json")
    book.put("W-D1-20260718-1", "13800138000")
    book.get("W-D1-20260718-1")  -> "13800138000"

The file is JSON, mode 0600, replaced whole (written, synced, renamed, its folder synced); at
most MAX_KEPT numbers, the oldest dropped first. A file that cannot be read is set aside
(`.unreadable`) and the book starts empty, saying so: the journal still has every walk-in.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from gate.store.durable import fsync_directory

log = logging.getLogger("gate")

MAX_KEPT = 2000
MOBILE = re.compile(r"1\d{10}")
GROUP = re.compile(r"[^\s\x00-\x1f\x7f]{1,64}")


def _kept(group: object, phone: object) -> bool:
    return isinstance(group, str) and isinstance(phone, str) and _valid(group, phone)


def _valid(group: str, phone: str) -> bool:
    return bool(GROUP.fullmatch(group) and MOBILE.fullmatch(phone))


class PhoneBook:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.phones: dict[str, str] = self._read()

    def _read(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        try:
            found = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(found, dict):
                raise ValueError("not an object of groups and phones")
            return {
                g: p
                for g, p in found.items()
                if isinstance(g, str)
                and GROUP.fullmatch(g)
                and isinstance(p, str)
                and MOBILE.fullmatch(p)
            }
        except (OSError, ValueError) as exc:
            aside = self.path.with_suffix(".unreadable")
            os.replace(self.path, aside)
            log.error("guardian phones %s unreadable (%s): set aside as %s", self.path, exc, aside)
            return {}

    def get(self, group: str) -> str:
        return self.phones.get(group, "")

    def put(self, group: str, phone: str) -> None:
        """Keep `group`'s guardian phone (a mobile number as the desk writes it)."""
        if not _valid(group, phone):
            raise ValueError("a walk-in group and a mobile number of 11 digits")
        self.phones.pop(group, None)
        self.phones[group] = phone
        while len(self.phones) > MAX_KEPT:
            del self.phones[next(iter(self.phones))]
        self._write()

    def items(self) -> list[tuple[str, str]]:
        return list(self.phones.items())

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = self.path.with_suffix(".new")
        fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.phones, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(new, self.path)
        fsync_directory(self.path.parent)
