"""Driving the core: close due windows, decide, fold — the loop every gate and the simulator run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gate.core.decider import decide
from gate.core.events import Event
from gate.core.model import Decision, MemberState, Policy, Role, Scan
from gate.core.rules import expire
from gate.core.state import State, fold


def advance(state: State, now: datetime, policy: Policy, gate: str | None = None) -> list[Event]:
    """Fold the pairing windows (of `gate`, or all) that closed by `now`; returns their events."""
    events = expire(state, now, policy, gate)
    for event in events:
        fold(state, event)
    return events


def step(state: State, scan: Scan, now: datetime, policy: Policy) -> tuple[Decision, list[Event]]:
    """Advance time to `now`, decide `scan` and fold its events. Returns every event folded."""
    events = advance(state, now, policy)
    decision, produced = decide(state, scan, now, policy)
    for event in produced:
        fold(state, event)
    return decision, events + produced


@dataclass(frozen=True, slots=True)
class Headcount:
    inside: int
    adults: int
    children: int
    unaccompanied_children: int  # children inside whose group is flagged
    groups_inside: int

    def as_dict(self) -> dict[str, int]:
        return {
            "inside": self.inside,
            "adults": self.adults,
            "children": self.children,
            "unaccompanied_children": self.unaccompanied_children,
            "groups_inside": self.groups_inside,
        }


def headcount(state: State) -> Headcount:
    """Count the members inside (a full pass: for displays and reports, not the scan path)."""
    adults = children = unaccompanied = 0
    groups: set[str] = set()
    for m in state.members.values():
        if m.state is not MemberState.INSIDE:
            continue
        groups.add(m.group)
        if m.role is Role.ADULT:
            adults += 1
        else:
            children += 1
            unaccompanied += m.role is Role.CHILD and state.groups[m.group].unaccompanied
        # staff are never members, so every member is an adult or a child
    return Headcount(adults + children, adults, children, unaccompanied, len(groups))
