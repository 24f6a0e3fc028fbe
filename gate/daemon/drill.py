"""A drill the hub ordered this gate to play (定期演练, `hub drill start KIND --gate G`), on the
loop: the order comes over the link (`hub/drill/{gate}`, which only the hub may write: the
broker's ACL), and the gate plays it as the real fault would look.

    broker-cut       the gate says goodbye to the broker (its status offline, marked as a drill)
                     and drops its link: it decides cut off, journals its scans as offline, and
                     connects again when the order's `for_s` has passed, then sends its backlog
    reader-removed   the gate treats its reader as removed: reads from it are dropped (counted),
                     its status says "removed"; it ends on the hub's order or after `for_s`

Nothing else changes: the rules, the journal, the barcode scanner and the technician's test
scans work as in any outage. `gatectl status` shows the drill while it lasts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from gate.link.client import Link
from gate.link.protocol import DrillOrder

log = logging.getLogger("gate")


class GateDrill:
    def __init__(self, link: Link, clock: Callable[[], float] = time.monotonic) -> None:
        self.link, self.clock = link, clock
        self.order: DrillOrder | None = None
        self.until = 0.0
        self.dropped_reads = 0

    @property
    def kind(self) -> str | None:
        return self.order.kind if self.order else None

    @property
    def reader_removed(self) -> bool:
        return self.kind == "reader-removed"

    def ordered(self, order: DrillOrder) -> None:
        if not order.active:
            if self.order is not None and order.drill == self.order.drill:
                self.end("ended by the hub")
            return
        if self.order is not None:
            log.warning("drill %d refused: drill %d is under way", order.drill, self.order.drill)
            return
        self.order, self.until, self.dropped_reads = order, self.clock() + order.for_s, 0
        log.warning(
            "DRILL %d: %s for at most %d s (ordered by the hub)",
            order.drill,
            order.kind,
            order.for_s,
        )
        if order.kind == "broker-cut":
            self.link.cut(order.kind)

    def dropped(self, _read: object = None) -> None:
        """A read from the reader while it counts as removed: dropped, counted."""
        self.dropped_reads += 1

    def tick(self) -> None:
        if self.order is not None and self.clock() >= self.until:
            self.end(f"its {self.order.for_s} s are over")

    def end(self, why: str) -> None:
        if self.order is None:
            return
        order, self.order = self.order, None
        log.warning("DRILL %d over (%s): %s", order.drill, why, order.kind)
        if order.kind == "broker-cut":
            self.link.restore()

    def as_dict(self) -> dict[str, Any] | None:
        if self.order is None:
            return None
        return {
            "drill": self.order.drill,
            "kind": self.order.kind,
            "left_s": round(max(self.until - self.clock(), 0.0), 1),
            "dropped_reads": self.dropped_reads,
        }
