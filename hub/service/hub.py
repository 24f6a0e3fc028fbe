"""`hub run`: ingest every gate's journal over MQTT, keep the venue's one truth, publish it.

    paho's thread ─► inbox ─► loop ─► EventStore (idempotent, acked per gate) ─► VenueState
    control socket ─┘          │                                                   │
                               └─ acks, replays, allowlist, headcount ◄────────────┘
    HTTP (/api/headcount, /api/gates, /api/findings) reads the venue state from its own threads

The loop takes what waits in its inbox at once (up to DRAIN_BYTES of payload): the event batches
among it, from every gate, are stored in one transaction, then each gate is acknowledged. One
sync per backlog drained rather than per batch; a single batch when the venue is quiet.

The hub's parts, beside this module: its configuration (`config`), its broker connection
(`link`), what it publishes (`publishing`), its control socket's answers (`control`) and what its
views read (`readout`); `Hub` makes them and runs the loop.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from gate.config import load_policy
from gate.control.socket import MAX_IMPORT_REQUEST, ControlRequest, ControlServer
from gate.link.batches import WireEntry
from gate.link.client import LinkDown, LinkUp
from gate.link.protocol import Topics
from gate.link.vetting import Knowledge, check_peer_entry, text_size
from hub.fold.reconcile import VenueState
from hub.ingest.allowlist import HubAllowlist, ImportResult
from hub.ingest.intake import Ingest
from hub.service.config import HqSection, HubConfig
from hub.service.control import HubControl, report_import
from hub.service.desk import HubDesk
from hub.service.desk_events import DeskEvents
from hub.service.desk_records import DeskRecords
from hub.service.drills import HubDrills
from hub.service.faults import FaultControl
from hub.service.guardian_notices import GuardianNotices
from hub.service.guardian_phones import GuardianPhones
from hub.service.head_office import HeadOfficeLink, venue_summary
from hub.service.incidents import IncidentWatch
from hub.service.link import HubLink, Received
from hub.service.notify import notifier_of
from hub.service.pickup_codes import PickupCodes
from hub.service.publishing import Publisher
from hub.service.readout import Readout
from hub.store.events import EventStore
from hub.store.guardian_phones import GuardianPhoneBook
from hub.store.incidents import IncidentLog
from hub.store.records import StoredEntry
from hub.views.web.http import Limits
from hub.views.web.server import Access, make_server, read_token

log = logging.getLogger("hub")

TICK_S = 0.2
DRAIN_BYTES = 4 << 20  # payload taken from the inbox at once: about 8k entries, 0.1 to 0.2 s
DRAIN_MESSAGES = 1000


class Hub:
    def __init__(self, config: HubConfig) -> None:
        self.config = config
        h = config.hub
        self.policy = load_policy(h.policy)
        h.state_dir.mkdir(parents=True, exist_ok=True)
        self.topics = Topics(config.mqtt.prefix)
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.store = EventStore(h.state_dir / "events.db")
        self.allowlist = HubAllowlist(h.state_dir / "allowlist", self.policy.sessions)
        if self.allowlist.version == 0 and h.allowlist_csv is not None:
            report_import(self.allowlist.import_dir(h.allowlist_csv), str(h.allowlist_csv))
        self.phone_book = GuardianPhoneBook(h.state_dir / "guardian_phones.db")
        self.venue = VenueState(
            self.store,
            guardian_phones=self.phone_book.all(),  # walk-ins' phones, as the desks told them
            allowlist=self.allowlist.current,
            capacity=self.policy.capacity,
            policy=self.policy,
        )
        if not config.gates:
            log.warning("hub.toml has no [gates] roster: gates' roles cannot be checked")
        self.notifier = notifier_of(config.notify)  # guardians told: [notify]
        self.notices = GuardianNotices(self.notifier, self.policy) if self.notifier else None
        self.pickup_codes = PickupCodes(  # a desk's pickup code, for the guardian's phone
            self.notifier, self.policy, self.topics, config.gates
        )
        self.guardian_phones = GuardianPhones(  # from the desks, for the hub alone
            self.phone_book, self.topics, config.gates, self.venue.told_phone
        )
        self.link = HubLink(config.mqtt, self.topics, self.inbox)
        self.ingest = Ingest(
            self.store,
            self.topics,
            self.link.publish,
            on_stored=self._stored,
            allowlist_version=lambda: self.allowlist.version,
            vet=self._vet,
            max_seq_jump=h.max_seq_jump,
            budget_bytes=h.gate_budget_mib_per_hour << 20,
        )
        self.control = ControlServer(h.control_socket, self.inbox, max_request=MAX_IMPORT_REQUEST)
        self._stopping = threading.Event()
        self._faults_at = 0.0
        self.views = Readout(
            config,
            self.policy,
            store=self.store,
            allowlist=self.allowlist,
            venue=self.venue,
            ingest=self.ingest,
            link=self.link,
            control=self.control,
            stopping=self._stopping,
        )
        self.publisher = Publisher(
            self.link,
            name=h.name,
            roster=config.gates,
            store=self.store,
            allowlist=self.allowlist,
            ingest=self.ingest,
            headcount=self.views.headcount,
        )
        self.incidents = IncidentLog(h.state_dir / "events.db")  # outages, faults, drills
        self.drills = HubDrills(
            self.incidents,
            self.topics,
            self.link.publish,
            config.gates,
            alerts=lambda: self.views.display("en")["alerts"],
        )
        self.watch = IncidentWatch(
            self.incidents,
            roster=config.gates,
            findings=self.venue.findings,
            stale=lambda: self.venue.stale,
            drill=self.drills.running,
        )
        self.views.incidents, self.views.drills = self.incidents, self.drills
        self.views.desks = HubDesk(  # the desks' console: requests out, outcomes read back
            self.topics,
            self.link.publish,
            config.gates,
            self.store,
            lambda gate: live.status if (live := self.ingest.tracker.get(gate)) else None,
            lambda: self.link.connected,
        )
        self.pickup_codes.console = self.views.desks.hand_over  # a walk-in's code, shown once
        self.views.guardian_phones = self.guardian_phones.counts
        if self.notifier is not None:
            self.views.notify = self.notifier.counts
        self.answers = HubControl(self.allowlist, self.venue, self.publisher, self.views.status)
        self.answers.faults = FaultControl(self.incidents, self.drills, self.ingest).answer
        # lost children and the desks' band stock (hub incident, hub stock, /api/incidents)
        self.desk = DeskRecords(h.state_dir / "events.db", self.venue, self.policy.tz, config.gates)
        self.answers.desk = self.views.desk_records = self.desk
        # revocations, incidents and band stock journalled at a desk: the hub's records follow
        self.desk_events = DeskEvents(
            self.allowlist,
            self.desk.incidents,
            self._allowlist_applied,
            self.desk.refused,
            stock=self.desk.stock_log,
            tz=self.policy.tz,
        )
        self.http = _http_server(config, self.views)
        self.views.http_refused = self.http.refused
        self.head_office = (  # the chain's head office, through the broker's bridge: [hq]
            _head_office(config.hq, self.topics.prefix, self.store, self.link, self.views)
            if config.hq is not None
            else None
        )
        self.views.head_office = self.head_office

    # --- the loop -------------------------------------------------------------------------------

    def run(self) -> int:
        if self.notifier is not None:
            self.notifier.start()
        self.link.start()
        self.control.start()
        threading.Thread(target=self.http.serve_forever, name="http", daemon=True).start()
        log.info("hub running: http://%s:%d/api/headcount", *self.http.server_address[:2])
        try:
            while not self._stopping.is_set():
                try:
                    first = self.inbox.get(timeout=TICK_S)
                except queue.Empty:
                    first = None
                if first is not None:
                    self._handle_all(self._queued_after(first))
                self.ingest.tick()
                self.venue.refresh()
                self.publisher.headcount_now()
                self.publisher.hub_time_now()
                self._watch_faults()
                if self.head_office is not None:
                    self.head_office.tick()
        finally:
            self.close()
        return 0

    def _queued_after(self, first: Any) -> list[Any]:
        """`first` and the messages waiting behind it, up to DRAIN_BYTES of payload."""
        messages, size = [first], _payload_size(first)
        while size < DRAIN_BYTES and len(messages) < DRAIN_MESSAGES:
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                break
            messages.append(message)
            size += _payload_size(message)
        return messages

    def _handle_all(self, messages: list[Any]) -> None:
        """Handle messages in order; each run of MQTT messages goes to the ingest at once (its
        event batches in one transaction)."""
        run: list[tuple[str, bytes, bool]] = []
        with _collector_paused():
            for message in messages:
                if isinstance(message, Received) and self.pickup_codes.is_mine(message.topic):
                    self.pickup_codes.received(message.topic, message.payload, message.retained)
                    continue
                if isinstance(message, Received) and self.guardian_phones.is_mine(message.topic):
                    self.guardian_phones.received(message.topic, message.payload, message.retained)
                    continue
                if isinstance(message, Received):
                    if self.head_office and self.head_office.takes(message.topic, message.payload):
                        continue
                    run.append((message.topic, message.payload, message.retained))
                    continue
                if run:
                    self.ingest.on_messages(run)
                    run = []
                self._handle(message)
            if run:
                self.ingest.on_messages(run)

    def _handle(self, message: Any) -> None:
        match message:
            case LinkUp(session_present=resumed):
                self.link.up(resumed)
                self.publisher.connected()
                if self.head_office is not None:
                    self.head_office.link_up(self.link.client.subscribe)
            case LinkDown():
                self.link.down(message)
                if self.head_office is not None:
                    self.head_office.link_down()
            case ControlRequest() if message.take():  # else its asker gave up: not done
                answer = self.answers.answer(message.command, message.args, message.peer)
                message.reply.put(answer)

    def _watch_faults(self) -> None:
        """Once a second: the incidents the hub observes, and the drill under way."""
        now = time.monotonic()
        if now < self._faults_at:
            return
        self._faults_at = now + 1.0
        gates = self.ingest.gates()
        statuses = {g: live.status if (live := self.ingest.tracker.get(g)) else None for g in gates}
        health = self.link.health
        self.watch.tick(
            connected=self.link.connected,
            down_since=health.down_since,
            gates=gates,
            statuses=statuses,
        )
        self.drills.tick(gates, statuses)

    def _stored(self, entries: Sequence[StoredEntry]) -> None:
        """Entries just stored: folded, then their guardians told, then the desks' revocations
        and incidents recorded (each entry is stored once)."""
        self.venue.add(entries)
        self.desk_events.stored(entries)
        if self.notices is not None:
            with self.venue.reading() as state:
                self.notices.stored(entries, state)

    def _allowlist_applied(self, result: ImportResult) -> None:
        """A desk's revocation made in the allowlist: folded and published at once."""
        self.venue.allowlist = self.allowlist.current
        self.publisher.allowlist_change(result)

    def _vet(self, gate: str, entry: WireEntry) -> None:
        """Refuse (`Refused`) an entry `gate` may not have written (gate.core.authority)."""
        with self.venue.reading() as state:
            knows = Knowledge(state.allowlist, state.members, self.ingest.decision_of)
            roster, body, size = self.config.gates, entry.body, text_size(entry.body_json)
            check_peer_entry(gate, roster, entry.kind, body, knows, size, seq=entry.seq)

    def stop(self) -> None:
        self._stopping.set()

    def close(self) -> None:
        if self.notifier is not None:
            self.notifier.stop()
        self.link.close()
        self.http.shutdown()
        self.http.server_close()
        self.control.stop()
        self.incidents.close()
        self.desk.close()
        self.store.close()
        self.phone_book.close()
        self.allowlist.close()
        log.info("hub stopped")


def _payload_size(message: Any) -> int:
    return len(message.payload) if isinstance(message, Received) else 0


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block. A drained backlog makes thousands of
    entries (each a few dicts) that all die when it is handled: collecting meanwhile only moves
    them to the oldest generation, until a full collection walks the whole heap (the allowlist,
    the venue's state) for nothing, 0.3 s each time with a venue's day in memory."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _http_server(config: HubConfig, views: Readout) -> Any:
    """The display's, the console's and the API's server, as hub.toml's [http] says."""
    web = config.http
    access = Access(read_token(web.desk_token_file), read_token(web.staff_token_file))
    limits = Limits(
        workers=web.workers,
        max_connections=web.max_connections,
        max_streams=web.max_streams,
        header_timeout_s=web.header_timeout_s,
        body_timeout_s=web.header_timeout_s,
    )
    return make_server(
        views,
        web.bind,
        web.port,
        access,
        allowed_hosts=web.allowed_hosts,
        limits=limits,
        language=config.hub.language,
    )


def _head_office(
    hq: HqSection, prefix: str, store: EventStore, link: HubLink, views: Readout
) -> HeadOfficeLink:
    """The link to the chain's head office: entries and summaries out, its acks in."""
    return HeadOfficeLink(hq, prefix, store, link.publish, venue_summary(views, hq.venue))
