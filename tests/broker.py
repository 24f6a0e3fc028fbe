"""Fixtures for tests against a real Mosquitto with the venue configuration
(deploy.broker_process).

- `broker`: one broker for the whole session, users `hub`, `display` and gates E1, E2, X1, X2, D1
  with generated passwords (`broker.credentials`). Tests share it: they tell their messages apart
  by a unique payload rather than by topic, and leave no retained message behind.
- `fresh_broker()`: a broker of the test's own, to stop, kill and restart.
- `mqtt_client(user, broker=...)`: a connected paho client (callback API v2) that records every
  message it receives; disconnected when the test ends.

Imported by conftest.py.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from deploy.broker import Credentials
from deploy.broker_process import Broker

GATES = ("E1", "E2", "X1", "X2", "D1")
ROSTER = {"E1": "entry", "E2": "entry", "X1": "exit", "X2": "exit", "D1": "desk"}
TIMEOUT_S = 30.0  # generous: a loaded machine is slow; a passing test never waits it out


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    qos: int
    retain: bool


class MqttClient:
    """A paho client that records what it receives; every call waits for the broker's answer.

    Callbacks run on paho's network thread and only record under a lock; the test thread waits
    on the condition.
    """

    def __init__(
        self,
        broker: Broker,
        username: str | None,
        password: str | None = None,
        *,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311,
        tls_ca: str | None = None,
        client_id: str = "",
    ) -> None:
        """With `tls_ca`, over the broker's TLS listener, trusting that CA file. The broker
        replaces `client_id` with the username (use_username_as_clientid)."""
        self.broker = broker
        self.username = username
        self.port = broker.port
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=protocol,
            reconnect_on_failure=False,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls_ca is not None:
            assert broker.tls is not None, "this broker has no TLS listener"
            self.client.tls_set(ca_certs=tls_ca)
            self.port = broker.tls.port
        self._cond = threading.Condition()
        self._messages: list[Received] = []
        self._connack: ReasonCode | None = None
        self.disconnects: list[ReasonCode] = []  # the broker's reasons, when it closed on us
        self._acks: dict[int, Any] = {}  # mid -> reason code (PUBACK) or list of them (SUBACK)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe

    # --- paho's thread ---------------------------------------------------------------------
    def _on_connect(self, _c: Any, _u: Any, _flags: Any, reason: ReasonCode, _p: Any) -> None:
        with self._cond:
            self._connack = reason
            self._cond.notify_all()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        with self._cond:
            self.disconnects.append(reason)
            self._cond.notify_all()

    def wait_disconnected(self, timeout: float = TIMEOUT_S) -> ReasonCode:
        """The reason the connection ended, waiting for it."""
        reason: ReasonCode = self._wait("disconnect", lambda: self.disconnects[:1], timeout)[0]
        return reason

    def _on_message(self, _c: Any, _u: Any, msg: paho.MQTTMessage) -> None:
        with self._cond:
            self._messages.append(Received(msg.topic, msg.payload, msg.qos, bool(msg.retain)))
            self._cond.notify_all()

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        with self._cond:
            self._acks[mid] = reason
            self._cond.notify_all()

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, reasons: list[ReasonCode], _p: Any) -> None:
        with self._cond:
            self._acks[mid] = reasons
            self._cond.notify_all()

    # --- the test's thread -----------------------------------------------------------------
    def _wait(self, what: str, ready: Callable[[], Any], timeout: float) -> Any:
        with self._cond:
            if not self._cond.wait_for(ready, timeout):
                raise TimeoutError(f"{self.username}: no {what} within {timeout} s")
            return ready()

    def connect(self, timeout: float = TIMEOUT_S) -> ReasonCode:
        """Connect and return the CONNACK's reason code (a refusal included)."""
        self.client.connect(self.broker.host, self.port, keepalive=30)
        self.client.loop_start()
        reason: ReasonCode = self._wait("CONNACK", lambda: self._connack, timeout)
        if reason.is_failure:
            self.close()
        return reason

    def subscribe(self, topic_filter: str, qos: int = 1, timeout: float = TIMEOUT_S) -> None:
        _rc, mid = self.client.subscribe(topic_filter, qos)
        reasons = self._wait(f"SUBACK for {topic_filter}", lambda: self._acks.get(mid), timeout)
        assert not any(r.is_failure for r in reasons), f"subscribe {topic_filter}: {reasons}"

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        qos: int = 1,
        retain: bool = False,
        timeout: float = TIMEOUT_S,
    ) -> ReasonCode:
        """Publish and wait for the broker's PUBACK; its reason code (MQTT v5 tells a refusal)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        reason: ReasonCode = self._wait(
            f"PUBACK for {topic}", lambda: self._acks.get(info.mid), timeout
        )
        return reason

    @property
    def messages(self) -> list[Received]:
        with self._cond:
            return list(self._messages)

    def received(self, topic_filter: str = "#", containing: bytes | str = b"") -> list[Received]:
        """Messages received so far on topics matching `topic_filter`, holding `containing`."""
        token = containing.encode() if isinstance(containing, str) else containing
        return [
            m
            for m in self.messages
            if paho.topic_matches_sub(topic_filter, m.topic) and token in m.payload
        ]

    def wait_for_message(
        self, topic_filter: str, timeout: float = TIMEOUT_S, *, containing: bytes | str = b""
    ) -> Received:
        """The first message matching `topic_filter` (and holding `containing`), waiting for it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (found := self.received(topic_filter, containing)):
                left = deadline - time.monotonic()
                if left <= 0:
                    got = sorted({m.topic for m in self._messages})
                    raise TimeoutError(
                        f"{self.username}: nothing on {topic_filter} holding {containing!r} "
                        f"within {timeout} s; received on {got}"
                    )
                self._cond.wait(left)
            return found[0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connack(
    broker: Broker,
    username: str | None,
    password: str | None = None,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311,
) -> ReasonCode:
    """The broker's answer to a login, as the CONNACK reason code."""
    return MqttClient(broker, username, password, protocol=protocol).connect()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One real Mosquitto for the session: users hub, display and the gates of GATES."""
    with Broker(
        tmp_path_factory.mktemp("broker"), credentials=Credentials.generate(GATES), roster=ROSTER
    ) as running:
        atexit.register(running.kill)  # should pytest itself be killed past its teardown
        yield running


@pytest.fixture
def fresh_broker(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    """`fresh_broker(**kwargs)`: a started Broker of the test's own (stopped at the end)."""
    started: list[Broker] = []

    def make(**kwargs: Any) -> Broker:
        kwargs.setdefault("credentials", Credentials.generate(GATES))
        kwargs.setdefault("roster", ROSTER)
        b = Broker(tmp_path / f"broker{len(started)}", **kwargs)
        started.append(b)
        atexit.register(b.kill)  # should pytest itself be killed past its teardown
        return b.start()

    try:
        yield make
    finally:
        for b in started:
            b.stop()


@pytest.fixture
def mqtt_client(broker: Broker) -> Iterator[Callable[..., MqttClient]]:
    """`mqtt_client(user, broker=None, protocol=MQTTv311)`: a client logged in as `user`.

    On the session broker unless `broker` is given; refused logins fail the test (use `connack`
    to look at a refusal). Every client is disconnected when the test ends.
    """
    clients: list[MqttClient] = []

    def make(
        user: str,
        broker: Broker = broker,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311,
    ) -> MqttClient:
        client = MqttClient(broker, user, broker.credentials.password(user), protocol=protocol)
        clients.append(client)
        reason = client.connect()
        assert not reason.is_failure, f"{user} refused: {reason}"
        return client

    yield make
    for client in clients:
        client.close()
