"""The control socket's `incidents` and `drill` commands (`hub incidents`, `hub drill ...`).

A drill is a technician's action on a live venue: only a caller the control socket lets in (the
kernel names it, `SO_PEERCRED`) can order one, and its name is kept with the drill.
"""

from __future__ import annotations

import time
from typing import Any

from gate.control.socket import Peer, asked_by
from hub.ingest.intake import Ingest
from hub.service.drills import HubDrills
from hub.store.incidents import IncidentLog

DAY_MS = 86_400_000
MAX_MS = 1 << 53  # beyond any date; and SQLite's integers stop at 2**63


class FaultControl:
    def __init__(self, incidents: IncidentLog, drills: HubDrills, ingest: Ingest) -> None:
        self.incidents, self.drills, self.ingest = incidents, drills, ingest

    def answer(self, command: str, args: dict[str, Any], peer: Peer | None) -> dict[str, Any]:
        if command == "incidents":
            return {"ok": True, **incidents_answer(self.incidents, args)}
        action = args.get("action")
        if action == "start":
            kind, gate, for_s = args.get("kind"), args.get("gate"), args.get("for_s", 60)
            if not isinstance(kind, str) or not isinstance(gate, str) or type(for_s) is not int:
                raise ValueError('a drill start is {"kind": KIND, "gate": GATE, "for_s": N}')
            view = self.ingest.gates().get(gate)
            online = bool(view and view.online)
            who = asked_by(peer)
            by = f"{who.get('user')} (uid {who.get('uid')}, pid {who.get('pid')})"
            return {"ok": True, **self.drills.start(kind, gate, for_s, by, online)}
        if action == "end":
            return {"ok": True, **self.drills.end()}
        if action == "status":
            n = args.get("drill")
            if n is not None and (type(n) is not int or not 0 < n < MAX_MS):
                raise ValueError("drill must be a drill's number")
            return {"ok": True, **self.drills.status(n)}
        raise ValueError("drill action: start, end or status")


def incidents_answer(incidents: IncidentLog, args: dict[str, Any]) -> dict[str, Any]:
    """The incidents and drills between `from_ms` and `to_ms` (the last day by default)."""
    now = int(time.time() * 1000)
    to_ms = args.get("to_ms", now + 1)
    from_ms = args.get("from_ms", now - DAY_MS)
    if not all(type(ms) is int and 0 <= ms < MAX_MS for ms in (from_ms, to_ms)):
        raise ValueError("from_ms and to_ms are milliseconds since the epoch, whole and positive")
    return {
        "incidents": [i.as_dict() for i in incidents.between(from_ms, to_ms)],
        "drills": [d.as_dict() for d in incidents.drills(from_ms, to_ms)],
    }
