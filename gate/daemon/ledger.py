"""The gate's books: its own journal, what other gates told it (presence), and the state folded
from both. An entry is journalled first, then folded; after a restart the state is folded again.

Entries from a peer back from an outage arrive late: older than what this gate folded already.
The state must then be folded again in hybrid-clock order, as the hub does. The last entries
are kept in memory, parsed, after a `base` state that folds everything before them, so a late
entry costs a copy of the base and a fold of at most `2 * WINDOW` entries, not a read of the
whole day from disk: a gate restarting beside busy peers answers at once. Only an entry older
than the whole window makes the ledger read its stores again.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from gate.core import Allowlist, Event, State, fold
from gate.core.hlc import ClockDriftError, Timestamp
from gate.link.codec import CodecError, event_to_dict, events_of
from gate.store.journal import Journal
from gate.store.presence import PresenceLog

log = logging.getLogger("gate")

WINDOW = 2048  # entries kept in memory after the base; the window grows to twice this


class Ledger:
    """Owned by the loop: the parts record, fold and read the state through it."""

    def __init__(self, journal: Journal, presence: PresenceLog, allowlist: Allowlist) -> None:
        self.journal = journal
        self.presence = presence
        self.state = State(allowlist=allowlist)
        self.newest_hlc = ""  # the newest entry folded into the state, own or another gate's
        self._base = State(allowlist=allowlist)  # everything before the window, folded
        self._base_hlc = ""  # the newest entry folded into the base
        self._window: list[tuple[str, tuple[Event, ...]]] = []  # in hybrid-clock order
        self._outrun = False  # an entry older than the window came: only a rebuild places it
        self._carried: dict[str, Any] = {}  # body keys every decision recorded now carries

    @contextlib.contextmanager
    def carrying(self, **keys: Any) -> Iterator[None]:
        """Every decision entry recorded within carries `keys` in its body: a desk action asked
        for by the hub is journalled with the hub's request id (`gate.daemon.desk_actions`),
        whichever action function records it."""
        before, self._carried = self._carried, {**self._carried, **keys}
        try:
            yield
        finally:
            self._carried = before

    def record(self, kind: str, body: dict[str, Any], events: list[Event]) -> Any:
        """Journal an entry with its events (committed, fsync), then fold them: in that order."""
        carried = self._carried if kind == "decision" else {}
        encoded = [event_to_dict(e) for e in events]
        entry = self.journal.append(kind, {**body, **carried, "events": encoded})
        self.follow(str(entry.hlc), events)
        return entry

    def follow(self, hlc: str, events: list[Event] | tuple[Event, ...]) -> None:
        """Fold an entry newer than every other (this gate's own, or a peer's in order). Raises
        KeyError or ValueError when it refers to what this gate has not folded: the state then
        holds part of it, and `refold` puts it right."""
        self.newest_hlc = max(self.newest_hlc, hlc)
        self._keep(hlc, tuple(events))
        for event in events:
            fold(self.state, event)

    def late(self, hlc: str, events: list[Event] | tuple[Event, ...]) -> None:
        """Keep an entry older than the newest folded one, for the next `refold`."""
        self._outrun = self._outrun or hlc <= self._base_hlc
        self._keep(hlc, tuple(events))

    def refold(self) -> int:
        """Fold the day again in hybrid-clock order, with the allowlist in use: the window's
        entries over a copy of the base, or, after an entry older than the window, everything
        read again from the stores. Returns the events skipped (see `rebuild`)."""
        allowlist = self.state.allowlist
        if self._outrun:
            log.info("an entry older than the last %d folded: reading the day again", WINDOW)
            self.state = State(allowlist=allowlist)
            return self.rebuild()[1]
        self._window.sort(key=lambda item: item[0])
        self.state = self._base.copy()
        self.state.allowlist = allowlist
        _, skipped = _fold_all(self.state, (events for _, events in self._window))
        if self._window:
            self.newest_hlc = max(self.newest_hlc, self._window[-1][0])
        return skipped

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
        parsed: list[tuple[str, tuple[Event, ...]]] = []
        unreadable = 0
        for hlc, body in history:
            try:
                parsed.append((hlc, tuple(events_of(body))))
            except CodecError:
                unreadable += 1
        split = max(0, len(parsed) - WINDOW)
        self._base = State(allowlist=self.state.allowlist)
        count, skipped = _fold_all(self._base, (events for _, events in parsed[:split]))
        self._base_hlc = parsed[split - 1][0] if split else ""
        self._window = parsed[split:]
        self._outrun = False
        self.state = self._base.copy()
        tail = _fold_all(self.state, (events for _, events in self._window))
        count, skipped = count + tail[0], skipped + tail[1] + unreadable
        if count:
            log.info("state rebuilt from %d journalled events, %d inside", count, self.state.inside)
        if skipped:
            log.warning(
                "state rebuild: %d events skipped (their bindings never reached this gate)", skipped
            )
        return count, skipped

    def _keep(self, hlc: str, events: tuple[Event, ...]) -> None:
        """Keep an entry in the window (in order when it is the newest); a window grown to twice
        its size folds its older half into the base."""
        if not events:
            return
        if self._window and hlc < self._window[-1][0]:
            bisect.insort(self._window, (hlc, events), key=lambda item: item[0])
        else:
            self._window.append((hlc, events))
        if len(self._window) < 2 * WINDOW or self._outrun:
            return
        older, self._window = self._window[:WINDOW], self._window[WINDOW:]
        _fold_all(self._base, (events for _, events in older))
        self._base_hlc = older[-1][0]


def _fold_all(state: State, entries: Any) -> tuple[int, int]:
    """Fold each entry's events into `state`; an event that names what the state has not seen
    is skipped. Returns the events folded and skipped."""
    count = skipped = 0
    for events in entries:
        for event in events:
            try:
                fold(state, event)
            except (KeyError, ValueError):
                skipped += 1
                continue
            count += 1
    return count, skipped
