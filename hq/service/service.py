"""`hq run`: the chain's head office. It reads every venue's entries and summaries from the
chain's JetStream stream (`hq.service.consumer`), keeps each venue's store and fold
(`hq.service.chain`), and serves the chain's page and API (`hq.service.web`).

    stream CHAIN ─► consumer (its own thread, asyncio) ─► venues/{venue}.db ─► fold
                        └─► hq.ack.{venue}  (the venue's hub forwards from there)
    HTTP (/, /api/venues, /api/sheets) reads the folds from its own threads

No venue depends on head office: a venue's hub forwards through its broker's bridge and goes
on whether head office, the cluster or the link is there or not.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from hq.service.chain import Chain
from hq.service.config import HqConfig
from hq.service.consumer import ChainConsumer, NatsSettings
from hq.service.tokens import TokenAccess
from hq.service.web import ChainWeb, make_web_server

log = logging.getLogger("hq")


class HeadOffice:
    def __init__(self, config: HqConfig) -> None:
        self.config = config
        h, n = config.hq, config.nats
        h.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not config.token:
            log.warning("hq.toml has no [[token]]: the API answers nobody (hq token makes one)")
        self.chain = Chain(h.state_dir, default_tz=h.timezone)
        settings = NatsSettings(
            servers=list(n.servers),
            user=n.user,
            password=config.nats_password(),
            replicas=n.replicas,
            max_age_s=n.max_age_days * 86400,
            ack_every_s=n.ack_every_s,
            mqtt=n.mqtt_addresses(),
        )
        self.consumer = ChainConsumer(self.chain, settings)
        self.web = ChainWeb(
            self.chain,
            TokenAccess(config.token),
            language=h.language,
            stale_after_s=h.stale_after_s,
            default_tz=h.timezone,
            reading=lambda: self.consumer.connected,
            counters=lambda: dict(self.consumer.counters),
        )
        web = config.http
        self.http = make_web_server(
            self.web, web.bind, web.port, allowed_hosts=web.allowed_hosts, workers=web.workers
        )
        self._stopping = threading.Event()

    def run(self) -> int:
        self.consumer.start()
        threading.Thread(target=self.http.serve_forever, name="http", daemon=True).start()
        host, port = self.http.server_address[:2]
        log.info(
            "hq running: http://%s:%d/ (%d venues known)", host, port, len(self.chain.venues())
        )
        try:
            while not self._stopping.wait(0.5):
                pass
        finally:
            self.close()
        return 0

    def stop(self, *_: object) -> None:
        self._stopping.set()

    def handle_signals(self) -> None:
        def stop(_signum: int, _frame: FrameType | None) -> None:
            self.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def close(self) -> None:
        self.consumer.stop()
        self.http.shutdown()
        self.http.server_close()
        self.chain.close()
        log.info("hq stopped")
