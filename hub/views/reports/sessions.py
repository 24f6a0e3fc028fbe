"""The daily report by session (场次): the manual counts and clears the venue session by session.

For each session of the day's tickets (and the tickets of the whole day, apart): first entries,
adults and children; parents let in after closing only to collect their children (OK_COLLECT);
the session's children still inside when the day ended. Only when some ticket has a session.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gate.core import MemberMoved, MemberState, Role, State
from gate.i18n import N_, Words
from hub.views.reports.table import Section
from hub.views.sweep import SweepRow

TITLE = N_("By session")
WHOLE_DAY = N_("whole day")


@dataclass(frozen=True, slots=True)
class SessionRow:
    session: str  # empty: tickets of the whole day
    admitted_adults: int
    admitted_children: int
    collections: int  # OK_COLLECT: in after closing to collect children
    children_inside: int  # at the end of the day

    def as_dict(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "admitted": {"adults": self.admitted_adults, "children": self.admitted_children},
            "collections": self.collections,
            "children_inside": self.children_inside,
        }


@dataclass
class SessionTally:
    """What the day's entries say, session by session (of each member's ticket)."""

    adults: Counter[str] = field(default_factory=Counter)
    children: Counter[str] = field(default_factory=Counter)
    collections: Counter[str] = field(default_factory=Counter)
    counted: dict[str, tuple[str, bool]] = field(default_factory=dict)  # uid -> (session, adult)

    def moved(self, state: State, kind: str, event: MemberMoved, before: MemberState) -> None:
        """A move folded from an entry of `kind`; a passage nobody used undoes its entry."""
        session = session_of(state, event.group)
        if kind == "decision" and event.state is MemberState.INSIDE and before is MemberState.BOUND:
            member = state.members.get(event.uid)
            adult = member is not None and member.role is Role.ADULT
            (self.adults if adult else self.children)[session] += 1
            self.counted[event.uid] = (session, adult)
        elif kind == "passage" and (undone := self.counted.pop(event.uid, None)):
            was, adult = undone
            (self.adults if adult else self.children)[was] -= 1

    def decided(self, state: State, code: str, group: str) -> None:
        if code == "OK_COLLECT":
            self.collections[session_of(state, group)] += 1

    def rows(self, state: State, inside: Iterable[SweepRow]) -> tuple[SessionRow, ...]:
        named = {t.session for t in state.allowlist.tickets.values() if t.session}
        if not named:
            return ()
        left = Counter(session_of(state, r.group) for r in inside)
        return tuple(
            SessionRow(s, self.adults[s], self.children[s], self.collections[s], left[s])
            for s in ["", *sorted(named)]
        )


def session_of(state: State, group: str) -> str:
    ticket = state.allowlist.tickets.get(group)
    return ticket.session if ticket else ""


def sessions_section(rows: Iterable[SessionRow], _: Words) -> Section:
    return Section(
        _(TITLE),
        (
            _("session"),
            _("admitted adults (first entries)"),
            _("admitted children (first entries)"),
            _("in after closing to collect children"),
            _("children inside at the end of the day"),
        ),
        tuple(
            (
                r.session or _(WHOLE_DAY),
                r.admitted_adults,
                r.admitted_children,
                r.collections,
                r.children_inside,
            )
            for r in rows
        ),
    )
