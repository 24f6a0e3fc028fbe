"""Alerts about the hub's own connection to the broker, for the display and `/api/alerts`.

- `broker_taken_over` (critical): another connection logged in as the hub's broker user and took
  its session within the last hour. The broker binds client ids to usernames, so only a holder of
  the hub's password can do that: the password is known elsewhere.
- `broker_offline` (critical): the hub has not been connected for OFFLINE_AFTER_S; it sees no
  gate meanwhile, while the gates keep journalling.
- `broker_unstable` (warning): the connection dropped UNSTABLE_DROPS times or more in the last
  hour.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from gate.i18n import Words, words
from gate.link.health import RECENT_S, LinkHealth

OFFLINE_AFTER_S = 5.0  # the first connection at start, a broker restart: no alert
UNSTABLE_DROPS = 3


def broker_alerts(
    health: LinkHealth, user: str, tz: tzinfo, _: Words | None = None
) -> list[dict[str, str]]:
    _ = _ or words()

    def clock(t: float) -> str:
        return datetime.fromtimestamp(t, tz).strftime("%H:%M:%S")

    found = []
    takeovers = health.recent_takeovers()
    if takeovers:
        n = len(takeovers)
        found.append(
            {
                "level": "critical",
                "kind": "broker_taken_over",
                "text": _(
                    "another connection logged in as broker user {user} and took the hub's "
                    "session {n} time(s) in the last hour (last at {time}): that password is "
                    "known elsewhere; change it",
                    user=repr(user),
                    n=n,
                    time=clock(takeovers[-1]),
                ),
            }
        )
    since = health.down_since
    if not health.connected and since is not None and health.clock() - since >= OFFLINE_AFTER_S:
        why = f": {health.last_reason}" if health.last_reason else ""  # the broker's own words
        found.append(
            {
                "level": "critical",
                "kind": "broker_offline",
                "text": _("the hub is not connected to the broker since {time}", time=clock(since))
                + why,
            }
        )
    drops = health.recent_drops()
    if drops >= UNSTABLE_DROPS:
        found.append(
            {
                "level": "warning",
                "kind": "broker_unstable",
                "text": _(
                    "the hub's broker connection dropped {n} times in the last {hours} hour "
                    "(last: {reason})",
                    n=drops,
                    hours=round(RECENT_S / 3600),
                    reason=health.last_reason,
                ),
            }
        )
    return found
