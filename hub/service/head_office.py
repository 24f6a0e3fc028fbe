"""The venue's side of the chain's head office (hub.toml's `[hq]`): the hub forwards its
journal entries and a summary of itself to its own broker, whose bridge carries them out
(`deploy.hq_bridge`), and keeps head office's acknowledgement on disk.

    {prefix}/hq/venue/{venue}/entries   EntryBatch: venue sequence from..to (hub.store.chain)
    {prefix}/hq/venue/{venue}/summary   Summary, every `summary_every_s` and on change
    {prefix}/hq/ack/{venue}             Ack from head office: it holds every entry 1..upto

The same rule as gate -> hub: nothing lost, nothing twice, the hub the source of truth. The hub
sends everything above head office's watermark, at most `window_entries` ahead of it; when the
watermark has not moved for `resend_after_s` with entries outstanding, or the hub's broker
connection comes back, it sends again from the watermark (head office stores idempotently, so
a batch sent twice changes nothing). An acknowledgement below the watermark (head office
restored from a backup) moves it back and the hub sends again from there; one beyond what
the hub holds is refused and counted.

It never blocks: it only publishes to the hub's own broker (paho queues), on the hub's loop,
whether head office, the cluster or the bridge is there or not. Ingest, gates and the display
never wait for it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from hub.chain.wire import (
    MAX_BATCH_BYTES,
    AlertCounts,
    ChainEntry,
    ChainTopics,
    EntryBatch,
    ProtocolError,
    Summary,
    dump,
    read_ack,
)
from hub.service.config import HqSection
from hub.service.readout import Readout
from hub.store.events import EventStore
from hub.store.records import StoredEntry

log = logging.getLogger("hub")

Publish = Callable[..., None]
SUMMARY_CHECK_S = 2.0  # how often the summary is made to see whether it changed


class HeadOfficeLink:
    """See the module's docstring. Runs on the hub's loop only."""

    def __init__(
        self,
        section: HqSection,
        prefix: str,
        store: EventStore,
        publish: Publish,
        summary: Callable[[int, int], Summary],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.section, self.store, self.publish = section, store, publish
        self.venue = section.venue
        self.topics = ChainTopics(prefix)
        self.ack_topic = self.topics.ack(self.venue)
        self._summary, self.clock, self.wall_ms = summary, clock, wall_ms
        self.acked = store.chain.acked()
        self.sent = self.acked  # the last venue sequence published since the last resend
        self.counters: Counter[str] = Counter()
        self._progress_at = clock()
        self._summary_at = 0.0  # when the summary was last sent
        self._checked_at = -SUMMARY_CHECK_S  # ... and last made
        self._said: tuple[Any, ...] | None = None
        self.connected = False

    # --- the hub's loop -----------------------------------------------------------------------

    def link_up(self, subscribe: Callable[[str, int], Any]) -> None:
        """The hub's broker connection is (back) up: head office's acknowledgement read, and
        everything above it sent again."""
        subscribe(self.ack_topic, 1)
        self.connected = True
        self._resend("reconnected")

    def link_down(self) -> None:
        self.connected = False

    def takes(self, topic: str, payload: bytes) -> bool:
        """Whether this message was head office's (then handled here)."""
        if topic != self.ack_topic:
            return False
        if not payload:
            return True  # a retained acknowledgement cleared
        try:
            ack = read_ack(payload, self.venue)
        except ProtocolError as exc:
            self.counters["ack_refused"] += 1
            log.warning("head office: acknowledgement refused: %s", exc)
            return True
        last = self.store.chain.last()
        if ack.upto > last:
            self.counters["ack_refused"] += 1
            log.warning(
                "head office acknowledges %d entries of %s, this hub holds %d: refused "
                "(another venue's store under this venue id?)",
                ack.upto,
                self.venue,
                last,
            )
            return True
        if ack.upto == self.acked:
            return True
        if ack.upto < self.acked:
            self.counters["went_back"] += 1
            log.warning(
                "head office holds %d entries of %s, it had acknowledged %d: sending again",
                ack.upto,
                self.venue,
                self.acked,
            )
            self.sent = ack.upto
        self.store.chain.set_acked(ack.upto, self.wall_ms())
        self.acked = ack.upto
        self.sent = max(self.sent, self.acked)
        self._progress_at = self.clock()
        return True

    def tick(self) -> None:
        """Send what is due: entries above what was sent, within the window; a resend when head
        office has been quiet too long; the summary."""
        if not self.connected:
            return
        now = self.clock()
        if self.sent > self.acked and now - self._progress_at > self.section.resend_after_s:
            self._resend(f"no acknowledgement for {self.section.resend_after_s:.0f} s")
        self._send_entries()
        self._send_summary(now)

    def _resend(self, why: str) -> None:
        if self.sent > self.acked:
            self.counters["resends"] += 1
            log.info(
                "head office: sending %s's entries again from %d (%s)", self.venue, self.acked, why
            )
        self.sent = self.acked
        self._progress_at = self.clock()

    def _send_entries(self) -> None:
        s = self.section
        last = self.store.chain.last()
        while self.sent < last and self.sent - self.acked < s.window_entries:
            room = min(s.batch_entries, s.window_entries - (self.sent - self.acked))
            rows = self.store.chain.after(self.sent, room)
            if not rows:
                return
            payload, rows = _batch_payload(self.venue, rows)
            self.publish(self.topics.entries(self.venue), payload, qos=1)
            if self.sent == self.acked:
                self._progress_at = self.clock()  # the wait for an acknowledgement starts
            self.sent = rows[-1][0]
            self.counters["batches"] += 1
            self.counters["entries"] += len(rows)

    def _send_summary(self, now: float) -> None:
        if now - self._checked_at < SUMMARY_CHECK_S:
            return
        self._checked_at = now
        summary = self._summary(self.store.chain.last(), self.acked)
        said: tuple[Any, ...] = (summary.inside, summary.children, summary.live)
        said += (summary.unaccompanied_children, summary.alerts, summary.incidents)
        said += (summary.lost_children, summary.stale_since)
        if said == self._said and now - self._summary_at < self.section.summary_every_s:
            return
        self.publish(self.topics.summary(self.venue), dump(summary), qos=1)
        self._said, self._summary_at = said, now
        self.counters["summaries"] += 1

    def status(self) -> dict[str, Any]:
        """For `hub status`: how far head office is, and what was sent."""
        last = self.store.chain.last()
        return {
            "venue": self.venue,
            "entries": last,
            "acked": self.acked,
            "behind": last - self.acked,
            **self.counters,
        }


def _batch_payload(
    venue: str, rows: list[tuple[int, StoredEntry]]
) -> tuple[bytes, list[tuple[int, StoredEntry]]]:
    """One batch of the first of `rows` (halved while it is over MAX_BATCH_BYTES; one entry at
    least), and the rows it holds. Built without checking: each entry is what the hub stored,
    and what head office cannot read it refuses, counts and says."""
    while True:
        entries = tuple(ChainEntry.model_construct(**e._asdict()) for _, e in rows)
        batch = EntryBatch.model_construct(
            venue=venue, first=rows[0][0], last=rows[-1][0], entries=entries
        )
        payload = batch.dump()
        if len(payload) <= MAX_BATCH_BYTES or len(rows) == 1:
            return payload, rows
        rows = rows[: len(rows) // 2]


def venue_summary(views: Readout, venue: str) -> Callable[[int, int], Summary]:
    """What the hub says of itself to head office, from what its views read."""

    def summary(entries: int, acked: int) -> Summary:
        count = views.headcount()
        kinds = Counter(f.kind for f in views.findings())
        incidents = views.incidents.open_incidents() if views.incidents is not None else []
        lost = views.desk_records.incidents.open_ones() if views.desk_records is not None else []
        return Summary(
            venue=venue,
            at_ms=int(time.time() * 1000),
            day=views.today().isoformat(),
            timezone=str(views.policy.tz),
            inside=count.inside,
            children=count.children,
            unaccompanied_children=count.unaccompanied_children,
            alerts=AlertCounts(count=sum(kinds.values()), kinds=dict(kinds.most_common(64))),
            incidents=len(incidents),
            lost_children=sum(1 for i in lost if i.kind == "lost_child"),
            live=count.live,
            stale_since=count.stale_since,
            entries=entries,
            acked=acked,
        )

    return summary
