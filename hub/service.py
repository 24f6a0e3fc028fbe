"""`hub run`: ingest every gate's journal over MQTT, keep the venue's one truth, publish it.

    paho's thread ─► inbox ─► loop ─► EventStore (idempotent, acked per gate) ─► VenueState
    control socket ─┘          │                                                   │
                               └─ acks, replays, allowlist, headcount ◄────────────┘
    HTTP (/api/headcount, /api/gates, /api/findings) reads the venue state from its own threads

The loop takes what waits in its inbox at once (up to DRAIN_BYTES of payload): the event batches
among it, from every gate, are stored in one transaction, then each gate is acknowledged. One
sync per backlog drained rather than per batch; a single batch when the venue is quiet.

`hub.toml`:

    [hub]   state_dir, policy, control_socket, allowlist_csv (imported at first start),
            max_seq_jump, gate_budget_mib_per_hour (see hub.ingest.intake)
    [mqtt]  host, port, username ("hub"), password_file, prefix, tls_ca, tls
    [http]  bind, port, desk_token_file, staff_token_file, allowed_hosts, workers,
            max_connections, max_streams, header_timeout_s
    [gates] the venue's roster: gate id = "entry" | "exit" | "desk" | "handheld"; published
            retained on `{prefix}/hub/roster`. A gate speaks only for itself and its role: the
            hub and the gates refuse what a gate's role cannot journal (gate.core.authority).
            The broker's ACL gives the roster's desks and handhelds the allowlist with phones.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import paho.mqtt.client as mqtt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gate.config import ConfigError, describe, load_policy, read_toml
from gate.control.socket import (
    MAX_IMPORT_REQUEST,
    ControlRequest,
    ControlServer,
    Peer,
    asked_by,
    import_files,
)
from gate.core.authority import GateRole
from gate.daemon.metrics import Metrics
from gate.link.batches import WireEntry
from gate.link.client import (
    LinkDown,
    LinkUp,
    check_transport,
    connect_async,
    failed_attempt,
    new_client,
)
from gate.link.health import LinkHealth, disconnect_kind
from gate.link.protocol import (
    DEFAULT_PREFIX,
    GATE_ID,
    MAX_BATCH,
    Ack,
    HubStatus,
    Roster,
    Topics,
    change_without_phones,
    dump,
)
from gate.link.vetting import Knowledge, check_peer_entry, text_size
from hub.fold.findings import violation_counts
from hub.fold.reconcile import VenueState
from hub.ingest.allowlist import HubAllowlist, ImportResult
from hub.ingest.intake import BUDGET_BYTES, MAX_SEQ_JUMP, Ingest
from hub.store.events import EventStore
from hub.views.homeassistant import discovery
from hub.views.web.http import Limits
from hub.views.web.server import Access, make_server, read_token

log = logging.getLogger("hub")

TICK_S = 0.2
HEADCOUNT_EVERY_S = 1.0
DRAIN_BYTES = 4 << 20  # payload taken from the inbox at once: about 8k entries, 0.1 to 0.2 s
DRAIN_MESSAGES = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSection(_Strict):
    name: str = "wristgate venue"
    state_dir: Path = Path("/var/lib/wristgate-hub")
    policy: Path = Path("/etc/wristgate/policy.toml")
    control_socket: Path = Path("/run/wristgate-hub/hub.sock")
    allowlist_csv: Path | None = None
    max_seq_jump: int = Field(
        default=MAX_SEQ_JUMP, ge=MAX_BATCH, description="see hub.ingest.intake"
    )
    gate_budget_mib_per_hour: int = Field(
        default=BUDGET_BYTES >> 20, ge=1, description="body MiB a gate may send an hour"
    )


class MqttSection(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str = "hub"
    password_file: Path | None = None
    prefix: str = DEFAULT_PREFIX
    tls_ca: Path | None = None
    tls: bool | None = None  # false: plain MQTT to a broker on another machine, on purpose

    @model_validator(mode="after")
    def _safe_transport(self) -> MqttSection:
        check_transport(self.host, self.tls_ca, self.tls)
        return self


class HttpSection(_Strict):
    bind: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    desk_token_file: Path | None = None  # lookups, phones masked
    staff_token_file: Path | None = None  # everything, phones shown
    # Host names answered (DNS rebinding); default: the bind address, localhost and this
    # machine's names; IP address literals are always answered (hub.views.web.http).
    allowed_hosts: list[str] | None = None
    workers: int = Field(default=8, ge=1, le=64)  # handler threads
    max_connections: int = Field(default=256, ge=1, le=4096)
    max_streams: int = Field(default=32, ge=1, le=1024)  # open displays
    header_timeout_s: float = Field(default=10.0, gt=0, le=120)  # per connection, head and body


class HubConfig(_Strict):
    hub: HubSection = HubSection()
    mqtt: MqttSection = MqttSection()
    http: HttpSection = HttpSection()
    gates: dict[Annotated[str, Field(pattern=GATE_ID)], GateRole] = {}


def load_hub_config(path: Path) -> HubConfig:
    try:
        return HubConfig.model_validate(read_toml(path))
    except ValidationError as exc:
        raise ConfigError(describe(exc, str(path))) from exc


@dataclass
class Received:
    topic: str
    payload: bytes
    retained: bool


class Hub:
    def __init__(self, config: HubConfig) -> None:
        self.config = config
        h = config.hub
        self.policy = load_policy(h.policy)
        h.state_dir.mkdir(parents=True, exist_ok=True)
        self.topics = Topics(config.mqtt.prefix)
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.store = EventStore(h.state_dir / "events.db")
        self.allowlist = HubAllowlist(h.state_dir / "allowlist")
        if self.allowlist.version == 0 and h.allowlist_csv is not None:
            self._report_import(self.allowlist.import_dir(h.allowlist_csv), str(h.allowlist_csv))
        self.venue = VenueState(
            self.store,
            allowlist=self.allowlist.current,
            capacity=self.policy.capacity,
            policy=self.policy,
        )
        self.ingest = Ingest(
            self.store,
            self.topics,
            self._publish,
            on_stored=self.venue.add,
            allowlist_version=lambda: self.allowlist.version,
            vet=self._vet,
            max_seq_jump=h.max_seq_jump,
            budget_bytes=h.gate_budget_mib_per_hour << 20,
        )
        if not config.gates:
            log.warning("hub.toml has no [gates] roster: gates' roles cannot be checked")
        self.link_health = LinkHealth()  # the hub's own connection: drops, takeovers
        self.client = self._client()
        self.connected = False
        self.control = ControlServer(h.control_socket, self.inbox, max_request=MAX_IMPORT_REQUEST)
        web = config.http
        access = Access(read_token(web.desk_token_file), read_token(web.staff_token_file))
        limits = Limits(
            workers=web.workers,
            max_connections=web.max_connections,
            max_streams=web.max_streams,
            header_timeout_s=web.header_timeout_s,
            body_timeout_s=web.header_timeout_s,
        )
        self.http = make_server(
            self, web.bind, web.port, access, allowed_hosts=web.allowed_hosts, limits=limits
        )
        self._stopping = threading.Event()
        self._headcount_at = 0.0
        self._last_headcount: bytes = b""
        self._announced: set[str] = set()

    # --- MQTT -----------------------------------------------------------------------------------

    def _client(self) -> mqtt.Client:
        m = self.config.mqtt
        password = m.password_file.read_text().strip() if m.password_file else None
        offline = dump(HubStatus(online=False))
        client = new_client(m.username, password, m.tls_ca, (self.topics.hub_status, offline))

        def on_connect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
            refused = LinkDown(f"broker refused the login as {m.username}: {reason}", "refused")
            self.inbox.put(refused if reason.is_failure else LinkUp(bool(flags.session_present)))

        def on_connect_fail(c: Any, u: Any) -> None:
            self.inbox.put(failed_attempt(m.host, m.port))

        def on_disconnect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
            self.inbox.put(LinkDown(str(reason), disconnect_kind(reason)))

        def on_message(c: Any, u: Any, message: Any) -> None:
            self.inbox.put(Received(message.topic, bytes(message.payload), bool(message.retain)))

        client.on_connect = on_connect
        client.on_connect_fail = on_connect_fail
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        return client

    def _publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain)

    def _up(self) -> None:
        self.connected = True
        self.client.subscribe(self.topics.events(), qos=1)
        self.client.subscribe(self.topics.status(), qos=1)
        online = HubStatus(online=True, allowlist_version=self.allowlist.version)
        self._publish(self.topics.hub_status, dump(online), retain=True)
        if self.allowlist.version >= 1:  # nothing imported yet: nothing to give the gates
            self._publish_snapshots()
        roster = Roster(gates=dict(self.config.gates))
        self._publish(self.topics.roster, dump(roster), retain=True)
        for row in self.store.gate_rows():  # a restarted hub tells every gate where it stands
            ack = Ack(gate=row.gate, seq=row.acked)
            self._publish(self.topics.ack(row.gate), dump(ack), retain=True)
        self._announce()
        log.info("connected to the broker; %d gates known", len(self.store.gate_rows()))

    # --- the loop -------------------------------------------------------------------------------

    def run(self) -> int:
        m = self.config.mqtt
        connect_async(self.client, m.host, m.port, keepalive=10)
        self.client.loop_start()
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
                self._publish_headcount()
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
                if isinstance(message, Received):
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
                if self.link_health.up(resumed):
                    self._taken_over()
                self._up()
            case LinkDown():
                self._down(message)
            case ControlRequest() if message.take():  # else its asker gave up: not done
                message.reply.put(self._answer(message.command, message.args, message.peer))

    def _vet(self, gate: str, entry: WireEntry) -> None:
        """Refuse (`Refused`) an entry `gate` may not have written (gate.core.authority)."""
        with self.venue.reading() as state:
            knows = Knowledge(state.allowlist, state.members, self.ingest.decision_of)
            roster, body, size = self.config.gates, entry.body, text_size(entry.body_json)
            check_peer_entry(gate, roster, entry.kind, body, knows, size, seq=entry.seq)

    def _down(self, down: LinkDown) -> None:
        """The hub's connection dropped or an attempt failed: counted, alerted, said once."""
        was_up, self.connected = self.connected, False
        if not self.link_health.down(down.kind, down.reason):
            return
        if down.kind == "taken_over":
            self._taken_over()
        elif was_up:
            log.warning("broker connection lost: %s", down.reason)
        else:
            log.warning("broker: cannot connect: %s", down.reason)

    def _taken_over(self) -> None:
        log.error(
            "broker: another connection logged in as %s and took the hub's session (%d so far): "
            "the hub's broker password is known elsewhere (%s)",
            self.config.mqtt.username,
            self.link_health.taken_over,
            self.link_health.last_reason,
        )

    def _announce(self) -> None:
        """Home Assistant discovery for the headcount and every gate known so far."""
        gates = sorted(self.ingest.gates())
        for topic, payload in discovery(self.topics, self.config.hub.name, gates).items():
            self._publish(topic, payload, retain=True)
        self._announced = set(gates)

    def _publish_headcount(self) -> None:
        now = time.monotonic()
        if not self.connected or now - self._headcount_at < HEADCOUNT_EVERY_S:
            return
        if set(self.ingest.gates()) - self._announced:
            self._announce()  # a gate seen for the first time
        payload = dump(self.headcount())
        if payload != self._last_headcount:
            self._publish(self.topics.headcount, payload, retain=True)
            self._last_headcount = payload
        self._headcount_at = now

    def headcount(self) -> Any:
        return self.venue.headcount(self.ingest.headcount_gates())

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        self._stopping.set()

    def close(self) -> None:
        if self.connected:
            self._publish(self.topics.hub_status, dump(HubStatus(online=False)), retain=True)
        self.client.disconnect()
        self.client.loop_stop()
        self.http.shutdown()
        self.http.server_close()
        self.control.stop()
        self.store.close()
        self.allowlist.close()
        log.info("hub stopped")

    # --- the control socket (`hub import-tickets`, `hub status`) -------------------------------

    def _answer(
        self, command: str, args: dict[str, Any], peer: Peer | None = None
    ) -> dict[str, Any]:
        try:
            if command == "import":
                return self._import(args, peer)
            if command == "status":
                return {"ok": True, **self.status()}
            if command == "findings":
                return {"ok": True, "findings": [f.as_dict() for f in self.venue.findings()]}
        except (ValueError, OSError) as exc:
            return {"ok": False, "error": str(exc)}
        return {"ok": False, "error": f"unknown command {command!r:.40}"}

    def _import(self, args: dict[str, Any], peer: Peer | None) -> dict[str, Any]:
        """An import whose files `hub import-tickets` read with the operator's rights and sent:
        `{"tickets": {"name", "text"}}` for one tickets file, `{"directory": {"source",
        "files"}}` for an allowlist directory. The hub opens no path it is named."""
        if isinstance(args.get("tickets"), dict):
            name, text = args["tickets"].get("name"), args["tickets"].get("text")
            if not isinstance(name, str) or not isinstance(text, str):
                raise ValueError('a tickets import is {"tickets": {"name": NAME, "text": TEXT}}')
            source = name = Path(name[:200]).name or "tickets.csv"
            result = self.allowlist.import_tickets_text(name, text)
        elif "directory" in args:
            source, files = import_files(args["directory"])
            result = self.allowlist.import_texts(files, source)
        elif "path" in args:
            raise ValueError("an import sends the file's text, not a path: use a current hub CLI")
        else:
            raise ValueError("an import carries 'tickets' (one file) or 'directory'")
        who = asked_by(peer)
        self._report_import(result, f"{source} by {peer or 'an unknown peer'}")
        self._publish_allowlist(result)
        return {"ok": True, **import_summary(result), "imported_by": who}

    def _publish_allowlist(self, result: ImportResult) -> None:
        if not result.applied:
            return
        self.venue.allowlist = self.allowlist.current
        if result.change is not None:
            self._publish(self.topics.allowlist_full_delta, dump(result.change))
            self._publish(self.topics.allowlist_delta, dump(change_without_phones(result.change)))
        self._publish_snapshots()
        online = HubStatus(online=True, allowlist_version=self.allowlist.version)
        self._publish(self.topics.hub_status, dump(online), retain=True)

    def _publish_snapshots(self) -> None:
        """The retained allowlist twice: with guardian phones for the desk and handhelds, and
        without for every gate (the broker's ACL keeps the first from the others)."""
        t = self.topics
        self._publish(t.allowlist_full, dump(self.allowlist.snapshot()), retain=True)
        self._publish(t.allowlist, dump(self.allowlist.gate_snapshot()), retain=True)

    def _report_import(self, result: ImportResult, source: str) -> None:
        for row_error in result.row_errors:
            log.warning("allowlist %s: row skipped", row_error)
        log.info("allowlist import of %s: %s", source, import_summary(result))

    # --- what the display and the API show ------------------------------------------------------

    def today(self) -> date:
        return datetime.now(self.policy.tz).date()

    def gate_views(self) -> dict[str, Any]:
        hub_age = self.allowlist_age_s()
        views = {}
        for gate, v in self.ingest.gates().items():
            views[gate] = {
                **v.to_protocol().model_dump(),
                "reader": v.reader,
                "taken_over": v.taken_over,
                "stale_allowlist": v.stale_allowlist,
                "allowlist_age_s": hub_age if v.stale_allowlist else 0.0,
            }
        return views

    def allowlist_age_s(self) -> float | None:
        """How long the hub's current allowlist has been out (what a stale gate misses)."""
        snapshot = self.config.hub.state_dir / "allowlist" / "allowlist.json"
        return time.time() - snapshot.stat().st_mtime if snapshot.exists() else None

    def metrics_text(self) -> str:
        """Prometheus text: ingest and rejections, per-gate backlog and liveness, headcount."""
        m = Metrics("wristgate_hub")
        for name, n in self.ingest.counters.items():
            m.count("ingest_total", n, what=name)
        for reason, n in self.ingest.rejected.items():
            m.count("rejected_total", n, reason=reason)
        for reason, n in self.ingest.refused.items():
            m.count("refused_total", n, reason=reason)
        for gate, view in self.ingest.gates().items():
            m.set("gate_online", int(view.online), gate=gate)
            m.set("gate_backlog", view.backlog, gate=gate)
            m.set("gate_acked", view.acked, gate=gate)
            if view.clock_skew_s is not None:
                m.set("gate_clock_skew_seconds", view.clock_skew_s, gate=gate)
        for key, value in self.headcount().model_dump(exclude={"v", "gates", "as_of"}).items():
            if value is not None:
                m.set(key, value)
        for reason, n in self.http.refused.items():
            m.count("http_refused_total", n, reason=reason)
        for reason, n in self.control.refused.items():
            m.count("control_refused_total", n, reason=reason)
        m.set("broker_connected", int(self.connected))
        for kind, n in self.link_health.counts.items():
            m.count("broker_disconnects_total", n, kind=kind)
        m.set("allowlist_version", self.allowlist.version)
        m.set("venue_rebuilds", self.venue.rebuilds)
        for (kind, gate), n in violation_counts(self.venue.findings()).items():
            m.set("rule_violations", n, kind=kind, gate=gate)  # see hub/fold/audit.py
        return m.render()

    def display(self) -> dict[str, Any]:
        from hub.views.display import display_state

        return display_state(self)

    def lookup(self, credential: str, *, staff: bool) -> dict[str, Any] | None:
        from hub.views.sweep import lookup

        with self.venue.reading() as state:
            return lookup(state, credential, staff=staff)

    def sweep(self, *, staff: bool) -> list[dict[str, Any]]:
        from hub.views.sweep import closing_sweep

        with self.venue.reading() as state:
            return [row.as_dict(self.policy.tz) for row in closing_sweep(state, staff=staff)]

    def report(self, day: date) -> Any:
        from hub.views.reports.daily import daily_report

        return daily_report(
            self.store,
            day,
            self.policy.tz,
            allowlist=self.allowlist.current,
            findings=self.venue.findings(),
        )

    def status(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "broker": {k: v for k, v in self.link_health.as_dict().items() if k != "connected"},
            "allowlist_version": self.allowlist.version,
            "headcount": self.headcount().model_dump(),
            "gates": {g: v.to_protocol().model_dump() for g, v in self.ingest.gates().items()},
            "rejected": dict(self.ingest.rejected),
            "refused": dict(self.ingest.refused),
            "control_refused": self.control.refused,
            "counters": dict(self.ingest.counters),
            "stale": self.venue.stale,
        }


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


def import_summary(result: ImportResult) -> dict[str, Any]:
    return {
        "version": result.version,
        "added": len(result.added),
        "replaced": len(result.replaced),
        "removed": len(result.removed),
        "rows_skipped": [str(e) for e in result.row_errors],
    }
