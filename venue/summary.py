"""The end of the day: the ground truth beside the hub's headcount, and nothing lost or doubled.

Events lost: for each gate, the entries its journal holds (`last_seq`, from the gate) that the
hub's event store does not (the distinct sequence numbers it stored for that gate). Duplicates:
entries stored twice (rows beside distinct sequence numbers; the store is keyed on gate and
sequence, so this stays 0 however often a gate resends). The copies a gate sent again after the
outage, which the hub recognised and ignored, are shown too: that is the idempotence at work.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from venue.as_planned import Judgement, family_of, happened_at_hub, judge_day, judge_scans
from venue.day import Simulation
from venue.plan import Plan, Story, hhmm
from venue.truth import Checkpoint


def store_bodies(path: Path) -> list[dict[str, Any]]:
    """Every entry's body the hub's event store at `path` holds (read only), refused stubs
    left out."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [
            json.loads(body)
            for (body,) in db.execute("SELECT body FROM entries WHERE kind != 'refused'")
        ]
    finally:
        db.close()


# What the emulated readers answer a band they did not read whole (a loaded machine: nfcpy's
# udp driver times out mid-read, the tag looks like another type or its signature is cut short).
READER_MISREADS = frozenset({"DENY_BAD_TOKEN", "DENY_BINDING"})


def judge_demo(plan: Plan, sim: Simulation, bodies: list[dict[str, Any]]) -> Judgement:
    """Every answer as the simulator expected it (a misread of the emulated readers is a lost
    read), and the hub holding the planned day, exactly."""
    families = family_of(plan)
    judgement = judge_scans(sim.tally.scans, families, misreads=READER_MISREADS)
    happened = happened_at_hub(bodies, families)
    return judge_day(plan, sim.hands.overrides, happened, judgement, exact_totals=True)


@dataclass
class StoreRow:
    """One gate as the hub's event store holds it."""

    gate: str
    acked: int  # every seq 1..acked is stored
    stored: int  # rows in the store
    distinct: int  # distinct seqs among them
    resent: int  # copies the gate sent again that the store recognised and ignored
    conflicts: int


def store_rows(path: Path) -> dict[str, StoreRow]:
    """Per gate, what the hub's event store at `path` holds (read only, beside the running hub)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        counts = {
            gate: (rows, distinct)
            for gate, rows, distinct in db.execute(
                # an entry the hub refused (quarantined, a stub kept) counts as lost
                "SELECT gate, COUNT(*), COUNT(DISTINCT seq) FROM entries "
                "WHERE kind != 'refused' GROUP BY gate"
            )
        }
        found = {}
        for gate, acked, duplicates, conflicts in db.execute(
            "SELECT gate, acked, duplicates, conflicts FROM gates"
        ):
            rows, distinct = counts.get(gate, (0, 0))
            found[gate] = StoreRow(gate, acked, rows, distinct, duplicates, conflicts)
        return found
    finally:
        db.close()


@dataclass(frozen=True)
class JournalRow:
    gate: str
    last_seq: int  # the gate's own count of its journal entries
    acked: int  # the hub's watermark for the gate
    stored: int
    distinct: int
    resent: int
    conflicts: int

    @property
    def lost(self) -> int:
        """Entries of the gate's journal the hub does not hold: missing, or refused because
        the hub holds another entry under their sequence number (a conflict)."""
        return max(self.last_seq - self.distinct, 0) + self.conflicts

    @property
    def duplicates(self) -> int:
        return self.stored - self.distinct


def journal_rows(
    journals: dict[str, dict[str, int]], store: dict[str, StoreRow]
) -> list[JournalRow]:
    rows = []
    for gate, journal in journals.items():
        s = store.get(gate) or StoreRow(gate, 0, 0, 0, 0, 0)
        rows.append(
            JournalRow(
                gate, int(journal["last_seq"]), s.acked, s.stored, s.distinct, s.resent, s.conflicts
            )
        )
    return rows


@dataclass
class Report:
    plan: Plan
    sim: Simulation
    journals: list[JournalRow]
    findings: list[dict[str, Any]]
    judgement: Judgement = field(default_factory=Judgement)
    deaths: list[str] = field(default_factory=list)  # daemons that died during the day

    @property
    def lost(self) -> int:
        return sum(r.lost for r in self.journals)

    @property
    def duplicates(self) -> int:
        return sum(r.duplicates for r in self.journals)

    @property
    def agrees(self) -> bool:
        return bool(self.sim.checkpoints) and all(c.agrees for c in self.sim.checkpoints)

    @property
    def ok(self) -> bool:
        return (
            self.agrees
            and self.lost == 0
            and self.duplicates == 0
            and self.judgement.passed
            and not self.deaths
        )

    def lines(self) -> list[str]:
        plan, sim = self.plan, self.sim
        out = ["", "=" * 30 + " the day in numbers " + "=" * 30]
        stories = [
            _n(plan.count(Story.SOLO), "solo child", "solo children"),
            _n(plan.count(Story.TEMPORARY), "temporary exit", "temporary exits"),
            _n(plan.count(Story.LEAVES_FIRST), "adult who left first", "adults who left first"),
            _n(plan.count(Story.CHECKED), "handheld check", "handheld checks"),
            _n(plan.count(Story.CHILD_ALONE), "child who tried alone", "children who tried alone"),
        ]
        out.append(
            f"{len(plan.families)} families, {plan.people} people; among them {', '.join(stories)}"
        )
        if sim.outage is not None:
            began, ended = sim.outage
            out.append(
                f"broker down for {sim.outage_s:g} s of real time (venue {hhmm(began)}-"
                f"{hhmm(ended)}): "
                "the gates decided alone meanwhile"
            )
        floor = sim.tally
        decisions = sum(floor.codes.values())
        out.append(f"answers at the gates: {decisions}: {_tally(floor.codes)}")
        if floor.checks:
            seen = sum(ok for _uid, _shown, ok in floor.checks)
            out.append(f"handheld checks: {len(floor.checks)}, {seen} showed the band inside")
        if floor.surprises:
            out.append(f"not as the plan expected: {_tally(floor.surprises)}")
        if floor.escorted:
            out.append(f"walked out by staff: {floor.escorted}")
        out += ["", *self._headcount()]
        out += ["", *self._journal_table()]
        kinds = Counter(str(f.get("kind")) for f in self.findings)
        out.append("")
        out.append(f"hub findings: {_tally(kinds) if kinds else 'none'}")
        broken = Counter(
            str(f.get("kind")) for f in self.findings if f.get("severity") == "critical"
        )
        out.append(f"rule violations: {_tally(broken) if broken else 'none'}")
        out += ["", *self.judgement.lines()]
        out += [f"died during the day: {death}" for death in self.deaths]
        out.append("")
        out.append(self.result())
        return out

    def _headcount(self) -> list[str]:
        lines = [f"{'headcount':<40}{'inside':>8}{'adults':>8}{'children':>10}{'unaccomp.':>11}"]
        for point in self.sim.checkpoints:
            label = f"{point.name} (venue {hhmm(point.day_time)})"
            lines.append(_count_line(label, "truth", point))
            lines.append(_count_line("", "hub", point))
        return lines

    def _journal_table(self) -> list[str]:
        head = (
            f"{'journals':<10}{'gate':<6}{'last seq':>9}{'hub acked':>11}{'stored':>8}"
            f"{'lost':>6}{'stored twice':>14}{'resent, ignored':>17}"
        )
        lines = [head]
        for r in self.journals:
            lines.append(
                f"{'':<10}{r.gate:<6}{r.last_seq:>9}{r.acked:>11}{r.stored:>8}{r.lost:>6}"
                f"{r.duplicates:>14}{r.resent:>17}"
            )
        return lines

    def result(self) -> str:
        parts = [
            "hub == ground truth" if self.agrees else "hub != ground truth",
            f"lost {self.lost}",
            f"duplicates {self.duplicates}",
            "the day as planned"
            if self.judgement.passed
            else f"NOT as planned ({len(self.judgement.unexpected)} unexpected codes, "
            f"{len(self.judgement.off_plan)} off plan)",
        ]
        if self.deaths:
            parts.append(f"{len(self.deaths)} daemons died")
        head = "RESULT: " if self.ok else "RESULT: FAILED: "
        return head + ", ".join(parts)


def _count_line(label: str, who: str, point: Checkpoint) -> str:
    count = point.truth if who == "truth" else point.hub
    if count is None:
        return f"  {label:<32}{who:<6}{'(no answer)':>37}"
    mark = ("agree" if point.agrees else "DIFFER") if who == "hub" else ""
    return (
        f"  {label:<32}{who:<6}{count.inside:>8}{count.adults:>8}{count.children:>10}"
        f"{count.unaccompanied:>11}  {mark}".rstrip()
    )


def _tally(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counter.items(), key=lambda kv: -kv[1]))


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"
