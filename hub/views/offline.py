"""Offline mode on the wall display (离线模式): while an outage is open — the broker down for the
hub, or gates cut off from it — the headcount is provisional (the cut-off gates decide alone and
their scans reach the hub only when they are back), and the display says so: `offline` in the
display object, `headcount.provisional`, and an alert naming the gates cut off since when. A
drill under way is an alert of its own, and every incident it causes is marked as the drill.

`static/offline.js` draws it: a banner over the figures and the word "provisional" on them.
"""

from __future__ import annotations

import time
from datetime import tzinfo
from typing import Any

from gate.i18n import Words, words
from hub.store.incidents import Drill, Incident
from hub.views.console.incidents import fault_words
from hub.views.liveness import since_words


def offline_mode(
    incidents: list[Incident], drill: Drill | None, tz: tzinfo, now: float | None = None
) -> dict[str, Any]:
    """What the display shows of the open outages and the drill: JSON-ready."""
    now = time.time() if now is None else now
    outages = [i for i in incidents if i.offline and i.open]
    gates = sorted({g for i in outages for g in i.gates})
    since = min((i.started_ms for i in outages), default=None)
    return {
        "provisional": bool(outages),
        "since_ms": since,
        "gates": gates,
        "broker": any(i.what == "broker_down" for i in outages),
        "drill": (
            {"id": drill.id, "kind": drill.kind, "gate": drill.gate, "started_ms": drill.started_ms}
            if drill is not None
            else None
        ),
        "faults": [i.as_dict() for i in incidents if not i.offline and i.open],
    }


def with_offline_mode(
    shown: dict[str, Any], mode: dict[str, Any], tz: tzinfo, _: Words | None = None
) -> dict[str, Any]:
    """The display object `shown` with offline mode in it (`offline`, the headcount marked
    provisional, its alerts first)."""
    _ = _ or words()
    now = time.time()
    found: list[dict[str, str]] = []
    drill = mode["drill"]
    if mode["provisional"]:
        since = since_words(mode["since_ms"] / 1000, now, tz, _)
        found.append(
            {
                "level": "critical",
                "kind": "offline_mode",
                "text": _(
                    "offline mode ({since}): gates cut off: {gates}; headcount provisional",
                    since=since,
                    gates=" ".join(mode["gates"]) or "?",
                )
                + (" [" + _("drill") + "]" if drill else ""),
            }
        )
    if drill is not None:
        found.append(
            {
                "level": "info",
                "kind": "drill",
                "text": _(
                    "DRILL under way: {kind} at gate {gate} ({since})",
                    kind=drill["kind"],
                    gate=drill["gate"],
                    since=since_words(drill["started_ms"] / 1000, now, tz, _),
                ),
            }
        )
    for fault in mode["faults"]:
        if fault["what"] in ("reader_removed", "reader_fault", "scanner_fault", "disk_low"):
            found.append(
                {
                    "level": "warning",
                    "kind": fault["what"],
                    "text": _(
                        "gate {gate}: {detail}", gate=fault["source"], detail=fault_words(fault, _)
                    )
                    + (" [" + _("drill") + "]" if fault["drill"] else ""),
                }
            )
    headcount = {**shown["headcount"], "provisional": mode["provisional"]}
    return {**shown, "headcount": headcount, "offline": mode, "alerts": found + shown["alerts"]}
