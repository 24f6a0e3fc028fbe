"""Lost children and separated families on the wall display (家长与孩子走失): every open
incident (hub/store/family_incidents.py) with its family — the group, each member by role and
number, its state, last gate and time — the family's last gate and time, and how long it has
been open; and a critical alert per incident. `static/lost.js` draws the panel.

The display is open on the venue LAN: members by label, never by band UID, and no note (staff
read those with a token: `/api/incidents`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from gate.core import State
from gate.i18n import Words, words
from hub.fold.reconcile import VenueState
from hub.store.family_incidents import FamilyIncident
from hub.views.display import member_label, withhold
from hub.views.reports.deskday import KIND_WORDS


def lost_children(
    incidents: Sequence[FamilyIncident], state: State, tz: tzinfo, now_ms: int
) -> list[dict[str, Any]]:
    """The open incidents as the display shows them: JSON-ready, oldest first."""
    shown = []
    for i in incidents:
        if not i.open:
            continue
        members = state.members_of(i.group)
        last = max(members, key=lambda m: m.last_at, default=None)
        shown.append(
            {
                "id": i.id,
                "kind": i.kind,
                "group": i.group,
                "opened_time": _hhmm(datetime.fromtimestamp(i.opened_ms / 1000, tz)),
                "minutes_open": i.minutes_open(now_ms),
                "last_gate": last.last_gate if last else "",
                "last_time": _hhmm(last.last_at.astimezone(tz)) if last else "",
                "members": [
                    {
                        "member": member_label(state, m),
                        "role": m.role.value,
                        "state": m.state.value,
                        "last_gate": m.last_gate,
                        "last_time": _hhmm(m.last_at.astimezone(tz)),
                    }
                    for m in members
                ],
            }
        )
    return shown


def lost_alert(shown: dict[str, Any], _: Words) -> dict[str, str]:
    text = _(
        "{kind}: group {group}, open {minutes} min, last seen at {gate} {time}",
        kind=_(KIND_WORDS.get(shown["kind"], shown["kind"])),
        group=shown["group"],
        minutes=shown["minutes_open"],
        gate=shown["last_gate"] or "?",
        time=shown["last_time"],
    )
    return {"level": "critical", "kind": shown["kind"], "text": withhold(text)}


def with_lost_children(
    shown: dict[str, Any],
    incidents: Sequence[FamilyIncident],
    venue: VenueState,
    tz: tzinfo,
    _: Words | None = None,
) -> dict[str, Any]:
    """The display object `shown` with `lost_children` in it and their alerts first."""
    _ = _ or words()
    with venue.reading() as state:
        found = lost_children(incidents, state, tz, int(time.time() * 1000))
    said = [lost_alert(i, _) for i in found]
    return {**shown, "lost_children": found, "alerts": said + shown["alerts"]}


def _hhmm(at: datetime) -> str:
    return f"{at:%H:%M}"
