"""The link on the loop: the hub's acknowledgements, replays, roster and allowlist, other gates'
entries checked and folded as they come, and this gate's status. paho's thread only enqueues
(`gate.link.client`); everything here runs on the loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gate.control.metrics import Metrics
from gate.core.hlc import ClockDriftError, Timestamp
from gate.daemon.allowlist_keeper import AllowlistKeeper
from gate.daemon.clock_watch import ClockWatch, boot_id
from gate.daemon.desk_requests import DeskRequests
from gate.daemon.drill import GateDrill
from gate.daemon.ledger import Ledger
from gate.devices.nfc.reader import NfcReader
from gate.link.batches import WireBatch, read_events
from gate.link.client import Link, LinkDown, LinkMessage, LinkSubscribed, LinkUp
from gate.link.peers import Peers
from gate.link.protocol import (
    Ack,
    AllowlistChange,
    AllowlistSnapshot,
    DrillOrder,
    GateStatus,
    HubTime,
    ProtocolError,
    Replay,
    Roster,
    parse,
)
from gate.link.vetting import Refused
from gate.settings import GateSettings
from gate.store.allowlist import AllowlistError
from gate.store.presence import PresenceError

log = logging.getLogger("gate")


class LinkFollower:
    """What the link brings to the loop, and what the loop tells the hub of this gate."""

    def __init__(
        self,
        link: Link,
        settings: GateSettings,
        ledger: Ledger,
        peers: Peers,
        allowlists: AllowlistKeeper,
        reader: NfcReader | None,
        wall_ms: Callable[[], int],
        counters: dict[str, int],
        count: Callable[..., None],
        metrics: Metrics,
        clock: ClockWatch | None = None,
    ) -> None:
        self.link = link
        self.clock = clock
        self.boot = boot_id()[:64]  # the hub tells a reboot (a `power` incident) by a new one
        if clock is not None:  # entries of earlier runs: not this run's clock to judge
            clock.good_through = ledger.journal.last_seq
        self.gate_id, self.role = settings.id, settings.role
        self.presence_max_mib = settings.presence_max_mib
        self.ledger = ledger
        self.peers = peers
        self.allowlists = allowlists
        self.reader = reader
        self.wall_ms = wall_ms
        self.counters = counters
        self.count = count
        self.metrics = metrics
        self.rejected: dict[str, int] = {}  # link payloads dropped, by reason
        self.drill = GateDrill(link)  # a rehearsal the hub ordered (gate.daemon.drill)
        self.desk: DeskRequests | None = None  # the hub's console (a desk's; the gate sets it)
        self.linked: Callable[[], None] = lambda: None  # once up (a desk's guardian phones)
        # the scanner's problem and the disk's, for the status (the gate sets it)
        self.problems: Callable[[], tuple[str | None, str | None]] = lambda: (None, None)

    def handle(self, message: LinkUp | LinkDown | LinkSubscribed | LinkMessage) -> None:
        match message:
            case LinkSubscribed():
                if topic := self.link.answered(message):
                    self.count("link_subscription_refused")
                    log.error(
                        "link: the broker refused this gate's subscription to %s (its ACL): "
                        "the gate does not hear what is sent there",
                        topic,
                    )
            case LinkUp(session_present=resumed):
                if self.link.up(self.ledger.journal, resumed):
                    self.count("link_taken_over")
                self.send_status(force=True)
                self.linked()
                log.info("link up: %s:%d", self.link.settings.host, self.link.settings.port)
            case LinkDown(kind=kind):
                if self.link.down(message):  # not a refused attempt's socket closing
                    self.count(f"link_{kind}")
            case LinkMessage(topic=topic, payload=payload, retained=retained):
                try:
                    if topic == self.link.topics.hub_time:
                        self._hub_time(message)
                        return
                    self._route(topic, payload, retained)
                except ProtocolError as exc:
                    self.reject(topic, str(exc))
                except (AllowlistError, OSError) as exc:  # the hub sends it again on reconnect
                    self.count("allowlist_store_failed")
                    log.error("allowlist: cannot store the hub's: %s", exc)
                finally:  # handled: kept, or refused for good (killed before: sent again)
                    self.link.done(message)

    def tick(self) -> None:
        """Publish what the journal holds above what was sent; the status when it is due."""
        self.drill.tick()
        self.link.pump(self.ledger.journal)
        self.send_status()

    def send_status(self, force: bool = False) -> None:
        self.link.status(self.gate_status(), force=force)

    def _route(self, topic: str, payload: bytes, retained: bool) -> None:
        t, me = self.link.topics, self.gate_id
        if topic == t.ack(me):
            self.link.acknowledged(self.ledger.journal, parse(Ack, payload).seq)
        elif topic == t.replay(me):
            self.link.rewind(parse(Replay, payload).after, "replay requested by the hub")
        elif topic == self.link.allowlist_topics[0]:
            if self.allowlists.snapshot(parse(AllowlistSnapshot, payload)):
                self.send_status(force=True)
        elif topic == self.link.allowlist_topics[1]:
            if self.allowlists.change(parse(AllowlistChange, payload)):
                self.send_status(force=True)
        elif topic == t.drill(me):
            if retained:  # a drill is ordered live, never kept: left there by someone else
                self.count("retained_ignored")
                return
            order = parse(DrillOrder, payload)
            if order.gate != me:
                raise ProtocolError(f"drill for gate {order.gate} on {me}'s topic")
            self.drill.ordered(order)
            self.send_status(force=True)
        elif topic == t.desk(me) and self.desk is not None:
            if self.desk.heard(payload, retained):
                self.send_status(force=True)  # the console learns why it was not run
        elif topic == t.roster:
            self.peers.set_roster(parse(Roster, payload))
        elif (gate := t.gate_of(topic)) is not None and topic == t.events(gate):
            if not payload:  # a gate clearing its topic of retained messages (gate.link.client)
                return
            if retained:  # events are never retained: left there by someone else
                self.count("retained_ignored")
                return
            batch = read_events(payload)  # as parse(EventBatch), each body's text kept
            if batch.gate != gate:
                raise ProtocolError(f"batch of gate {batch.gate} on {gate}'s topic")
            if gate != me:
                self._follow(batch)
        else:
            raise ProtocolError("not a topic this gate reads")

    def _hub_time(self, message: LinkMessage) -> None:
        """The hub's clock: this gate's offset measured (`gate.daemon.clock_watch`). A retained
        one is old: no measure of anything."""
        hub = parse(HubTime, message.payload)
        if message.retained or self.clock is None:
            return
        journal = self.ledger.journal
        switched = self.clock.heard(hub.hub_ms, message.at_s, journal.last_seq)
        if switched:
            self.count("clock_corrected" if self.clock.corrected else "clock_own")
            if self.clock.corrected and journal.clock_put_right():
                log.info("clock: the hybrid clock put back to %s", journal.hlc)
        if (shift := self.clock.take_shift()) is not None:
            first, ms = shift
            entry = journal.append("clock", {"from_seq": first, "shift_ms": ms})
            self.clock.good_through = entry.seq
            log.warning(
                "clock: entries %d to %d were stamped %.1f s %s: journalled for the hub to order "
                "them where they happened (entry %d)",
                first,
                entry.seq - 1,
                abs(ms) / 1000,
                "early" if ms > 0 else "late",
                entry.seq,
            )
        if switched:
            self.send_status(force=True)

    def _follow(self, batch: WireBatch) -> None:
        """Another gate's entries: fold the new ones, so presence holds across gates. Entries
        older than what this gate folded already (a gate back from an outage) make it fold
        again in hybrid-clock order, as the hub does (`Ledger.refold`)."""
        late = False
        for entry in batch.entries:
            try:  # only what that gate may say; refused whole, kept out of presence
                events = self.peers.check(
                    batch.gate, entry, self.ledger.state, self.ledger.presence, self.ledger.journal
                )
            except Refused as exc:
                self.count("peer_refused")
                self.counters[f"peer_refused.{exc.reason}"] = self.peers.refused[exc.reason]
                self.metrics.count("peer_refused", reason=exc.reason.value)
                continue
            try:
                if not self.ledger.presence.add(batch.gate, entry.seq, entry.hlc, entry.body):
                    continue  # replayed: folded already
            except PresenceError as exc:  # as if cut off from that gate: the hub has the entry
                self.count("presence_failed")
                log.error("presence: %s: not folded", exc)
                continue
            try:
                self.ledger.journal.observe(Timestamp.parse(entry.hlc))
            except (ClockDriftError, ValueError) as exc:
                self.reject(self.link.topics.events(batch.gate), str(exc))
            late = late or entry.hlc < self.ledger.newest_hlc
            if late:  # this one and the rest of the batch: placed in order by the refold
                self.ledger.late(entry.hlc, events)
                continue
            try:
                self.ledger.follow(entry.hlc, events)
            except (KeyError, ValueError) as exc:  # refers to what this gate has not seen yet
                log.warning(
                    "entry %s/%d folded out of order (%r): refolding", batch.gate, entry.seq, exc
                )
                late = True
        self._presence_bounded()
        if late:
            log.info("late entries from %s: folding the day again in clock order", batch.gate)
            if skipped := self.ledger.refold():
                self.count("rebuild_skipped", skipped)

    def _presence_bounded(self) -> None:
        """Entries the presence file's bound dropped (a peer flooding it): counted, said."""
        for gate, n in self.ledger.presence.take_dropped().items():
            self.count("presence_dropped", n)
            log.warning(
                "presence: %d oldest entries of %s dropped: the file reached its bound of "
                "%d MiB (presence_max_mib)",
                n,
                gate,
                self.presence_max_mib,
            )

    def reject(self, topic: str, reason: str) -> None:
        self.count("link_rejected")
        key = reason.split(":")[0][:60]
        self.rejected[key] = self.rejected.get(key, 0) + 1
        log.warning("link: dropped a message on %s: %s", topic, reason)

    def gate_status(self) -> GateStatus:
        reader: str | None = self.reader.health().state if self.reader else None
        if self.drill.reader_removed:
            reader = "removed"
        scanner, disk = self.problems()
        return GateStatus(
            gate=self.gate_id,
            online=True,
            role=self.role,
            allowlist_version=self.ledger.state.allowlist.version,
            last_seq=self.ledger.journal.last_seq,
            acked=self.ledger.journal.acked,
            wall_ms=self.wall_ms(),
            hlc=str(self.ledger.journal.hlc),
            reader=str(reader) if reader else None,
            taken_over=len(self.link.health.recent_takeovers()),
            clock=self.clock.status() if self.clock else None,
            scanner=scanner,
            disk=disk,
            drill=self.drill.kind,
            boot=self.boot or None,
            desk_refused=self.desk.shown() if self.desk is not None else None,
        )
