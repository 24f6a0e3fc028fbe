"""The gate's MQTT link (paho-mqtt, v2 callback API).

The journal is the only outbox. Paho's callbacks run on its network thread and only enqueue
(`LinkUp`, `LinkDown`, `LinkMessage`) to the daemon's loop; the loop owns the journal and calls
`pump()` to publish what the hub has not acknowledged, in batches, with a bounded window of
unacknowledged entries. On every reconnect, on a replay request and when acknowledgements stall,
the link starts again from the hub's watermark: nothing relies on paho's queue or the broker's.
"""

from __future__ import annotations

import logging
import queue
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from pydantic import BaseModel, ConfigDict, Field

from gate.journal import Journal
from gate.protocol import MAX_BATCH, EventBatch, GateStatus, Topics, dump
from gate.protocol import Entry as WireEntry

log = logging.getLogger(__name__)


class LinkSettings(BaseModel):
    """`[link]` of gate.toml: where the venue's broker is. Without it the gate runs alone."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = Field(default=None, description="default: the gate id")
    password_file: Path | None = None
    prefix: str = "wristgate/v1"
    tls_ca: Path | None = Field(default=None, description="CA file: connect with TLS")
    keepalive_s: int = Field(default=10, ge=2, le=300)
    window: int = Field(default=2000, ge=MAX_BATCH, description="unacknowledged entries at most")
    ack_timeout_s: float = Field(default=10.0, gt=0, description="resend from the watermark after")
    status_every_s: float = Field(default=5.0, gt=0)


@dataclass
class LinkUp:
    """The broker accepted the gate's connection."""


@dataclass
class LinkDown:
    reason: str


@dataclass
class LinkMessage:
    topic: str
    payload: bytes
    retained: bool = False  # kept by the broker, not sent now


class Link:
    def __init__(
        self, settings: LinkSettings, gate_id: str, inbox: queue.Queue[Any], role: str = "entry"
    ) -> None:
        self.settings = settings
        self.gate_id = gate_id
        self.topics = Topics(settings.prefix)
        # with guardian phones for a desk or handheld, without for the others (the ACL agrees)
        self.allowlist_topics = self.topics.allowlist_for(role)
        self.inbox = inbox
        self.connected = False
        self.sent = 0  # highest seq handed to the broker since the last rewind
        self.progress_at = time.monotonic()
        self.status_at = 0.0
        self.published = 0
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"wristgate-gate-{gate_id}",
            clean_session=False,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        client.username_pw_set(settings.username or gate_id, self._password())
        if settings.tls_ca is not None:
            client.tls_set(ca_certs=str(settings.tls_ca))
        offline = dump(GateStatus(gate=gate_id, online=False))
        client.will_set(self.topics.status(gate_id), offline, qos=1, retain=True)
        client.max_inflight_messages_set(20)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client

    def _password(self) -> str | None:
        path = self.settings.password_file
        return path.read_text().strip() if path is not None else None

    # --- paho's thread: enqueue only ------------------------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.inbox.put(LinkDown(f"broker refused: {reason}"))
        else:
            self.inbox.put(LinkUp())

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self.inbox.put(LinkDown(str(reason)))

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.inbox.put(LinkMessage(message.topic, bytes(message.payload), bool(message.retain)))

    # --- the loop's side ------------------------------------------------------------------------

    def start(self) -> None:
        s = self.settings
        self.client.connect_async(s.host, s.port, keepalive=s.keepalive_s)
        self.client.loop_start()

    def stop(self) -> None:
        if self.connected:
            offline = dump(GateStatus(gate=self.gate_id, online=False))
            self.client.publish(self.topics.status(self.gate_id), offline, qos=1, retain=True)
        self.client.disconnect()
        self.client.loop_stop()

    def up(self, journal: Journal) -> None:
        """Connected: subscribe, and start again from the hub's watermark."""
        self.connected = True
        t = self.topics
        for topic in (
            t.ack(self.gate_id),
            t.replay(self.gate_id),
            t.events(),
            *self.allowlist_topics,
            t.roster,
        ):
            self.client.subscribe(topic, qos=1)
        # Events are never retained: clear whatever someone left on this gate's topic.
        self.client.publish(t.events(self.gate_id), b"", qos=1, retain=True)
        self.rewind(journal.acked, "connected")

    def down(self, reason: str) -> None:
        if self.connected:
            log.warning("link down: %s; journalling on, resending when back", reason)
        self.connected = False

    def rewind(self, after: int, why: str) -> None:
        if self.sent > after:
            log.info("link: resending from seq %d (%s)", after + 1, why)
        self.sent = after
        self.progress_at = time.monotonic()

    def acknowledged(self, journal: Journal, seq: int) -> None:
        if seq > journal.last_seq:
            log.warning("hub acknowledges seq %d beyond this journal's %d", seq, journal.last_seq)
            return
        if seq > journal.acked:
            journal.acknowledge(seq)
            self.progress_at = time.monotonic()
        self.sent = max(self.sent, seq)

    def pump(self, journal: Journal) -> None:
        """Publish the journal above what was sent, within the window; resend on a stall."""
        if not self.connected:
            return
        now = time.monotonic()
        if self.sent > journal.acked and now - self.progress_at > self.settings.ack_timeout_s:
            self.rewind(journal.acked, "no acknowledgement in time")
        while self.sent < journal.last_seq and self.sent - journal.acked < self.settings.window:
            entries = journal.entries_after(self.sent, limit=MAX_BATCH)
            if not entries:
                break
            batch = EventBatch(gate=self.gate_id, entries=[WireEntry.of(e) for e in entries])
            info = self.client.publish(self.topics.events(self.gate_id), dump(batch), qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                log.warning("link: publish refused (%s); will resend", mqtt.error_string(info.rc))
                break
            self.sent = entries[-1].seq
            self.published += len(entries)

    def status(self, status: GateStatus, force: bool = False) -> None:
        now = time.monotonic()
        if self.connected and (force or now - self.status_at >= self.settings.status_every_s):
            self.client.publish(self.topics.status(self.gate_id), dump(status), qos=1, retain=True)
            self.status_at = now
