"""Moves the hub holds for a family's planned move, though not as the plan wrote it. Pure.

The day-as-planned judgement (`venue.as_planned`) counts, family by family, the moves the hub
holds, and no family may have more of a kind than its plan. Two histories make a gate decide
right from what it knew and still leave the hub with a move of a kind beyond the plan's; both
are recounted here, each from the scan it answers (matched by request id), and shown as such:

- **another kind, the same way**: a family whose answer was lost, or that a fault disturbed,
  asks its back entry for the planned re-entry; the gate never heard of the member's entry nor
  of the temporary exit (cut off, or the broker restarted without its session) and holds the
  band as bound: `OK_ENTRY`. One passage in, as planned, of the kind the gate could know: it is
  counted as the re-entry its scan was for. Only a grant the same way as the one planned (in for
  in, out for out) is recounted; a code the scan did not expect fails the run anyway unless a
  lost answer or a fault explains it (`judge_scans`).
- **the same move again, by a gate cut off**: a gate commits a family's move and dies before it
  answers; the family, never told, asks again. Meanwhile the restarted exit gate closed the
  pairing window on the children inside and took the adult back to `temp_out` (the adult must
  come back for them), and, not yet connected, it lets out a band it does not know to be inside
  (docs/offline.md): the same `OK_EXIT` twice for one band, the second journalled offline.
  Counted once. Only a move out: no gate lets a band in again that it let in (cut off or not).
  The same move granted again by a connected gate is no such repeat: it stays a move beyond
  the plan.

Any other move beyond the plan's stays one, and fails the family.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from venue.plan import MOVES

IN = frozenset({"OK_ENTRY", "OK_REENTRY"})
OUT = frozenset({"OK_EXIT", "OK_TEMP_EXIT"})  # what a gate cut off may grant again


class Scan(Protocol):
    """What the harness recorded of a scan (`venue.socket_hands.Op`)."""

    gate: str
    value: str
    sent: float
    outcome: str
    request: str
    expected: frozenset[str]


class Stored(Protocol):
    """A journal entry at the hub (`bench.chaos.checker.Row`)."""

    gate: str
    body: Mapping[str, Any]


@dataclass
class Recount:
    change: dict[str, Counter[str]] = field(default_factory=dict)  # family: to add to its moves
    said: Counter[str] = field(default_factory=Counter)  # why, how many

    def _move(self, family: str, held: str, counted: str | None, why: str) -> None:
        change = self.change.setdefault(family, Counter())
        change[held] -= 1
        if counted is not None:
            change[counted] += 1
        self.said[why] += 1


def recount(scans: Sequence[Scan], hub: Sequence[Stored], families: Mapping[str, str]) -> Recount:
    """What to add to each family's moves at the hub (`venue.as_planned.happened_at_hub`)."""
    sent = {(s.gate, s.request): s for s in scans}
    grants = []
    for row in hub:
        code = (row.body.get("decision") or {}).get("code")
        scan = sent.get((row.gate, str(row.body.get("request") or "")))
        if code in MOVES and scan is not None and scan.value in families:
            offline = bool((row.body.get("scan") or {}).get("offline"))
            grants.append((scan, str(code), offline))
    result = Recount()
    unheard: set[tuple[str, str]] = set()  # (band, code) committed, the answer lost
    for scan, code, offline in sorted(grants, key=lambda g: g[0].sent):
        family = families[scan.value]
        if offline and code in OUT and (scan.value, code) in unheard:
            result._move(family, code, None, f"{code} again after a lost answer, offline")
            continue
        if scan.outcome != "ok":
            unheard.add((scan.value, code))
        planned = scan.expected & set(MOVES)
        if code in scan.expected or len(planned) != 1:
            continue
        (counted,) = planned
        if any(code in way and counted in way for way in (IN, OUT)):
            result._move(family, code, counted, f"{code} for a planned {counted}")
    return result
