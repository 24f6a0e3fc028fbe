"""The loop's chores between its messages: systemd's watchdog pinged in time, the journal and
presence compacted hourly; and the gate's Prometheus metrics, read at each scrape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from gate.control.metrics import Metrics
from gate.control.sdnotify import Notifier
from gate.control.socket import ControlServer
from gate.daemon.ledger import Ledger
from gate.devices.nfc.reader import NfcReader
from gate.link.client import Link
from gate.settings import GateSettings
from gate.store.presence import PresenceError

log = logging.getLogger("gate")

COMPACT_EVERY_S = 3600.0


class Housekeeping:
    """What the loop does each turn after its message, whatever the message was."""

    def __init__(
        self,
        settings: GateSettings,
        ledger: Ledger,
        notifier: Notifier,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.notifier = notifier
        self.clock = clock
        self.watchdog_at = 0.0
        self.compact_at = 0.0

    def start(self) -> None:
        """The loop starts: the watchdog is pinged at once, the journal compacted in an hour."""
        self.watchdog_at = 0.0
        self.compact_at = time.monotonic() + COMPACT_EVERY_S

    def due(self) -> None:
        """Each turn of the loop: whichever chore's time has come."""
        if self.notifier.watchdog_interval_s and time.monotonic() >= self.watchdog_at:
            self.notifier.watchdog()
            self.watchdog_at = time.monotonic() + self.notifier.watchdog_interval_s
        if time.monotonic() >= self.compact_at:
            self.compact()
            self.compact_at = time.monotonic() + COMPACT_EVERY_S

    def compact(self) -> None:
        """Drop journal entries the hub acknowledged, once past the retention period."""
        retain = timedelta(days=self.settings.journal_retention_days)
        dropped = self.ledger.journal.compact(retain, self.clock())
        if dropped:
            log.info("journal: %d acknowledged entries past %s compacted", dropped, retain)
        try:
            if forgotten := self.ledger.presence.forget_older_than(retain, self.clock()):
                log.info("presence: %d entries of other gates past %s forgotten", forgotten, retain)
        except PresenceError as exc:
            log.error("presence: %s", exc)


def gate_metrics(
    ledger: Ledger, link: Link | None, control: ControlServer, reader: NfcReader | None
) -> Metrics:
    """The gate's Prometheus metrics; gauges are read at each scrape."""
    metrics = Metrics("wristgate_gate")
    metrics.describe("events_total", "decisions by reason code, and faults by kind")
    metrics.describe("peer_refused_total", "other gates' entries refused, by reason")
    metrics.describe("decision_seconds", "time of the rules core's decision")
    metrics.describe("journal_backlog", "journal entries the hub has not acknowledged")
    metrics.describe("reader_state", "1 for the reader's current state")
    metrics.describe("broker_connected", "1 while the MQTT link is up")
    metrics.describe("control_refused", "control socket requests refused, by reason, since start")

    def collect(m: Metrics) -> None:
        m.set("journal_backlog", ledger.journal.backlog)
        m.set("journal_last_seq", ledger.journal.last_seq)
        m.set("inside", ledger.state.inside)
        m.set("allowlist_version", ledger.state.allowlist.version)
        m.set("broker_connected", int(bool(link and link.connected)))
        for reason, n in control.refused.items():
            m.set("control_refused", n, reason=reason)
        if reader is not None:
            current = str(reader.health().state)
            for state in ("connected", "searching", "absent", "failed", "stopped"):
                m.set("reader_state", int(state == current), state=state)

    metrics.collect = collect
    return metrics
