"""Whether the day happened as planned: the demo's judge and the chaos checker's alike. Pure.

Two oracles besides "the hub agrees with the ground truth" (which an all-denied day passes):

- every scan's code is the one the simulator expected for it (`Tap.expect`, recorded with the
  scan). A family one of whose scans went unanswered (no read, no answer, a gate down, a
  refusal) no longer knows where its bands are: from then on its codes are *explained by a
  lost answer*. A harness may explain a denial by a fault of its own too (the chaos
  campaign's nemesis: `explain`). Any other code is unexpected, and fails the run;
- the hub holds the moves the plan called for (`venue.plan.planned_moves`): entries,
  re-entries, exits, temporary exits, overrides, and unaccompanied flags, family by family.
  A family whose day was disturbed (as above) may fall short (and be flagged, its children
  left inside by a gate that went down); any other family must match exactly, and no family
  may ever have more moves than planned. A family stopped on its way (the campaign ends
  before the day does) is held to "never more".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from venue.plan import MOVES, Plan, planned_moves

FLAGS = "flags"  # unaccompanied flags (GroupFlagged), beside the move codes
WORDS = {
    "OK_ENTRY": "entries",
    "OK_REENTRY": "re-entries",
    "OK_EXIT": "exits",
    "OK_TEMP_EXIT": "temporary exits",
    "OK_OVERRIDE": "overrides",
    FLAGS: "unaccompanied flags",
}


@dataclass(frozen=True)
class Scanned:
    """One scan as the simulator made it: `code` None when it was not answered with one."""

    gate: str
    value: str
    code: str | None
    expected: frozenset[str]
    at: float = 0.0  # time.monotonic() when sent


@dataclass
class Judgement:
    unexpected: list[str] = field(default_factory=list)
    explained: Counter[str] = field(default_factory=Counter)  # "CODE (why)": how many
    recounted: Counter[str] = field(default_factory=Counter)  # moves counted as another: why
    disturbed: set[str] = field(default_factory=set)  # families (tickets)
    planned: Counter[str] = field(default_factory=Counter)
    happened: Counter[str] = field(default_factory=Counter)
    off_plan: list[str] = field(default_factory=list)  # families whose moves differ
    finished: int = 0  # families whose day was over (the others were stopped on the way)
    as_planned: int = 0  # of those, the ones whose moves at the hub are exactly the plan's

    @property
    def passed(self) -> bool:
        return not self.unexpected and not self.off_plan

    def lines(self) -> list[str]:
        out = [
            "as planned: "
            + ", ".join(f"{WORDS[k]} {self.happened[k]}/{self.planned[k]}" for k in (*MOVES, FLAGS))
            + " (at the hub / planned, of the families whose day was over)",
            f"  families whose day was over: {self.finished}, "
            f"exactly as planned: {self.as_planned}",
        ]
        if self.disturbed:
            out.append(f"  families a lost answer or a fault disturbed: {len(self.disturbed)}")
        if self.explained:
            said = ", ".join(f"{k} {n}" for k, n in self.explained.most_common())
            out.append(f"  codes explained: {said}")
        if self.recounted:
            said = ", ".join(f"{k} {n}" for k, n in self.recounted.most_common())
            out.append(f"  moves at the hub recounted: {said}")
        out += [f"  unexpected: {line}" for line in self.unexpected[:10]]
        out += [f"  off plan: {line}" for line in self.off_plan[:10]]
        return out


def family_of(plan: Plan) -> dict[str, str]:
    """Every band and ticket of the plan: its family's ticket."""
    found = {f.ticket: f.ticket for f in plan.families}
    found |= {uid: f.ticket for f in plan.families for uid in f.bands}
    return found


def judge_scans(
    scans: Iterable[Scanned],
    families: Mapping[str, str],
    explain: Callable[[Scanned], str | None] = lambda _scan: None,
    misreads: frozenset[str] = frozenset(),
) -> Judgement:
    """Each scan's code against its expectation, in the order the scans were made.
    `misreads`: codes a reader gives a band it did not read whole (the demo's emulated readers
    on a loaded machine: DENY_BAD_TOKEN, DENY_BINDING when the token did not read back): a lost
    read, as if unanswered; the totals at the hub still have to be the plan's."""
    result = Judgement()
    for scan in scans:
        family = families.get(scan.value)
        if scan.code is None:
            if family is not None:
                result.disturbed.add(family)
            continue
        if not scan.expected or scan.code in scan.expected:
            continue
        if scan.code in misreads:
            result.explained[f"{scan.code} (a misread)"] += 1
            if family is not None:
                result.disturbed.add(family)
            continue
        if family is not None and family in result.disturbed:
            result.explained[f"{scan.code} (after a lost answer)"] += 1
            continue
        why = explain(scan) if scan.code.startswith("DENY_") else None
        if why is not None:
            result.explained[f"{scan.code} ({why})"] += 1
            if family is not None:
                result.disturbed.add(family)
            continue
        expected = " or ".join(sorted(scan.expected))
        result.unexpected.append(f"{scan.gate} {scan.value}: {scan.code}, expected {expected}")
    return result


def happened_at_hub(
    rows: Iterable[Mapping[str, Any]], families: Mapping[str, str]
) -> dict[str, Counter[str]]:
    """Per family, the moves and flags the hub holds: `rows` are entries' bodies (a decision's
    scan value and code, each entry's events)."""
    found: dict[str, Counter[str]] = {}
    for body in rows:
        code = (body.get("decision") or {}).get("code")
        value = (body.get("scan") or {}).get("value")
        if code in MOVES and (family := families.get(str(value))) is not None:
            found.setdefault(family, Counter())[code] += 1
        for event in body.get("events") or ():
            if isinstance(event, Mapping) and event.get("type") == "GroupFlagged":
                group = str(event.get("group"))
                if group in families:
                    found.setdefault(group, Counter())[FLAGS] += 1
    return found


def judge_day(
    plan: Plan,
    overrides: bool,
    happened: Mapping[str, Counter[str]],
    judgement: Judgement,
    finished: Collection[str] | None = None,
    exact_totals: bool = False,
) -> Judgement:
    """The hub's moves against the plan's, family by family (see the module's docstring).
    `finished`: the families whose day was over (None: all); a family stopped on its way (the
    campaign ends before the day does) may fall short, never go beyond. With `exact_totals`
    (the demo, which has no faults), the day's totals must match the plan's too."""
    keys = (*MOVES, FLAGS)
    for family in plan.families:
        planned = planned_moves(family, overrides)
        held = happened.get(family.ticket, Counter())
        over = finished is None or family.ticket in finished
        undisturbed = family.ticket not in judgement.disturbed
        # a fault may leave children inside while their adults are out (flagged): never moves
        more = [k for k in keys if held[k] > planned[k] and (k != FLAGS or undisturbed)]
        differs = [k for k in keys if held[k] != planned[k]]
        if over:
            judgement.planned.update(planned)
            judgement.happened.update(held)
            judgement.finished += 1
            judgement.as_planned += not differs
        if more or (over and undisturbed and differs):
            said = ", ".join(f"{WORDS[k]} {held[k]} (planned {planned[k]})" for k in differs)
            judgement.off_plan.append(f"{family.ticket} ({family.story}): {said}")
    if exact_totals:
        for key in (*MOVES, FLAGS):
            if judgement.happened[key] != judgement.planned[key]:
                judgement.off_plan.append(
                    f"{WORDS[key]}: {judgement.happened[key]} at the hub, "
                    f"{judgement.planned[key]} planned"
                )
    return judgement
