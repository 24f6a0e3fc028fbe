"""The gate's books: its own journal, what other gates told it (presence), and the state folded
from both. An entry is journalled first, then folded; after a restart the state is folded again.
"""

from __future__ import annotations

import logging
from typing import Any

from gate.core import Allowlist, Event, State, fold
from gate.core.hlc import ClockDriftError, Timestamp
from gate.link.codec import CodecError, event_to_dict, events_of
from gate.store.journal import Journal
from gate.store.presence import PresenceLog

log = logging.getLogger("gate")


class Ledger:
    """Owned by the loop: the parts record, fold and read the state through it."""

    def __init__(self, journal: Journal, presence: PresenceLog, allowlist: Allowlist) -> None:
        self.journal = journal
        self.presence = presence
        self.state = State(allowlist=allowlist)
        self.newest_hlc = ""  # the newest entry folded into the state, own or another gate's

    def record(self, kind: str, body: dict[str, Any], events: list[Event]) -> Any:
        """Journal an entry with its events (committed, fsync), then fold them: in that order."""
        entry = self.journal.append(kind, {**body, "events": [event_to_dict(e) for e in events]})
        self.newest_hlc = max(self.newest_hlc, str(entry.hlc))
        for event in events:
            fold(self.state, event)
        return entry

    def refold(self) -> int:
        """Fold the day again from an empty state with the same allowlist: the events skipped."""
        self.state = State(allowlist=self.state.allowlist)
        return self.rebuild()[1]

    def rebuild(self) -> tuple[int, int]:
        """Fold every journalled event again, with what other gates told this one, in hybrid
        logical clock order: the state as it was before the restart. Returns the events folded
        and those skipped: they name a band whose binding never reached this gate (it was
        partitioned, or its disk was full), which the gate then treats as one it never saw."""
        history: list[tuple[str, dict[str, Any]]] = list(self.presence.entries())
        after = 0
        while page := self.journal.entries_after(after, limit=5000):
            history.extend((str(entry.hlc), entry.body) for entry in page)
            after = page[-1].seq
        history.sort(key=lambda item: item[0])
        self.newest_hlc = history[-1][0] if history else ""
        try:  # what this gate decides next sorts after everything it knows, as when following
            if self.newest_hlc:
                self.journal.observe(Timestamp.parse(self.newest_hlc))
        except (ClockDriftError, ValueError) as exc:
            log.warning("state rebuild: newest known entry not observed: %s", exc)
        count = skipped = 0
        for _, body in history:
            try:
                events = events_of(body)
            except CodecError:
                skipped += 1
                continue
            for event in events:
                try:
                    fold(self.state, event)
                except (KeyError, ValueError):
                    skipped += 1
                    continue
                count += 1
        if count:
            log.info("state rebuilt from %d journalled events, %d inside", count, self.state.inside)
        if skipped:
            log.warning(
                "state rebuild: %d events skipped (their bindings never reached this gate)", skipped
            )
        return count, skipped
