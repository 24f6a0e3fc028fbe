"""The campaign's loop: one cut after another, each at a moment drawn from `moments`, armed on
the victim's machine and made to happen; after each, what survived is read and judged, and the
victim started again on it."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.powercut import evidence
from bench.powercut.checker import (
    Scan,
    acknowledged_in_store,
    answered_in_journal,
    integrity_failures,
)
from bench.powercut.moments import Moment, draw
from bench.powercut.mount import Mount
from bench.powercut.rig import Keeper
from gate.control.client import Unreachable
from venue.processes import Venue
from venue.socket_hands import Op

FIRE_TIMEOUT_S = 10.0
TICKET_HEADER = "code,product,adults,children,valid_from,valid_to,guardian_phone"


@dataclass
class Books:
    """What the cuts found, as they went."""

    landed: Counter[str] = field(default_factory=Counter)  # moment -> cuts that fired in it
    gate_cuts: int = 0
    hub_cuts: int = 0
    torn: int = 0
    lost: list[str] = field(default_factory=list)
    integrity: list[str] = field(default_factory=list)
    snapshots: list[tuple[str, Any]] = field(default_factory=list)
    imports: int = 0
    imports_unanswered: int = 0  # the hub down or cut while answering: the cut fires anyway


def scans_of(history: list[Op]) -> list[Scan]:
    return [Scan(o.gate, o.value, o.outcome, o.seq, o.code, o.sent) for o in list(history)]


class Cutter:
    def __init__(
        self,
        venue: Venue,
        mount: Mount,
        keeper: Keeper,
        history: Callable[[], list[Op]],
        seed: int,
        say: Callable[[str], None],
    ) -> None:
        self.venue, self.mount, self.keeper = venue, mount, keeper
        self.history = history
        self.rng = random.Random(seed)
        self.say = say
        self.books = Books()
        self._extra = 0

    def run(self, cuts: int, deadline: float) -> None:
        done = 0
        while done < cuts and time.monotonic() < deadline:
            moment = draw(self.rng, done)
            # The moment drawn waits for its machine: drawing again would spare the hub, which
            # restarts slowest, and the cuts would not land in the moments' shares.
            while not (up := [v for v in moment.victims if self.keeper.up(v)]):
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.2)
            self.cut(moment, self.rng.choice(up))
            done += 1
            if done % 10 == 0:
                self.say(self.progress(done))

    def progress(self, done: int) -> str:
        b = self.books
        landed = ", ".join(f"{m} {n}" for m, n in sorted(b.landed.items()))
        return (
            f"  {done} cuts ({b.gate_cuts} of gates, {b.hub_cuts} of the hub; {landed}); "
            f"lost {len(b.lost)}, integrity failures {len(b.integrity)}"
        )

    # --- one cut -------------------------------------------------------------------------------

    def cut(self, moment: Moment, victim: str) -> None:
        daemon = self.keeper.daemons[victim]
        assert daemon.proc is not None
        pids = [daemon.proc.pid]
        acked = self._acked() if victim == "hub" else {}
        tear, seed = self.rng.random() < 0.5, self.rng.randrange(1 << 30)
        before = len(self.mount.cuts())
        landed = moment.name
        spec = moment.arm(self.rng)
        if spec:
            self.mount.arm(victim, pids=pids, tear=tear, seed=seed, **spec)
            if moment.import_tickets:
                self._import_tickets()
            # not in time: the power goes anyway, at once (unless it fired as it was disarmed)
            if not self._fired(before) and not self.mount.disarm():
                landed = "random"
                self.mount.ask(self._now(victim, pids, tear, seed))
        else:
            time.sleep(self.rng.uniform(0.0, 1.0))
            self.mount.ask(self._now(victim, pids, tear, seed))
        record = self.mount.wait_cut(before + 1)
        self.books.landed[landed] += 1
        self.books.torn += bool(record["torn"])
        if victim == "hub":
            self.books.hub_cuts += 1
        else:
            self.books.gate_cuts += 1
        self._judge(victim, acked)
        self.keeper.restart(victim)

    @staticmethod
    def _now(victim: str, pids: list[int], tear: bool, seed: int) -> dict[str, Any]:
        return {"cmd": "cut", "machine": victim, "pids": pids, "tear": tear, "seed": seed}

    def _fired(self, before: int) -> bool:
        deadline = time.monotonic() + FIRE_TIMEOUT_S
        while time.monotonic() < deadline:
            if len(self.mount.cuts()) > before:
                return True
            time.sleep(0.02)
        return False

    def _import_tickets(self) -> None:
        """One more ticket, imported at the hub: a new allowlist version every gate swaps in."""
        assert self.venue.hub is not None
        self._extra += 1
        template = (self.venue.files / "allowlist" / "tickets.csv").read_text().splitlines()[1]
        line = ",".join([f"PWR{self._extra:05d}", *template.split(",")[1:]])
        name = f"powercut-{self._extra}.csv"
        text = f"{TICKET_HEADER}\n{line}\n"
        try:
            answer = self.venue.hub.ask("import", tickets={"name": name, "text": text})
            self.books.imports += bool(answer.get("ok"))
        except (Unreachable, ValueError):  # the armed cut fires or times out all the same
            self.books.imports_unanswered += 1

    def _acked(self) -> dict[str, int]:
        """What the hub has acknowledged to each gate that answers now."""
        acked = {}
        for gate_id, gate in self.venue.gates.items():
            if not self.keeper.up(gate_id):
                continue
            try:
                acked[gate_id] = int(gate.status(timeout=3)["journal"]["acked"])
            except (Unreachable, KeyError, TypeError, ValueError):
                continue
        return acked

    def _judge(self, victim: str, acked: dict[str, int]) -> None:
        """What survived on the victim's disk, before it starts again on it."""
        disk = self.mount.point / victim
        results = [(f"{victim}/{p.name}", evidence.integrity(p)) for p in evidence.stores(disk)]
        failures = integrity_failures(results)
        self.books.integrity += failures
        if failures:
            return  # nothing more can be read off it
        if victim == "hub":
            stored, _ = evidence.hub_store(disk / "events.db")
            lost = acknowledged_in_store(acked, {(e.gate, e.seq) for e in stored})
            self.books.lost += [f"hub cut: {item}" for item in lost]
            return
        rows, compacted = evidence.journal(disk / "journal.db", victim)
        lost = answered_in_journal(scans_of(self.history()), victim, rows, compacted)
        self.books.lost += [f"{victim} cut: {item}" for item in lost]
        self.books.snapshots.append(
            (f"{victim} after cut", evidence.snapshot(disk / "allowlist.json"))
        )
