"""Head office's acknowledgements kept retained at head office (`hq/ack/{venue}`, QoS 1,
retained), published over MQTT to NATS's MQTT gateway: NATS keeps a retained MQTT message only
for what an MQTT client publishes, so this one client does it beside the NATS publish of
`hq.service.consumer`. A venue's bridge that (re)subscribes gets the latest at once.

One paho client, user `[nats] user`, tries the nodes of `[nats] mqtt` in turn; each venue's
acknowledgement is published when it changes and again after every reconnect. It never
blocks the consumer: paho queues, and while it is away the NATS publish still reaches the
venues that are connected.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hub.chain.wire import Ack, ChainTopics, dump

log = logging.getLogger("hq")


class RetainedAcks:
    def __init__(
        self, addresses: list[tuple[str, int]], user: str | None, password: str | None
    ) -> None:
        self.addresses = addresses
        self.connected = False
        self.published = 0
        self._next = 0
        self._lock = threading.Lock()
        self._said: dict[str, int] = {}  # venue -> upto published since the last connection
        self._topics = ChainTopics()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id="hq-acknowledgements",
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=True,
        )
        if user is not None:
            self._client.username_pw_set(user, password)
        self._client.reconnect_delay_set(1, 5)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect

    def start(self) -> None:
        host, port = self.addresses[0]
        self._client.connect_async(host, port, keepalive=20)
        self._client.loop_start()

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("head office's MQTT login refused: %s", reason)
            self._rotate()
            return
        with self._lock:
            self.connected = True
            self._said.clear()  # everything said again on this connection

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        with self._lock:
            self.connected = False
        self._rotate()

    def _rotate(self) -> None:
        """The next node, for paho's next attempt."""
        self._next = (self._next + 1) % len(self.addresses)
        host, port = self.addresses[self._next]
        self._client.connect_async(host, port, keepalive=20)

    def publish(self, ack: Ack) -> None:
        with self._lock:
            if not self.connected or self._said.get(ack.venue) == ack.upto:
                return
            self._said[ack.venue] = ack.upto
        self._client.publish(self._topics.ack(ack.venue), dump(ack), qos=1, retain=True)
        self.published += 1

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
