"""The audit's violations that rest on what the other gates said: held until each of them has
reported, in a status received after the entry, that the hub holds all it journalled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hub.fold.findings import Finding
from hub.store.records import GateRow

# A violation resting on what the other gates said waits until they have all reported; a gate
# silent this long before the entry came (retired, or unplugged: the display says so) is not
# waited for.
RETIRED_AFTER_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Pending:
    """A violation that rests on what the other gates said: raised once each of them has
    reported all it journalled (its entries may still be on their way). `unless_entered`: an
    exit decided cut off, no violation if some gate let the band in."""

    finding: Finding
    received_ms: int
    unless_entered: bool = False


def ready_findings(
    pending: Sequence[Pending], ever_inside: set[str], gates: Sequence[GateRow]
) -> list[Finding]:
    """The violations resting on the other gates, once each of them has reported, in a
    status received after the entry, that the hub holds its whole journal (a gate silent
    for `RETIRED_AFTER_MS` before it is not waited for); the exits decided cut off only if
    no gate let the band in."""
    found = []
    for p in pending:
        if p.unless_entered and p.finding.uid in ever_inside:
            continue
        others = [
            g
            for g in gates
            if g.gate not in p.finding.gates and _heard_since(g, p.received_ms - RETIRED_AFTER_MS)
        ]
        if all(_caught_up(g, p.received_ms) for g in others):
            found.append(p.finding)
    return found


def _heard_since(row: GateRow, since_ms: int) -> bool:
    last = max(row.status_ms or 0, row.last_seen_ms or 0)
    return last >= since_ms


def _caught_up(row: GateRow, since_ms: int) -> bool:
    """The gate said, in a status received at or after `since_ms`, that the hub holds every
    entry it journalled."""
    status: dict[str, Any] = row.status or {}
    last_seq = status.get("last_seq")
    return (
        row.status_ms is not None
        and row.status_ms >= since_ms
        and isinstance(last_seq, int)
        and last_seq <= row.acked
    )
