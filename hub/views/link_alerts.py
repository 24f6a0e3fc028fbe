"""Alerts about the hub's own connection to the broker, for the display and `/api/alerts`.

- `hub_broker_refused` (critical): the broker refuses the hub's login: the user, the broker's
  reason ("not authorised") and the password file to check. The hub hears no gate meanwhile.
- `hub_broker_down` (critical): the hub cannot reach the broker (stopped, or the network), for
  OFFLINE_AFTER_S or more. The hub hears no gate meanwhile; the gates keep journalling.
- `gates_unreachable` (critical): while either of those stands, ONE line for every gate instead
  of each gate's `gate_offline`: the hub cannot tell whether they are up, only when it last
  heard them.
- `gates_quiet` (warning): connected, but no gate has spoken within `STALE_AFTER_S`
  (`hub.views.liveness`): the figures are not live.
- `broker_taken_over` (critical): another connection logged in as the hub's broker user and took
  its session within the last hour. The broker binds client ids to usernames, so only a holder of
  the hub's password can do that: the password is known elsewhere.
- `broker_unstable` (warning): the connection dropped UNSTABLE_DROPS times or more in the last
  hour.

Times are the venue's ("since 14:11, 3 min").
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from gate.i18n import Words, words
from gate.link.health import RECENT_S, LinkHealth
from hub.views.liveness import iso_seconds, since_words

OFFLINE_AFTER_S = 5.0  # the first connection at start, a broker restart: no alert
UNSTABLE_DROPS = 3


def hub_link_down(health: LinkHealth) -> bool:
    """The hub has been off the broker for OFFLINE_AFTER_S: it hears no gate."""
    since = health.down_since
    return not health.connected and since is not None and health.clock() - since >= OFFLINE_AFTER_S


def broker_alerts(
    health: LinkHealth, user: str, tz: tzinfo, _: Words | None = None
) -> list[dict[str, str]]:
    _ = _ or words()
    now = health.clock()

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
    if hub_link_down(health) and health.down_since is not None:
        since = since_words(health.down_since, now, tz, _)
        reason = health.last_reason or _("no answer yet")
        if health.last_kind == "refused":
            kind = "hub_broker_refused"
            text = _(
                "The broker refuses the hub's login as {user} ({since}): {reason}. No gate can "
                "be heard: the figures are not live",
                user=user,
                since=since,
                reason=reason.removeprefix(f"broker refused the login for {user}: "),
            )
        else:
            kind = "hub_broker_down"
            text = _(
                "The hub cannot reach the broker ({since}): {reason}. No gate can be heard: "
                "the figures are not live",
                since=since,
                reason=reason,
            )
        found.append({"level": "critical", "kind": kind, "text": text})
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


def gates_alerts(
    health: LinkHealth,
    headcount: dict[str, Any],
    gates: int,
    tz: tzinfo,
    _: Words | None = None,
) -> list[dict[str, str]]:
    """`gates_unreachable` (`gates`: how many the hub has heard of, or has on its roster) while
    the hub's own link is down, `gates_quiet` while it is up but no gate speaks; nothing while
    live."""
    _ = _ or words()
    if headcount.get("live"):
        return []
    now = health.clock()
    stale = iso_seconds(headcount.get("stale_since"))
    since = since_words(stale, now, tz, _) if stale is not None else ""
    if hub_link_down(health):
        text = _(
            "{n} gates cannot be heard while the hub is off the broker; figures as of their last "
            "word ({since})",
            n=gates,
            since=since,
        )
        return [{"level": "critical", "kind": "gates_unreachable", "text": text}]
    if health.connected:
        text = _("No gate has been heard ({since}): the figures are not live", since=since)
        return [{"level": "warning", "kind": "gates_quiet", "text": text}]
    return []
