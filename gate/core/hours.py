"""When a ticket may come in: the venue's opening hours, or its session's (场次).

A ticket of a session (`Ticket.session`, one of the policy's `[sessions]`) is valid only within
that session's hours; any other ticket within the venue's. Each closes at its own time: the
venue at `close`, a session at its end. After its closing the only way in is to collect the
group's children still inside (`gate.core.closing`). Pure: `now` is given.

    hours = ticket_hours(policy, ticket)          # Hours("AM", 09:30, 12:30) or the venue's
    hours.admits(policy, now)                     # within them
    hours.closed_after(policy, now)               # past the closing of its day
    hours.closes_at(policy, now)                  # that closing as an aware datetime
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from gate.core.model import Policy, Ticket


@dataclass(frozen=True, slots=True)
class Hours:
    """Opening hours, local: the venue's (`session` empty) or one session's."""

    session: str
    open: time
    close: time

    def admits(self, policy: Policy, now: datetime) -> bool:
        if not self.session:
            return policy.is_open(now)
        return self.open <= policy.local(now).time() < self.close

    def closed_after(self, policy: Policy, now: datetime) -> bool:
        """`now` is past this closing and before the next opening: the time to collect."""
        if self.admits(policy, now):
            return False
        t = policy.local(now).time()
        if self.open == self.close:
            return False  # open around the clock: never closed
        if self.close < self.open:  # past midnight: closed is [close, open)
            return self.close <= t < self.open
        return t >= self.close

    def closes_at(self, policy: Policy, now: datetime) -> datetime:
        """The closing of the day `now` belongs to (a session's: of the local day)."""
        day = policy.session_day(now) if not self.session else policy.local(now).date()
        at = datetime.combine(day, self.close, tzinfo=policy.tz)
        if self.close < self.open:  # a night session: it closes the morning after
            at = datetime.combine(day + timedelta(days=1), self.close, tzinfo=policy.tz)
        return at

    def words(self) -> str:
        """ "AM 09:30-12:30", or "09:30-18:00" for the venue's hours."""
        span = f"{self.open:%H:%M}-{self.close:%H:%M}"
        return f"{self.session} {span}" if self.session else span


def venue_hours(policy: Policy) -> Hours:
    return Hours("", policy.open, policy.close)


def ticket_hours(policy: Policy, ticket: Ticket | None) -> Hours | None:
    """The hours `ticket` may come in; None for a session the policy does not know."""
    if ticket is None or not ticket.session:
        return venue_hours(policy)
    found = policy.session_hours(ticket.session)
    if found is None:
        return None
    return Hours(ticket.session, *found)


def session_list(policy: Policy) -> list[Hours]:
    """The policy's sessions, by start time."""
    found = [
        Hours(name, *hours) for name in policy.sessions if (hours := policy.session_hours(name))
    ]
    return sorted(found, key=lambda h: (h.open, h.session))
