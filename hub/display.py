"""What the duty manager's wall display shows, as one JSON object (`/api/display`, `/api/stream`).

Numbers, the groups whose children are inside with no adult of theirs, each gate's health, the
alerts, and from 30 minutes before closing the children still inside. No guardian phones: the
display is open on the venue LAN.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hub.link_alerts import broker_alerts
from hub.sweep import closing_sweep, unaccompanied_groups

if TYPE_CHECKING:
    from hub.service import Hub

SWEEP_BEFORE_CLOSE = timedelta(minutes=30)
CAPACITY_WARNING = 0.9
CONFLICT_KINDS = ("double_entry", "exit_without_entry", "journal_conflict")


def display_state(hub: Hub) -> dict[str, Any]:
    headcount = hub.headcount().model_dump(exclude={"v", "gates"})
    gates = hub.gate_views()
    now = datetime.now(hub.policy.tz)
    closes_at = next_close(hub, now)
    with hub.venue.reading() as state:
        unaccompanied = unaccompanied_groups(state)
        sweep_rows = (
            closing_sweep(state, staff=False) if closes_at - now <= SWEEP_BEFORE_CLOSE else None
        )
    sweep = None
    if sweep_rows is not None:
        sweep = {
            "closes_at": closes_at.isoformat(),
            "minutes_left": max(int((closes_at - now).total_seconds() // 60), 0),
            "children": [
                {
                    "uid": r.uid,
                    "group": r.group,
                    "role": r.role,
                    "adult_inside": r.adult_inside,
                    "unaccompanied": r.unaccompanied,
                }
                for r in sweep_rows
            ],
        }
    return {
        "headcount": headcount,
        "gates": gates,
        "unaccompanied": unaccompanied,
        "alerts": alerts(hub, headcount, gates, unaccompanied, sweep),
        "sweep": sweep,
        "venue": {
            "name": hub.config.hub.name,
            "timezone": hub.policy.timezone,
            "now": now.isoformat(timespec="seconds"),
        },
    }


def next_close(hub: Hub, now: datetime) -> datetime:
    """The next closing time in the venue's timezone (today's, or tomorrow's once past it)."""
    close = now.replace(
        hour=hub.policy.close.hour, minute=hub.policy.close.minute, second=0, microsecond=0
    )
    return close if close > now else close + timedelta(days=1)


def alerts(
    hub: Hub,
    headcount: dict[str, Any],
    gates: dict[str, Any],
    unaccompanied: list[dict[str, Any]],
    sweep: dict[str, Any] | None,
) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []

    def add(level: str, kind: str, text: str) -> None:
        found.append({"level": level, "kind": kind, "text": text})

    for group in unaccompanied:
        n = len(group["children"])
        who = "1 child" if n == 1 else f"{n} children"
        add("critical", "unaccompanied", f"group {group['group']}: {who} with no adult")
    for gate, view in sorted(gates.items()):
        if not view["online"]:
            add("critical", "gate_offline", f"gate {gate} offline since {view['last_seen'] or '?'}")
        if view.get("taken_over"):
            add(
                "critical",
                "gate_taken_over",
                f"another connection logged in as gate {gate} and took its broker session "
                f"{view['taken_over']} time(s) in the last hour: its password is known elsewhere",
            )
        if view["stale_allowlist"]:
            add(
                "warning",
                "stale_allowlist",
                f"gate {gate} has allowlist v{view['allowlist_version']}",
            )
    found.extend(broker_alerts(hub.link_health, hub.config.mqtt.username, hub.policy.tz))
    capacity, inside = headcount.get("capacity"), headcount["inside"]
    if capacity and inside >= CAPACITY_WARNING * capacity:
        level = "critical" if inside >= capacity else "warning"
        add(level, "capacity", f"{inside} inside of {capacity} ({100 * inside // capacity}%)")
    conflicts = [f for f in hub.venue.findings() if f.kind in CONFLICT_KINDS]
    if conflicts:
        add("warning", "conflict", f"{len(conflicts)} conflicts found by the last reconciliation")
    if sweep is not None:
        add(
            "info",
            "closing",
            f"closing in {sweep['minutes_left']} min: {len(sweep['children'])} children inside",
        )
    return found
