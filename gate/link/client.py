"""The gate's MQTT link (paho-mqtt, v2 callback API).

The journal is the only outbox. Paho's callbacks run on its network thread and only enqueue
(`LinkUp`, `LinkDown`, `LinkMessage`) to the daemon's loop; the loop owns the journal and calls
`pump()` to publish what the hub has not acknowledged, in batches, with a bounded window of
unacknowledged entries. On every reconnect, on a replay request and when acknowledgements stall,
the link starts again from the hub's watermark: nothing relies on paho's queue or the broker's.

What comes in is acknowledged to the broker (PUBACK) only once the loop has handled it (`done`):
another gate's batch kept in presence, an allowlist stored. Paho would acknowledge on receipt,
and a gate killed between that and the loop would never hear those entries again (the broker
had them delivered; no one sends a peer's entries twice): an exit gate not knowing a family's
bands, an entry gate letting a member back in as a first entry. Unacknowledged, the broker sends
them again when the gate reconnects to its session.

The link speaks MQTT v5 with a persistent session (clean start off, the session kept for as long
as the broker keeps a silent client's, 14 days), so the broker says why it closed a connection:
"session taken over" means another login with this gate's username and password
(`gate.link.health`). Its client id is its username: the venue broker takes the username as
client id anyway (`use_username_as_clientid`), so no other user can take this gate's session.

To any broker but one on this machine the link uses TLS and checks the broker's certificate and
host name against the venue CA (`tls_ca`); plain MQTT across the network, which shows the gate's
password to anyone on it, needs `tls = false` said aloud.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gate.link.guardian_phone import GuardianPhone, guardian_topic
from gate.link.health import (
    DownKind,
    DownWords,
    LinkHealth,
    connect_failure,
    disconnect_kind,
    refused_login,
    say_down,
)
from gate.link.pickup_notice import PickupNotice, pickup_topic
from gate.link.protocol import MAX_BATCH, EventBatch, GateStatus, Topics, dump
from gate.link.protocol import Entry as WireEntry
from gate.store.journal import Journal

DOWN_WORDS = DownWords(
    lost="link down: %s; journalling on, resending when back",
    refused="link: %s; journalling on, retrying",
    cannot_connect="link: cannot connect: %s",
)
log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 14 * 86400  # as the broker's persistent_client_expiration
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (127.0.0.0/8, ::1, localhost): no network to cross."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(host: str, tls_ca: Path | None, tls: bool | None) -> None:
    """ValueError unless the settings make a safe connection, or say plainly that they do not:
    TLS (with a CA) to a broker across the network, unless `tls` is false."""
    if tls is False and tls_ca is not None:
        raise ValueError("tls = false and tls_ca given: say one or the other")
    if tls is True and tls_ca is None:
        raise ValueError("tls = true needs tls_ca, the venue CA that signed the broker's cert")
    if tls is None and tls_ca is None and not is_loopback(host):
        raise ValueError(
            f"host {host!r} is not this machine and no tls_ca is given: the password would cross "
            "the network in clear text. Give tls_ca (the venue CA from the hub, port 8883), or "
            "set tls = false for plain MQTT on an isolated gate network"
        )


def new_client(
    username: str,
    password: str | None,
    tls_ca: Path | None,
    will: tuple[str, bytes],
    manual_ack: bool = False,
) -> mqtt.Client:
    """A paho client (MQTT v5, callback API v2) as gates and the hub use it: client id = username,
    TLS with the broker's certificate and host name checked when `tls_ca` is given, a retained
    last will `(topic, payload)`. `manual_ack`: what comes in is acknowledged by `Client.ack`,
    not on receipt."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=username,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=manual_ack,
    )
    client.username_pw_set(username, password)
    if tls_ca is not None:
        client.tls_set(ca_certs=str(tls_ca))  # CERT_REQUIRED, the system's TLS versions
        client.tls_insecure_set(False)  # the host name must be in the certificate
    client.will_set(will[0], will[1], qos=1, retain=True)
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    return client


def connect_async(client: mqtt.Client, host: str, port: int, keepalive: int) -> None:
    """Connect in paho's thread, resuming the persistent session (clean start off)."""
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = SESSION_EXPIRY_S
    client.connect_async(host, port, keepalive=keepalive, clean_start=False, properties=properties)


def failed_attempt(host: str, port: int) -> LinkDown:
    """Called in paho's `on_connect_fail`, inside its `except OSError`: what failed, in words."""
    kind, reason = connect_failure(sys.exc_info()[1], host, port)
    return LinkDown(reason, kind)


class LinkSettings(BaseModel):
    """`[link]` of gate.toml: where the venue's broker is. Without it the gate runs alone."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = Field(default=None, description="default: the gate id")
    password_file: Path | None = None
    prefix: str = "wristgate/v1"
    tls_ca: Path | None = Field(default=None, description="the venue CA: connect with TLS")
    tls: bool | None = Field(
        default=None, description="false: plain MQTT to a broker across the network, on purpose"
    )
    keepalive_s: int = Field(default=10, ge=2, le=300)
    window: int = Field(default=2000, ge=MAX_BATCH, description="unacknowledged entries at most")
    ack_timeout_s: float = Field(default=10.0, gt=0, description="resend from the watermark after")
    status_every_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _safe_transport(self) -> LinkSettings:
        check_transport(self.host, self.tls_ca, self.tls)
        return self


@dataclass
class LinkUp:
    """The broker accepted the connection; `session_present`: it still held the session."""

    session_present: bool = True


@dataclass
class LinkDown:
    """The connection dropped or an attempt failed; `kind` says how (`gate.link.health`)."""

    reason: str
    kind: DownKind = "lost"


@dataclass
class LinkSubscribed:
    """The broker answered one subscription: `refused` when it would not grant it (its ACL)."""

    mid: int
    refused: bool


@dataclass
class LinkMessage:
    topic: str
    payload: bytes
    retained: bool = False  # kept by the broker, not sent now
    at_s: float = field(default_factory=time.monotonic)  # when paho's thread received it
    mid: int = 0  # the broker's packet id, for its acknowledgement (`Link.done`)
    qos: int = 0
    connection: int = 0  # which of the link's connections it came on


class Link:
    def __init__(
        self, settings: LinkSettings, gate_id: str, inbox: queue.Queue[Any], role: str = "entry"
    ) -> None:
        self.settings = settings
        self.gate_id = gate_id
        self.topics = Topics(settings.prefix)
        # with guardian phones for a desk or handheld, without for the others (the ACL agrees)
        self.allowlist_topics = self.topics.allowlist_for(role)
        self.desk_topics = self.topics.desk_for(role, gate_id)  # the hub's console
        self.inbox = inbox
        self.connected = False
        self.asked: dict[int, str] = {}  # subscriptions the broker has not answered yet, by mid
        self.refused: list[str] = []  # topics the broker refused this gate (its ACL)
        self.sent = 0  # highest seq handed to the broker since the last rewind
        self.progress_at = time.monotonic()
        self.status_at = 0.0
        self.published = 0
        self.health = LinkHealth()
        self.connection = 0  # connections made so far (paho's thread counts them)
        self.manual_ack = False  # paho acknowledges on receipt: see `done`
        self.username = settings.username or gate_id
        offline = dump(GateStatus(gate=gate_id, online=False))
        client = new_client(
            self.username,
            self._password(),
            settings.tls_ca,
            (self.topics.status(gate_id), offline),
            manual_ack=self.manual_ack,
        )
        client.max_inflight_messages_set(20)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self.client = client

    def _password(self) -> str | None:
        path = self.settings.password_file
        return path.read_text().strip() if path is not None else None

    # --- paho's thread: enqueue only ------------------------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            why = refused_login(self.username, reason, self.settings.password_file)
            self.inbox.put(LinkDown(why, "refused"))
        else:
            self.connection += 1
            self.inbox.put(LinkUp(bool(flags.session_present)))

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        self.inbox.put(failed_attempt(self.settings.host, self.settings.port))

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self.inbox.put(LinkDown(str(reason), disconnect_kind(reason)))

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        self.inbox.put(LinkSubscribed(mid, any(r.is_failure for r in reasons)))

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.inbox.put(
            LinkMessage(
                message.topic,
                bytes(message.payload),
                bool(message.retain),
                mid=int(message.mid),
                qos=int(message.qos),
                connection=self.connection,
            )
        )

    # --- the loop's side ------------------------------------------------------------------------

    def start(self) -> None:
        s = self.settings
        connect_async(self.client, s.host, s.port, s.keepalive_s)
        self.client.loop_start()

    def cut(self, drill: str) -> None:
        """A drill's cut: say goodbye (offline, marked as the drill), then drop the link until
        `restore`. The gate decides cut off meanwhile."""
        if self.connected:
            offline = dump(GateStatus(gate=self.gate_id, online=False, drill=drill))
            self.client.publish(self.topics.status(self.gate_id), offline, qos=1, retain=True)
        self.connected = False
        self.client.disconnect()
        self.client.loop_stop()

    def restore(self) -> None:
        """The drill's cut is over: connect again (the journal is sent from the watermark)."""
        self.start()

    def stop(self) -> None:
        if self.connected:
            offline = dump(GateStatus(gate=self.gate_id, online=False))
            self.client.publish(self.topics.status(self.gate_id), offline, qos=1, retain=True)
        self.client.disconnect()
        self.client.loop_stop()

    def up(self, journal: Journal, session_present: bool = True) -> bool:
        """Connected: subscribe, and start again from the hub's watermark. True when the
        session was found taken over (`LinkHealth.up`)."""
        self.connected = True
        taken_over = self.health.up(session_present)
        if taken_over:
            self._taken_over()
        t = self.topics
        self.asked, self.refused = {}, []
        for topic in (
            t.ack(self.gate_id),
            t.replay(self.gate_id),
            t.drill(self.gate_id),
            *self.desk_topics,
            t.events(),
            *self.allowlist_topics,
            t.roster,
        ):
            self._subscribe(topic, 1)
        self._subscribe(t.hub_time, 0)  # the hub's clock (gate.link.hub_time)
        # Events are never retained: clear whatever someone left on this gate's topic.
        self.client.publish(t.events(self.gate_id), b"", qos=1, retain=True)
        self.rewind(journal.acked, "connected")
        return taken_over

    def done(self, message: LinkMessage) -> None:
        """The loop has handled `message`: with `manual_ack`, acknowledge it to the broker now
        (one that came on an earlier connection is not: the broker sent it again on this one).
        `manual_ack` is off: a gate acknowledging only what it handled recovered from a broker
        cut tens of seconds late (docs/mqtt.md), so paho acknowledges on receipt."""
        current = self.connected and message.connection == self.connection
        if self.manual_ack and message.qos > 0 and current:
            self.client.ack(message.mid, message.qos)

    def _subscribe(self, topic: str, qos: int) -> None:
        _, mid = self.client.subscribe(topic, qos=qos)
        if mid is not None:
            self.asked[mid] = topic

    def answered(self, answer: LinkSubscribed) -> str | None:
        """The broker answered a subscription: the topic when it refused it."""
        topic = self.asked.pop(answer.mid, None)
        if topic is None or not answer.refused:
            return None
        self.refused.append(topic)
        return topic

    @property
    def subscribed(self) -> bool:
        """Connected, and every subscription granted: the gate hears its peers from now on."""
        return self.connected and not self.asked and not self.refused

    def down(self, down: LinkDown) -> bool:
        """The connection dropped, or an attempt failed: counted, and said once per change.
        False when it was only a failed attempt's socket closing (`LinkHealth.echoes_failure`)."""
        was_up = self.connected
        self.connected = False
        if self.health.echoes_failure(down.kind):
            return False
        if not self.health.down(down.kind, down.reason):
            return True
        if down.kind == "taken_over":
            self._taken_over()
        else:
            say_down(log, DOWN_WORDS, down.kind, down.reason, was_up)
        return True

    def _taken_over(self) -> None:
        log.error(
            "link: another connection logged in as %s and took this gate's session (%d so far): "
            "this gate's broker password is known elsewhere (%s)",
            self.username,
            self.health.taken_over,
            self.health.last_reason,
        )

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

    def pickup_notice(self, notice: PickupNotice) -> bool:
        """Send a pickup code to the hub, for its notifier (never retained); False when cut off
        or refused (the code stays on the desk's receipt)."""
        if not self.connected:
            return False
        topic = pickup_topic(self.topics, self.gate_id)
        info = self.client.publish(topic, dump(notice), qos=1)
        return bool(info.rc == mqtt.MQTT_ERR_SUCCESS)

    def guardian_phone(self, message: GuardianPhone) -> bool:
        """Send a walk-in's guardian phone to the hub alone (never retained); False when cut
        off or refused (the desk sends it again when linked)."""
        if not self.connected:
            return False
        topic = guardian_topic(self.topics, self.gate_id)
        info = self.client.publish(topic, dump(message), qos=1)
        return bool(info.rc == mqtt.MQTT_ERR_SUCCESS)

    def status(self, status: GateStatus, force: bool = False) -> None:
        now = time.monotonic()
        if self.connected and (force or now - self.status_at >= self.settings.status_every_s):
            self.client.publish(self.topics.status(self.gate_id), dump(status), qos=1, retain=True)
            self.status_at = now
