"""The loop's chores between its messages: systemd's watchdog pinged in time, the journal and
presence compacted hourly. (The gate's metrics: `gate.daemon.metrics`.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from gate.control.sdnotify import Notifier
from gate.daemon.ledger import Ledger
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
        self.binding_watch: Callable[[], object] | None = None  # a desk's (desk_prompts)

    def start(self) -> None:
        """The loop starts: the watchdog is pinged at once, the journal compacted in an hour."""
        self.watchdog_at = 0.0
        self.compact_at = time.monotonic() + COMPACT_EVERY_S

    def due(self) -> None:
        """Each turn of the loop: whichever chore's time has come."""
        if self.notifier.watchdog_interval_s and time.monotonic() >= self.watchdog_at:
            self.notifier.watchdog()
            self.watchdog_at = time.monotonic() + self.notifier.watchdog_interval_s
        if self.binding_watch is not None:  # a desk's binding gone quiet short: who is missing
            self.binding_watch()
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
