"""The closing sweep over time, and the broadcast room's prompts (闭馆前30分钟 闭园温馨提示).

From 30 minutes before the venue closes, and before each session (场次) ends, staff clear the
venue of the children still inside. The sweep does not end at closing: while a child is inside
after closing, it stays on the display and in `hub sweep`, critical, until none is (and then
says so). Each session has its own: the children of that session's tickets.

    for c in closings(policy, state, now):     # the venue's and the sessions' sweeps on now
        c.phase, c.minutes, c.rows             # "before" | "after", minutes left or since
    announcements(closings(...))               # the prompts, in English and Chinese

Pure but for what it is given: `now` comes from the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gate.core import Policy, State
from gate.core.hours import Hours, session_list, venue_hours
from gate.i18n import LANGUAGES, N_, Words, words
from hub.views.sweep import SweepRow, closing_sweep

SWEEP_BEFORE_CLOSE = timedelta(minutes=30)
SESSION_CLEAR_SHOWN = timedelta(minutes=30)  # "no child of it inside", after a session ends


@dataclass(frozen=True)
class Closing:
    """One closing whose sweep is on: the venue's (`session` empty) or a session's."""

    session: str
    hours: Hours
    closes_at: datetime
    phase: str  # "before": closing soon; "after": closed
    minutes: int  # left before closing, or since it
    rows: tuple[SweepRow, ...]  # its children still inside, worst first

    @property
    def level(self) -> str:
        """Critical once closed with a child inside; otherwise for information."""
        return "critical" if self.phase == "after" and self.rows else "info"

    @property
    def groups(self) -> list[str]:
        return sorted({r.group for r in self.rows})

    def as_dict(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "hours": self.hours.words(),
            "closes_at": self.closes_at.isoformat(timespec="seconds"),
            "phase": self.phase,
            "minutes": self.minutes,
            "level": self.level,
            "children": len(self.rows),
            "groups": self.groups,
        }


def closings(policy: Policy, state: State, now: datetime, staff: bool = False) -> list[Closing]:
    """The sweeps on at `now`: the venue's from 30 minutes before closing until it opens again;
    a session's from 30 minutes before its end while a child of its tickets is inside (and for
    30 minutes after it ends, to say that none is)."""
    rows = closing_sweep(state, staff=staff)
    found = []
    venue = _closing(policy, venue_hours(policy), now, rows)
    if venue is not None:
        found.append(venue)
    for hours in session_list(policy):
        mine = [r for r in rows if _session_of(state, r.group) == hours.session]
        c = _closing(policy, hours, now, mine)
        if c is None or (c.phase == "after" and not c.rows and c.minutes * 60 > _clear_s()):
            continue
        found.append(c)
    return found


def _clear_s() -> float:
    return SESSION_CLEAR_SHOWN.total_seconds()


def _session_of(state: State, group: str) -> str:
    ticket = state.allowlist.tickets.get(group)
    return ticket.session if ticket else ""


def _closing(
    policy: Policy, hours: Hours, now: datetime, rows: Iterable[SweepRow]
) -> Closing | None:
    if hours.open == hours.close:
        return None  # open around the clock: no closing
    if hours.admits(policy, now):
        closes_at = hours.closes_at(policy, now)
        left = closes_at - now
        if left > SWEEP_BEFORE_CLOSE:
            return None
        phase, minutes = "before", max(int(left.total_seconds() // 60), 0)
    elif hours.closed_after(policy, now):
        closes_at = hours.closes_at(policy, now)
        phase, minutes = "after", max(int((now - closes_at).total_seconds() // 60), 0)
    else:
        return None  # not yet open
    return Closing(hours.session, hours, closes_at, phase, minutes, tuple(rows))


# --- what the display and `hub sweep` say of it ------------------------------------------------


def closing_alert(c: Closing, _: Words) -> dict[str, str]:
    """One alert for one closing: information before, critical after while a child is inside."""
    n, m, s = len(c.rows), c.minutes, c.session
    if not s:
        if c.phase == "before":
            text = _("closing in {minutes} min: {n} children inside", minutes=m, n=n)
        elif n:
            text = _("closed {minutes} min ago: {n} children still inside", minutes=m, n=n)
        else:
            text = _("closed: no child inside")
    elif c.phase == "before":
        text = _(
            "session {session} ends in {minutes} min: {n} of its children inside",
            session=s,
            minutes=m,
            n=n,
        )
    elif n:
        text = _(
            "session {session} ended {minutes} min ago: {n} of its children still inside",
            session=s,
            minutes=m,
            n=n,
        )
    else:
        text = _("session {session} ended: none of its children inside", session=s)
    kind = "closing" if not s else "session_closing"
    return {"level": c.level, "kind": kind, "text": text}


# --- the broadcast room's prompts ---------------------------------------------------------------

PROMPTS = {
    ("", "before", True): N_(
        "Dear guests, the venue closes at {close}. Parents of groups {groups}: please collect "
        "your children and make your way to the exit. Thank you for your visit."
    ),
    ("", "before", False): N_(
        "Dear guests, the venue closes at {close}: please make your way to the exit. Thank you "
        "for your visit."
    ),
    ("", "after", True): N_(
        "The venue closed at {close}. Parents of groups {groups}: your children are still "
        "inside; please come to the entrance to collect them."
    ),
    ("session", "before", True): N_(
        "Dear guests, session {session} ends at {close}. Parents of groups {groups}: please "
        "collect your children and make your way to the exit."
    ),
    ("session", "before", False): N_(
        "Dear guests, session {session} ends at {close}: please make your way to the exit."
    ),
    ("session", "after", True): N_(
        "Session {session} ended at {close}. Parents of groups {groups}: your children are "
        "still inside; please come to the entrance to collect them."
    ),
}


def announcements(found: Iterable[Closing]) -> list[dict[str, Any]]:
    """The prompts for the broadcast room, in every language: the 30-minute prompt before each
    closing, and after it the call to the parents of the groups whose children are inside."""
    said = []
    for c in found:
        key = ("session" if c.session else "", c.phase, bool(c.rows))
        template = PROMPTS.get(key)
        if template is None:
            continue  # closed and nobody inside: nothing to announce
        groups = ", ".join(c.groups)
        close = f"{c.closes_at:%H:%M}"
        said.append(
            {
                "kind": "closing_soon" if c.phase == "before" else "closed",
                "level": c.level,
                "session": c.session,
                "closes_at": c.closes_at.isoformat(timespec="seconds"),
                "groups": c.groups,
                "text": {
                    lang: words(lang)(template, close=close, groups=groups, session=c.session)
                    for lang in LANGUAGES
                },
            }
        )
    return said
