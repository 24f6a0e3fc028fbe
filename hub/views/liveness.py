"""Whether the hub's figures are live, and times as a duty manager reads them.

The hub is live only while it is connected to the broker AND a gate has spoken to it (entries, or
a status as the gate sent it: a status the broker kept from before does not count) within
STALE_AFTER_S. Gates send their status every 5 s (`[link] status_every_s`), so 20 s is four
missed statuses, and longer than the broker takes (1.5 keepalives of 10 s) to publish a gate's
last will. Otherwise the figures are those of `stale_since`: the gate's last word, or when the
hub's own link went down, or when the hub started if it has heard no gate since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from gate.i18n import Words, words

STALE_AFTER_S = 20.0


@dataclass(frozen=True)
class Liveness:
    live: bool
    stale_since: float | None  # seconds since the epoch: the figures are as of then

    def stale_since_iso(self) -> str | None:
        if self.stale_since is None:
            return None
        return datetime.fromtimestamp(self.stale_since, UTC).isoformat(timespec="seconds")


def liveness(
    *,
    connected: bool,
    down_since: float | None,
    heard_at: float | None,
    started: float,
    now: float,
) -> Liveness:
    """`heard_at`: a gate's last word (None: none since `started`); `down_since`: when the hub's
    broker link went down (None while connected)."""
    if connected and heard_at is not None and now - heard_at <= STALE_AFTER_S:
        return Liveness(True, None)
    times = [t for t in (heard_at, None if connected else down_since) if t is not None]
    return Liveness(False, min(times) if times else started)


def duration_words(seconds: float, _: Words | None = None) -> str:
    """ "45 s", "3 min", "1 h 5 min"."""
    _ = _ or words()
    s = max(0, round(seconds))
    if s < 60:
        return _("{n} s", n=s)
    m = s // 60
    if m < 60:
        return _("{n} min", n=m)
    return _("{h} h {m} min", h=m // 60, m=m % 60)


def since_words(t: float, now: float, tz: tzinfo, _: Words | None = None) -> str:
    """ "since 14:11, 3 min": the time in the venue's zone (with the day if not today), and
    how long ago."""
    _ = _ or words()
    at, today = datetime.fromtimestamp(t, tz), datetime.fromtimestamp(now, tz)
    clock = at.strftime("%H:%M") if at.date() == today.date() else at.strftime("%d %b %H:%M")
    return _("since {time}, {duration}", time=clock, duration=duration_words(now - t, _))


def iso_seconds(text: str | None) -> float | None:
    """Seconds since the epoch of an ISO time the API carries; None for none or nonsense."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
