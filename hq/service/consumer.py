"""Head office's reader of the chain's stream: ONE durable pull consumer (`hq`) with explicit
acknowledgement, on its own asyncio loop (nats-py).

    message ─► Chain.take: stored (synced) and folded ─► JetStream ack ─► hq.ack.{venue}

A message is acknowledged to JetStream only once its batch is committed in the venue's store,
so a head office killed at any moment gets again, from its durable consumer, whatever it had not
stored; storing is idempotent, so what it gets twice changes nothing. Only then is the venue
told how far head office holds its entries (the contiguous prefix: a gap waits for the hub's
resend). A refused message is terminated (never redelivered) and counted; a disk that fails
gets it redelivered later.

The acknowledgement goes out on the NATS subject `hq.ack.{venue}`, which the venue's bridge
reads as MQTT topic `hq/ack/{venue}`, and, with `[nats] mqtt`, published retained over MQTT
(`hq.service.retained`: NATS keeps a retained message only for an MQTT client's publish). It
is said again every `ack_every_s`, and after every batch, duplicates included: a bridge back
from a cut hears it within that time even without the retained one.

The stream (`CHAIN`, subjects `hq.venue.>`, file storage, `replicas`, `max_age_days`) and the
consumer are made when missing. A node of the cluster going away costs a few failed fetches:
they are counted and retried; nats-py reconnects to another node.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from hq.service.chain import Chain, Refusal
from hq.service.retained import RetainedAcks
from hub.chain.wire import CONSUMER, STREAM, STREAM_SUBJECTS, Ack, dump

log = logging.getLogger("hq")

FETCH_BATCH = 100
FETCH_WAIT_S = 1.0
ACK_WAIT_S = 30.0


@dataclass(frozen=True)
class NatsSettings:
    servers: list[str]
    user: str | None
    password: str | None
    replicas: int
    max_age_s: float
    ack_every_s: float
    mqtt: list[tuple[str, int]] = field(default_factory=list)  # for retained acknowledgements


class ChainConsumer:
    """See the module's docstring. `start()` runs it on a thread of its own; `stop()` ends it."""

    def __init__(self, chain: Chain, settings: NatsSettings) -> None:
        self.chain, self.settings = chain, settings
        self.counters: Counter[str] = Counter()
        self.connected = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._said: dict[str, int] = {}  # each venue's upto last published
        self._said_at = 0.0
        mqtt = settings.mqtt
        self.retained = RetainedAcks(mqtt, settings.user, settings.password) if mqtt else None

    def start(self) -> None:
        if self.retained is not None:
            self.retained.start()
        self._thread = threading.Thread(target=self._run, name="hq-consumer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self.retained is not None:
            self.retained.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:  # a bug here must show, and end hq's reading, not the page
            log.exception("the stream's reader stopped")

    async def _main(self) -> None:
        s = self.settings
        while not self._stopping.is_set():
            try:
                nc = await nats.connect(
                    servers=s.servers,
                    user=s.user,
                    password=s.password,
                    name="hq",
                    connect_timeout=5,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    allow_reconnect=True,
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                    error_cb=self._error,
                )
            except (NatsError, OSError, TimeoutError) as exc:
                self.counters["connect_failed"] += 1
                log.warning("NATS: cannot connect to %s: %s", ", ".join(s.servers), exc)
                await asyncio.sleep(1.0)
                continue
            self.connected = True
            log.info("NATS: connected to %s", nc.connected_url.netloc if nc.connected_url else "?")
            try:
                await self._consume(nc)
            finally:
                self.connected = False
                await nc.close()

    async def _disconnected(self) -> None:
        self.connected = False
        self.counters["disconnects"] += 1
        log.warning("NATS: disconnected; reconnecting")

    async def _reconnected(self) -> None:
        self.connected = True
        log.info("NATS: reconnected")

    async def _error(self, exc: Exception) -> None:
        log.debug("NATS: %s", exc)

    async def _consume(self, nc: Any) -> None:
        js = nc.jetstream(timeout=10)
        subscription = None
        while not self._stopping.is_set():
            try:
                if subscription is None:
                    await self._ensure_stream(js)
                    subscription = await js.pull_subscribe(
                        STREAM_SUBJECTS[0],
                        durable=CONSUMER,
                        stream=STREAM,
                        config=ConsumerConfig(
                            durable_name=CONSUMER,
                            ack_policy=AckPolicy.EXPLICIT,
                            ack_wait=ACK_WAIT_S,
                            max_deliver=-1,
                            max_ack_pending=10_000,
                        ),
                    )
                    log.info("reading stream %s as durable consumer %s", STREAM, CONSUMER)
                try:
                    messages = await subscription.fetch(FETCH_BATCH, timeout=FETCH_WAIT_S)
                except TimeoutError:
                    messages = []
                for message in messages:
                    await self._handle(nc, message)
                await self._say_again(nc)
                self.chain.refresh()
            except (NatsError, OSError, TimeoutError) as exc:
                self.counters["fetch_failed"] += 1
                log.warning("the stream: %s; trying again", exc or type(exc).__name__)
                await asyncio.sleep(0.5)
                if not nc.is_connected:
                    subscription = None
            except Exception:  # a bug on one message must not stop head office reading
                self.counters["error"] += 1
                log.exception("the stream's reader")
                await asyncio.sleep(0.5)

    async def _ensure_stream(self, js: Any) -> None:
        s = self.settings
        config = StreamConfig(
            name=STREAM,
            subjects=list(STREAM_SUBJECTS),
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=s.replicas,
            max_age=s.max_age_s,
        )
        try:
            await add_stream_once_placed(js, config)
        except BadRequestError:  # there already, made otherwise: kept as it is
            info = await js.stream_info(STREAM)
            if info.config.num_replicas != s.replicas:
                log.warning(
                    "stream %s has %s replicas, hq.toml says %d: kept as it is",
                    STREAM,
                    info.config.num_replicas,
                    s.replicas,
                )

    async def _handle(self, nc: Any, message: Any) -> None:
        self.counters["messages"] += 1
        try:
            ack = self.chain.take(message.subject, message.data, int(time.time() * 1000))
        except Refusal:
            self.counters["refused"] += 1
            await message.term()
            return
        except Exception:  # the disk: comes again after a while
            self.counters["store_failed"] += 1
            log.exception("%s: not stored; it comes again", message.subject)
            await message.nak(delay=5)
            return
        await message.ack_sync()
        if ack is not None:
            await self._publish(nc, ack)

    async def _publish(self, nc: Any, ack: Ack) -> None:
        await nc.publish(f"hq.ack.{ack.venue}", dump(ack))
        if self.retained is not None:
            self.retained.publish(ack)  # kept retained: hq/ack/{venue} over MQTT
        self._said[ack.venue] = ack.upto
        self.counters["acks"] += 1

    async def _say_again(self, nc: Any) -> None:
        """Every venue's acknowledgement, every `ack_every_s`."""
        now = time.monotonic()
        if now - self._said_at < self.settings.ack_every_s:
            return
        self._said_at = now
        for ack in self.chain.acks():
            await self._publish(nc, ack)


NO_PEERS_FOR_PLACEMENT = 10005  # JetStream's error while its cluster has not yet formed


async def add_stream_once_placed(js: Any, config: StreamConfig, within_s: float = 60.0) -> Any:
    """Add a replicated stream: a cluster still forming (its nodes starting) answers "no
    suitable peers for placement", and the stream is asked for again until `within_s` ends."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return await js.add_stream(config)
        except BadRequestError as exc:
            if exc.err_code != NO_PEERS_FOR_PLACEMENT or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
