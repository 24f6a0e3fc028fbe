"""`gate simulate`: a dry run of scans through the real rules, all gates sharing one state.

Prints one JSON decision per scan line, then a summary line as of the last scan's time.
Nothing is written anywhere: operators rehearse a day, technicians replay an incident.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from gate.core import (
    Allowlist,
    Code,
    Decision,
    Policy,
    State,
    advance,
    fold,
    headcount,
    join,
    step,
)
from gate.tools.scanline import Join, ScanLineError, decision_line, read_on_the_reader
from gate.tools.simulate_desk import (
    Bound,
    Pickup,
    Walkin,
    bind_with_code,
    parse_any,
    pick_up,
    walk_in,
)


@dataclass
class Outcome:
    rejected: int = 0  # scan lines that could not be read
    codes: Counter[Code] = field(default_factory=Counter)

    def tally(self) -> str:
        """A table of decisions by reason code, grants first."""
        rows = sorted(self.codes.items(), key=lambda kv: (not kv[0].granted, kv[0].value))
        width = max((len(c.value) for c, _ in rows), default=0)
        lines = [f"{code.value:<{width}}  {n:>6}" for code, n in rows]
        lines.append(f"{'scans':<{width}}  {self.codes.total():>6}")
        return "\n".join(lines)


def simulate(
    allowlist: Allowlist,
    policy: Policy,
    lines: Iterable[str],
    out: TextIO,
    err: TextIO,
    source: str = "scans",
) -> Outcome:
    """Run every scan line; a line that cannot be read is reported on `err` and skipped."""
    state = State(allowlist=allowlist)
    outcome = Outcome()
    last: datetime | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            read, now = parse_any(line)
        except ScanLineError as exc:
            print(f"{source}:{number}: line skipped: {exc}", file=err)
            outcome.rejected += 1
            continue
        if last is not None and now < last:
            print(f"{source}:{number}: warning: time goes back from {last.isoformat()}", file=err)
        where = f"{source}:{number}"
        if isinstance(read, Join):
            decision = join_at_desk(state, read, now, policy)
        elif isinstance(read, Walkin):
            decision = walk_in(state, read, now, policy, err, where)
        elif isinstance(read, Bound):
            decision = bind_with_code(state, read, now, policy, err, where)
        elif isinstance(read, Pickup):
            decision = pick_up(state, read, now, policy)
        else:
            decision, _ = step(state, read_on_the_reader(read, allowlist.staff), now, policy)
        outcome.codes[decision.code] += 1
        out.write(json.dumps(decision_line(decision), ensure_ascii=False) + "\n")
        last = now if last is None else max(last, now)
    if last is not None:
        advance(state, last, policy)  # windows that closed by the last scan count in the summary
    out.write(json.dumps({"summary": headcount(state).as_dict()}) + "\n")
    return outcome


def join_at_desk(state: State, line: Join, now: datetime, policy: Policy) -> Decision:
    """The desk's join as the gate makes it (`gate.daemon.desk_actions`): decided by the rules core,
    its `GroupsJoined` folded into the state every gate shares."""
    advance(state, now, policy)
    decision, events = join(state, line.gate, line.first, line.second, now, policy)
    for event in events:
        fold(state, event)
    return decision
