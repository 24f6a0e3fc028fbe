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

from gate.link.health import RECENT_S, LinkHealth

OFFLINE_AFTER_S = 5.0  # the first connection at start, a broker restart: no alert
UNSTABLE_DROPS = 3


def broker_alerts(health: LinkHealth, user: str, tz: tzinfo) -> list[dict[str, str]]:
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
                "text": f"another connection logged in as broker user {user!r} and took the hub's "
                f"session {n} time{'s' if n > 1 else ''} in the last hour (last at "
                f"{clock(takeovers[-1])}): that password is known elsewhere; change it",
            }
        )
    since = health.down_since
    if not health.connected and since is not None and health.clock() - since >= OFFLINE_AFTER_S:
        why = f": {health.last_reason}" if health.last_reason else ""
        found.append(
            {
                "level": "critical",
                "kind": "broker_offline",
                "text": f"the hub is not connected to the broker since {clock(since)}{why}",
            }
        )
    drops = health.recent_drops()
    if drops >= UNSTABLE_DROPS:
        found.append(
            {
                "level": "warning",
                "kind": "broker_unstable",
                "text": f"the hub's broker connection dropped {drops} times in the last "
                f"{RECENT_S / 3600:.0f} hour (last: {health.last_reason})",
            }
        )
    return found
