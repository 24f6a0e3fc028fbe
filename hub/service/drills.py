"""Drills on a live venue (定期演练): `hub drill start KIND --gate G` and `hub drill end`.

The hub orders the gate over its drill topic (`hub/drill/{gate}`: only the hub may write it, the
broker's ACL) and keeps the drill in its store; what the drill causes is recorded as incidents
marked with it. While it lasts the hub watches its own display once a second and notes each
alert that was not there when it began, and when (what staff saw).

    broker-cut       the gate drops its broker link for `for_s` seconds (it cannot hear an end
                     order meanwhile: it comes back by itself), decides cut off, and sends its
                     backlog when it is back
    reader-removed   the gate treats its reader as removed until `hub drill end` (or `for_s`)

`hub drill end` asks for the end; the hub writes the drill's record once the gate is back (its
status says no drill) with everything it journalled at the hub and the outage reconciled, or
GIVE_UP_S after the gate's own end at the latest (then the record says what was missing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from gate.link.protocol import DrillOrder, GateStatus, Topics, dump
from hub.ingest.gates import GateView
from hub.store.incidents import DRILL_KINDS, Drill, IncidentLog

log = logging.getLogger("hub")

GIVE_UP_S = 120.0
MAX_FOR_S = 3600


class HubDrills:
    def __init__(
        self,
        incidents: IncidentLog,
        topics: Topics,
        publish: Callable[[str, bytes], None],
        roster: Mapping[str, str],
        alerts: Callable[[], list[dict[str, str]]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.log, self.topics, self.publish, self.roster = incidents, topics, publish, roster
        self.alerts, self.clock = alerts, clock
        self.current: Drill | None = incidents.open_drill()
        self.ending = False
        self._baseline: set[str] = set()
        self._seen: dict[str, dict[str, Any]] = {}

    def running(self) -> tuple[int, str] | None:
        return (self.current.id, self.current.gate) if self.current else None

    def start(self, kind: str, gate: str, for_s: int, by: str, online: bool) -> dict[str, Any]:
        if kind not in DRILL_KINDS:
            raise ValueError(f"drill {kind!r}: one of {', '.join(DRILL_KINDS)}")
        if self.current is not None:
            raise ValueError(
                f"drill {self.current.id} ({self.current.kind} at {self.current.gate}) is under "
                "way: end it first (hub drill end)"
            )
        if self.roster and gate not in self.roster:
            raise ValueError(f"gate {gate!r} is not in hub.toml's [gates]")
        if not online:
            raise ValueError(f"gate {gate!r} is not online: a drill needs a gate that hears it")
        if not 1 <= for_s <= MAX_FOR_S:
            raise ValueError(f"--for must be 1 to {MAX_FOR_S} seconds")
        # what the gate would refuse is refused here, before the drill is kept
        DrillOrder.model_validate({"gate": gate, "drill": 1, "kind": kind, "active": True})
        now = self.clock()
        n = self.log.start_drill(kind, gate, int(now * 1000), int((now + for_s) * 1000), by)
        self.current, self.ending = self.log.open_drill(), False
        self._baseline = {_key(a) for a in self.alerts()}
        self._seen = {}
        self._order(kind, gate, n, True, for_s)
        log.warning(
            "DRILL %d started by %s: %s at gate %s for at most %d s", n, by, kind, gate, for_s
        )
        assert self.current is not None
        return {"drill": self.current.as_dict()}

    def end(self) -> dict[str, Any]:
        if self.current is None:
            raise ValueError("no drill is under way")
        d = self.current
        self.ending = True
        self._order(d.kind, d.gate, d.id, False, 1)
        return {"drill": d.as_dict(), "ending": True}

    def status(self, drill: int | None = None) -> dict[str, Any]:
        """The drill under way, or the drill `drill` (its record once it has ended)."""
        if drill is None or (self.current and self.current.id == drill):
            return {
                "drill": self.current.as_dict() if self.current else None,
                "ending": self.ending,
            }
        found = [d for d in self.log.drills() if d.id == drill]
        return {"drill": found[0].as_dict() if found else None, "ending": False}

    def _order(self, kind: str, gate: str, n: int, active: bool, for_s: int) -> None:
        order = DrillOrder.model_validate(
            {"gate": gate, "drill": n, "kind": kind, "active": active, "for_s": for_s}
        )
        self.publish(self.topics.drill(gate), dump(order))

    def tick(
        self, gates: Mapping[str, GateView], statuses: Mapping[str, GateStatus | None]
    ) -> None:
        """Once a second: note new alerts; write the record when the drill is over."""
        d = self.current
        if d is None:
            return
        now = self.clock()
        for alert in self.alerts():
            key = _key(alert)
            if key not in self._baseline and key not in self._seen:
                self._seen[key] = {
                    "kind": alert["kind"],
                    "level": alert["level"],
                    "text": alert["text"],
                    "after_s": round(now - d.started_ms / 1000, 1),
                }
        gate_end = d.until_ms / 1000
        if not self.ending and now < gate_end:
            return
        view, status = gates.get(d.gate), statuses.get(d.gate)
        back = view is not None and view.online and status is not None and status.drill is None
        outages = [
            i for i in self.log.between(d.started_ms, int(now * 1000) + 1) if i.drill == d.id
        ]
        settled = all(
            i.ended_ms is not None and (not i.offline or i.reconciled_ms is not None)
            for i in outages
        )
        if (back and settled and view is not None and view.backlog == 0) or (
            now > max(gate_end, d.started_ms / 1000) + GIVE_UP_S
        ):
            self._finish(d, view, outages, now)

    def _finish(self, d: Drill, view: GateView | None, outages: list[Any], now: float) -> None:
        offline = [i for i in outages if i.offline]
        record = {
            "alerts": sorted(self._seen.values(), key=lambda a: a["after_s"]),
            "offline_s": sum(i.duration_s(int(now * 1000)) for i in offline),
            "offline_scans": sum(i.offline_scans or 0 for i in offline),
            "conflicts": sum(i.conflicts or 0 for i in offline),
            "incidents": [i.as_dict() for i in outages],
            "gate_last_seq": view.last_seq if view else None,
            "hub_acked": view.acked if view else None,
            "all_at_hub": bool(view and view.online and view.backlog == 0 and not view.missing),
            "reconciled": all(i.reconciled_ms is not None for i in offline),
        }
        self.log.end_drill(d.id, int(now * 1000), record)
        log.warning(
            "DRILL %d over: %d alerts seen, offline mode %.0f s, %s",
            d.id,
            len(record["alerts"]),
            record["offline_s"],
            "all at the hub" if record["all_at_hub"] else "NOT all at the hub",
        )
        self.current, self.ending = None, False


def _key(alert: dict[str, str]) -> str:
    """An alert as staff tell it from another: its kind and its words before "(since ...)"."""
    return f"{alert['kind']}|{alert['text'].split('(')[0][:60]}"
