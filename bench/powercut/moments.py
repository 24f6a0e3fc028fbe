"""The moments the campaign cuts the power at, each driven on purpose: an armed cut that fires
from inside the filesystem operation that moment is made of (`bench.powercut.switch`).

    scan         an entry or exit gate, inside the journal commit of a decision (a WAL write,
                 or its fsync not done yet): the scan in flight, its answer not given
    binding      the desk, inside the commit of a ticket's binding (its bands issued)
    swap         a gate, inside the allowlist swap a hub import starts: the new snapshot's
                 temporary file written or synced, or renamed over the old one before the
                 directory is synced
    compaction   a gate, inside the journal compaction that follows its look-up of
                 `.compaction` (`bench.powercut.gate_process`)
    ingest       the hub, inside the commit of a gate's batch to its event store
    hub_swap     the hub, inside the save of the allowlist an import changed
    random       any machine, at a random instant (and any armed cut that did not fire in time)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

GATE_JOURNAL_OPS = ("write", "write", "fsync")


@dataclass(frozen=True)
class Moment:
    name: str
    victims: tuple[str, ...]
    weight: float
    import_tickets: bool = False  # the moment needs an allowlist change to happen

    def arm(self, rng: random.Random) -> dict[str, Any]:
        """What to arm the switch with (machine and pids added by the campaign)."""
        if self.name in ("scan", "binding"):
            op = rng.choice(GATE_JOURNAL_OPS)
            return {"op": op, "match": "journal.db-wal", "skip": rng.randint(0, 3)}
        if self.name in ("swap", "hub_swap"):
            return {"op": rng.choice(("write", "fsync", "rename")), "match": "allowlist", "skip": 0}
        if self.name == "compaction":
            after = {"op": "getattr", "match": ".compaction"}
            return {"op": rng.choice(GATE_JOURNAL_OPS), "match": "journal.db", "skip": 0,
                    "after": after}  # fmt: skip
        if self.name == "ingest":
            op = rng.choice(GATE_JOURNAL_OPS)
            return {"op": op, "match": "events.db-wal", "skip": rng.randint(0, 5)}
        return {}


GATES = ("D1", "E1", "E2", "X1", "X2", "H1")
MOMENTS = (
    Moment("scan", ("E1", "E2", "X1", "X2"), 0.25),
    Moment("binding", ("D1",), 0.08),
    Moment("swap", GATES, 0.12, import_tickets=True),
    Moment("compaction", ("D1", "E1", "E2", "X1", "X2"), 0.12),
    Moment("ingest", ("hub",), 0.17),
    Moment("hub_swap", ("hub",), 0.05, import_tickets=True),
    Moment("random", (*GATES, "hub"), 0.21),
)


def draw(rng: random.Random, done: int) -> Moment:
    """The `done`th cut's moment: each moment once first (so a short run has them all), then
    drawn by weight."""
    if done < len(MOMENTS):
        return MOMENTS[done]
    return rng.choices(MOMENTS, weights=[m.weight for m in MOMENTS])[0]
