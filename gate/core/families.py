"""Is the family complete? (提示一家人是否到齐): who of a group is still to be bound. Pure.

A group is *incomplete* while a slot of its ticket has no band bound: derived from the state
(`Group.bound_adults` against `Group.adults`, children alike), so it stays incomplete, in the
lookup, the console and the report, until the rest bind. A binding left short at the desk
(another ticket opened there before it was full) is said in the new binding's decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from gate.core.state import Group, State


@dataclass(frozen=True, slots=True)
class Missing:
    """The slots of a group's ticket with no band bound yet."""

    group: str
    adults: int
    children: int

    @property
    def any(self) -> bool:
        return self.adults > 0 or self.children > 0

    def as_dict(self) -> dict[str, object]:
        return {"group": self.group, "adults": self.adults, "children": self.children}

    def text(self) -> str:
        """As the desk's decision says it: `1 adult(s), 2 child(ren) not bound`."""
        parts = [f"{self.adults} adult(s)"] if self.adults else []
        parts += [f"{self.children} child(ren)"] if self.children else []
        return f"{', '.join(parts)} not bound" if parts else "complete"


def missing(group: Group) -> Missing:
    return Missing(
        group.id,
        max(group.adults - group.bound_adults, 0),
        max(group.children - group.bound_children, 0),
    )


def incomplete(state: State) -> list[Missing]:
    """Every group with a slot still to bind, by ticket code."""
    return [m for g in sorted(state.groups) if (m := missing(state.groups[g])).any]


def left_short(state: State, desk: str, opening: str) -> Missing | None:
    """The binding open at `desk` when ticket `opening` is scanned there, if it is another
    ticket's and not full: the family the desk is about to leave short."""
    open_ = state.bindings.get(desk)
    if open_ is None or open_ == opening or open_ not in state.groups:
        return None
    found = missing(state.groups[open_])
    return found if found.any else None
