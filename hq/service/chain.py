"""The chain as head office holds it: every venue's store and its fold, fed from the stream.

    chain = Chain(state_dir)
    ack = chain.take(subject, payload, now_ms)   # an entry batch: stored, folded, Ack to publish
    chain.venue_rows(now_ms, stale_after_s)      # the chain's page and /api/venues

Each venue's entries are folded with the hub's own fold (`hub.fold.reconcile.VenueState` over
head office's copy of the hub's store), so the headcount and the unaccompanied children here are
computed from the entries, not trusted from the summary; the summary gives freshness, the
alerts and what the hub itself says, shown beside ours when the two disagree.

What comes from a venue is hostile until read: a subject or payload that is not the chain's, or
of another venue than its subject, is refused with a reason (`Refusal`), counted and dropped.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hq.service.sheets import chain_total, venue_sheet
from hq.store.venue import VenueStore, venues_in
from hub.chain.wire import Ack, ProtocolError, read_batch, read_summary, venue_of_subject
from hub.fold.reconcile import VenueState

log = logging.getLogger("hq")

COMPARED = ("inside", "children", "unaccompanied_children")


class Refusal(Exception):
    """A message refused for what it says: `reason` is one of REASONS, `detail` the why."""

    REASONS = ("subject", "payload", "entries")

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass
class VenueBook:
    store: VenueStore
    state: VenueState
    heard_ms: int | None = None  # head office's clock, when the venue was last heard


class Chain:
    """Every venue's store and fold. One writer (the consumer); readers from any thread."""

    def __init__(self, state_dir: Path, default_tz: str = "UTC") -> None:
        self.state_dir = Path(state_dir)
        self.default_tz = default_tz
        self.refused: Counter[str] = Counter()
        self.stored = 0  # entries new to head office since it started
        self._books: dict[str, VenueBook] = {}
        self._lock = threading.Lock()
        for venue in venues_in(self.state_dir):
            self._book(venue)

    def _book(self, venue: str) -> VenueBook:
        with self._lock:
            book = self._books.get(venue)
            if book is None:
                store = VenueStore(self.state_dir, venue)
                book = self._books[venue] = VenueBook(store, VenueState(store.events))
            return book

    # --- fed by the consumer --------------------------------------------------------------

    def take(self, subject: str, payload: bytes, now_ms: int) -> Ack | None:
        """Store what a message of the stream says; the venue's acknowledgement to publish after
        an entry batch. Refusal when it is not the chain's; sqlite3.Error when the disk fails
        (nothing acknowledged: the message comes again)."""
        try:
            venue, what = venue_of_subject(subject)
        except ProtocolError as exc:
            raise self._refuse("subject", str(exc)) from None
        if what == "summary":
            try:
                summary = read_summary(payload, venue)
            except ProtocolError as exc:
                raise self._refuse("payload", f"{venue} summary: {exc}") from None
            book = self._book(venue)
            book.store.set_summary(summary, now_ms)
            book.heard_ms = now_ms
            return None
        try:
            batch = read_batch(payload, venue)
        except ProtocolError as exc:
            raise self._refuse("payload", f"{venue} entries: {exc}") from None
        book = self._book(venue)
        try:
            outcome = book.store.add(batch, now_ms)
        except ValueError as exc:
            raise self._refuse("entries", f"{venue} {batch.first}..{batch.last}: {exc}") from None
        book.heard_ms = now_ms
        self.stored += outcome.new
        if outcome.conflicts:
            log.error(
                "%s: %d entries under numbers already kept with other entries (its hub's store "
                "replaced?): the first kept",
                venue,
                outcome.conflicts,
            )
        if outcome.stored:
            book.state.add(outcome.stored)
        return Ack(venue=venue, upto=outcome.upto)

    def _refuse(self, reason: str, detail: str) -> Refusal:
        self.refused[reason] += 1
        log.warning("refused (%s): %s", reason, detail[:300])
        return Refusal(reason, detail)

    def refresh(self) -> None:
        """Each venue's fold rebuilt where late entries wait (debounced by the fold)."""
        for book in self.books():
            book.state.refresh()

    def acks(self) -> list[Ack]:
        return [Ack(venue=v, upto=b.store.upto()) for v, b in self.items()]

    # --- read by the page and the API ---------------------------------------------------------

    def items(self) -> list[tuple[str, VenueBook]]:
        with self._lock:
            return sorted(self._books.items())

    def books(self) -> list[VenueBook]:
        return [b for _, b in self.items()]

    def venues(self) -> list[str]:
        return [v for v, _ in self.items()]

    def venue_row(self, venue: str, now_ms: int, stale_after_s: float) -> dict[str, Any] | None:
        with self._lock:
            book = self._books.get(venue)
        if book is None:
            return None
        count = book.state.headcount()
        counts = book.store.counts()
        said = counts.summary or {}
        age_s = (now_ms - book.heard_ms) / 1000 if book.heard_ms is not None else None
        hub = {k: said.get(k) for k in (*COMPARED, "live", "stale_since", "at_ms", "day")}
        ours = {"inside": count.inside, "children": count.children}
        ours["unaccompanied_children"] = count.unaccompanied_children
        return {
            "venue": venue,
            **ours,
            "hub": hub,
            "disagree": bool(said) and any(said.get(k) != ours[k] for k in COMPARED),
            "alerts": said.get("alerts", {"count": 0, "kinds": {}}),
            "incidents": said.get("incidents", 0),
            "lost_children": said.get("lost_children", 0),
            "heard_at": _iso(book.heard_ms),
            "age_s": round(age_s, 1) if age_s is not None else None,
            "stale": age_s is None or age_s > stale_after_s or not said.get("live", False),
            "provisional": book.state.stale,  # late entries wait for the fold's rebuild
            "entries_at_hq": counts.upto,
            "entries_at_hub": said.get("entries"),
            "highest": counts.highest,
            "duplicates": counts.duplicates,
            "conflicts": counts.conflicts,
            "timezone": said.get("timezone") or self.default_tz,
        }

    def venue_rows(self, now_ms: int, stale_after_s: float) -> list[dict[str, Any]]:
        rows = (self.venue_row(v, now_ms, stale_after_s) for v in self.venues())
        return [r for r in rows if r is not None]

    def sheets(self, day: date, venues: list[str]) -> dict[str, Any]:
        """`day`'s sheet of each of `venues` (in its own time zone) and their total."""
        per_venue = {}
        for venue in venues:
            with self._lock:
                book = self._books.get(venue)
            if book is None:
                continue
            said = book.store.counts().summary or {}
            per_venue[venue] = venue_sheet(book.store.events, day, self._tz(said.get("timezone")))
        return {
            "day": day.isoformat(),
            "venues": per_venue,
            "chain": chain_total(per_venue.values()),
        }

    def _tz(self, name: str | None) -> ZoneInfo:
        for candidate in (name, self.default_tz, "UTC"):
            if candidate:
                try:
                    return ZoneInfo(candidate)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
        return ZoneInfo("UTC")

    def close(self) -> None:
        for book in self.books():
            book.store.close()


def _iso(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms is not None else None
