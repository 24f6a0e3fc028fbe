"""Whether head office holds a venue as its hub does: every entry of the venue sequence exactly
once, each the same gate's same journal entry, and the same headcount.

The hub's side is read from its store (`chain_order`: the venue sequence, numbered as the hub
stored each entry); head office's from its store of the venue (`venue.chain.office`) and its
API; the headcounts from the hub's `/api/headcount` and head office's `/api/venues/{venue}`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from venue.chain.held import Row, events_db, hub_rows
from venue.chain.office import HeadOffice
from venue.processes import Venue


@dataclass
class Verdict:
    venue: str
    at_hub: int
    at_hq: int
    missing: list[Row] = field(default_factory=list)  # at the hub, not at head office
    extra: list[Row] = field(default_factory=list)  # at head office, not at the hub
    twice: list[tuple[str, int]] = field(default_factory=list)  # (gate, seq) held more than once
    hub_count: dict[str, Any] = field(default_factory=dict)  # inside, children, unaccompanied
    hq_count: dict[str, Any] = field(default_factory=dict)

    @property
    def same_count(self) -> bool:
        return bool(self.hub_count) and self.hub_count == self.hq_count

    @property
    def passed(self) -> bool:
        return (
            self.at_hub > 0
            and self.at_hub == self.at_hq
            and not (self.missing or self.extra or self.twice)
            and self.same_count
        )

    def line(self) -> str:
        count = " ".join(f"{k} {self.hub_count.get(k)}/{self.hq_count.get(k)}" for k in COUNTED)
        return (
            f"{self.venue}: entries hub {self.at_hub} / head office {self.at_hq}, missing "
            f"{len(self.missing)}, extra {len(self.extra)}, twice {len(self.twice)}; "
            f"hub/head office: {count}  {'ok' if self.passed else 'DIFFERS'}"
        )


COUNTED = ("inside", "children", "unaccompanied_children")


def compare(venue: str, hub: list[Row], hq: list[Row]) -> Verdict:
    """Every row of the hub once at head office, nothing else; counts not filled in."""
    held = Counter((gate, seq) for _, gate, seq in hq)
    hub_set, hq_set = set(hub), set(hq)
    return Verdict(
        venue,
        len(hub),
        len(hq),
        missing=sorted(hub_set - hq_set),
        extra=sorted(hq_set - hub_set),
        twice=sorted(key for key, n in held.items() if n > 1),
    )


def judge_venue(venue: str, hub_venue: Venue, office: HeadOffice) -> Verdict:
    verdict = compare(venue, hub_rows(events_db(hub_venue)), office.rows(venue))
    hub = hub_venue.hub_headcount() or {}
    verdict.hub_count = {k: hub.get(k) for k in COUNTED} if hub else {}
    verdict.hq_count = office.count(venue)
    return verdict
