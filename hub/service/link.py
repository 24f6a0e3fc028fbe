"""The hub's MQTT connection to the venue broker: paho's callbacks only put what happened in the
hub's inbox; the hub's loop hands connections and drops back here to be counted and logged.
"""

from __future__ import annotations

import logging
import queue
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from gate.link.client import LinkDown, LinkUp, connect_async, failed_attempt, new_client
from gate.link.guardian_phone import guardian_topic
from gate.link.health import (
    DownWords,
    LinkHealth,
    disconnect_kind,
    refused_login,
    say_down,
)
from gate.link.pickup_notice import pickup_topic
from gate.link.protocol import HubStatus, Topics, dump
from hub.service.config import MqttSection

DOWN_WORDS = DownWords(
    lost="broker connection lost: %s",
    refused="%s; no gate can be heard until it is fixed",
    cannot_connect="broker: cannot connect: %s",
)
log = logging.getLogger("hub")


@dataclass
class Received:
    topic: str
    payload: bytes
    retained: bool


class HubLink:
    """The client, whether it is connected, and how the connection fares (`health`: drops,
    takeovers)."""

    def __init__(self, settings: MqttSection, topics: Topics, inbox: queue.Queue[Any]) -> None:
        self.settings, self.topics, self.inbox = settings, topics, inbox
        self.health = LinkHealth()  # the hub's own connection: drops, takeovers
        self.client = self._client()
        self.connected = False

    def _client(self) -> mqtt.Client:
        m = self.settings
        password = m.password_file.read_text().strip() if m.password_file else None
        offline = dump(HubStatus(online=False))
        client = new_client(m.username, password, m.tls_ca, (self.topics.hub_status, offline))

        def on_connect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
            refused = LinkDown(refused_login(m.username, reason, m.password_file), "refused")
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

    def start(self) -> None:
        connect_async(self.client, self.settings.host, self.settings.port, keepalive=10)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain)

    def up(self, resumed: bool) -> None:
        """Connected (`resumed`: the broker still held the hub's session): subscribed to every
        gate's events and status, the desks' pickup codes and their walk-ins' guardian phones."""
        if self.health.up(resumed):
            self._taken_over()
        self.connected = True
        self.client.subscribe(self.topics.events(), qos=1)
        self.client.subscribe(self.topics.status(), qos=1)
        self.client.subscribe(pickup_topic(self.topics), qos=1)  # desks' codes, for guardians
        self.client.subscribe(guardian_topic(self.topics), qos=1)  # walk-ins' guardian phones

    def down(self, down: LinkDown) -> None:
        """The hub's connection dropped or an attempt failed: counted, alerted, said once."""
        was_up, self.connected = self.connected, False
        if not self.health.down(down.kind, down.reason):
            return
        if down.kind == "taken_over":
            self._taken_over()
        else:
            say_down(log, DOWN_WORDS, down.kind, down.reason, was_up)

    def _taken_over(self) -> None:
        log.error(
            "broker: another connection logged in as %s and took the hub's session (%d so far): "
            "the hub's broker password is known elsewhere (%s)",
            self.settings.username,
            self.health.taken_over,
            self.health.last_reason,
        )

    def close(self) -> None:
        """Offline said (retained) when connected, then disconnected."""
        if self.connected:
            self.publish(self.topics.hub_status, dump(HubStatus(online=False)), retain=True)
        self.client.disconnect()
        self.client.loop_stop()
