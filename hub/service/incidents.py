"""The hub's own watch over the venue's faults: it opens and ends incidents in the incident log
(hub/store/incidents.py) from what it observes, once a second on its loop.

    broker   the hub's own broker link down: every gate is cut off from the others and from the
             hub (an outage: offline mode, 离线模式启动 / 结束)
    network  a gate offline (its last will, or its goodbye) for GATE_GRACE_S while the hub is
             connected: that gate is cut off (an outage too); it ends when the gate speaks again
    reader   the reader state a gate's status carries is not a healthy one ("removed" in a drill)
    scanner  the scanner problem a gate's status carries
    disk     the disk problem a gate's status carries
    clock    the gate's clock off the hub's: by its own report, or by the hub's measure
             (hub/service/gate_faults.py)
    power    a gate back with another boot id: its machine booted again (a power cut, a reboot);
             the outage it was counted in says so

An outage's reconciliation (离线模式结束 → 恢复) is written when it has ended and every gate it cut
off has spoken since, with nothing left in its backlog, and the venue's state is rebuilt: the
scans the gates decided offline during it, and the conflicts the reconciliation found on those
gates within it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from gate.link.protocol import GateStatus
from hub.fold.findings import Finding
from hub.ingest.gates import GateView
from hub.service.gate_faults import Restarts, gate_faults
from hub.store.incidents import Incident, IncidentLog
from hub.views.fault_details import GATE_RESTARTED, NO_WORD, RESTARTED, detail

log = logging.getLogger("hub")

EVERY_S = 1.0
START_GRACE_S = 10.0  # a hub just started is not "cut off" before its first connection
GATE_GRACE_S = 3.0  # a gate offline this long while the hub hears the broker is cut off
CONFLICT_KINDS = (
    "double_entry",
    "exit_without_entry",
    "journal_conflict",
    "move_without_entry",
    "voucher_reused",  # a voucher used at two cut-off gates
    "hand_back_not_applied",  # a band taken back by a desk that had not heard of its entry
)


class IncidentWatch:
    """What the hub observes, turned into incidents. `drill()` names the drill under way (its
    id and gate) so what it causes is marked as a rehearsal."""

    def __init__(
        self,
        incidents: IncidentLog,
        *,
        roster: Mapping[str, str],
        findings: Callable[[], list[Finding]],
        stale: Callable[[], bool],
        drill: Callable[[], tuple[int, str] | None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.log, self.roster, self.findings, self.stale = incidents, roster, findings, stale
        self.drill, self.clock = drill, clock
        self.started = clock()
        self.ever_connected = False
        self._next = 0.0
        self._seen_online: dict[str, float] = {}  # when each gate was last seen online
        self._offline_since: dict[str, float] = {}  # gates seen offline, not yet cut off
        self._restarts = Restarts()
        self._open: dict[tuple[str, str], int] = {
            (i.what, i.source): i.id for i in incidents.open_incidents()
        }

    def tick(
        self,
        *,
        connected: bool,
        down_since: float | None,
        gates: Mapping[str, GateView],
        statuses: Mapping[str, GateStatus | None],
    ) -> None:
        now = self.clock()
        if now < self._next:
            return
        self._next = now + EVERY_S
        now_ms = int(now * 1000)
        self.ever_connected |= connected
        known = sorted(set(self.roster) | set(gates))
        down = not connected and (self.ever_connected or now - self.started > START_GRACE_S)
        at = int((down_since or now) * 1000)
        if connected:  # the gates up lately: a stopping broker sends their wills first
            for g in known:
                if (view := gates.get(g)) is not None and view.online:
                    self._seen_online[g] = now
        else:
            self._offline_since.clear()  # the hub cannot tell: the broker's outage stands for all
        lately = now - GATE_GRACE_S - 2 * EVERY_S
        # up lately, up now, or gone offline just before the hub lost the broker (a will the
        # stopping broker sent): the gates the outage cuts off
        went_ms = ((down_since or now) - GATE_GRACE_S) * 1000
        up = {g for g, view in gates.items() if view.online or (view.status_ms or 0) >= went_ms}
        cut_off = sorted(up | {g for g, t in self._seen_online.items() if t >= lately}) or known
        self._keep("broker", "broker_down", "broker", down, cut_off, at, now_ms, offline=True)
        for gate in known:
            view, status = gates.get(gate), statuses.get(gate)
            if connected:
                self._gate_heard(gate, view, now)
            if connected and status is not None and status.online and view is not None:
                if (last_ms := self._restarts.heard(gate, status, now_ms)) is not None:
                    self._restarted(gate, last_ms, now_ms)
                for cls, what, on, said in gate_faults(view, status):
                    self._keep(cls, what, gate, on, [gate], now_ms, now_ms, detail=said)
            # a gate offline, or the hub cut off: what it said last stands until it speaks
        self._reconcile(gates, now_ms)

    def _gate_heard(self, gate: str, view: GateView | None, now: float) -> None:
        """A gate offline for GATE_GRACE_S while the hub is connected is cut off: an outage from
        when it was first seen offline; it ends when the gate is online again."""
        heard = view is not None and (view.status_ms is not None or view.online)
        if heard and view is not None and not view.online:
            since = self._offline_since.setdefault(gate, now)
            if now - since < GATE_GRACE_S:
                return
            at = int(since * 1000)
            self._keep("network", "gate_offline", gate, True, [gate], at, at, offline=True,
                       detail=detail(NO_WORD))  # fmt: skip
        else:
            self._offline_since.pop(gate, None)
            self._keep("network", "gate_offline", gate, False, [gate], 0, int(now * 1000))

    def _restarted(self, gate: str, last_ms: int, now_ms: int) -> None:
        """`gate` booted again between `last_ms` and `now_ms`: a `power` incident over that
        time, and a note on the outages it was counted in."""
        n = self.log.start("power", "restarted", gate, [gate], last_ms, detail=detail(RESTARTED))
        self.log.end(n, now_ms)
        log.error("incident: power %s (its machine booted again)", gate)
        for outage in self.log.between(last_ms, now_ms + 1):
            if outage.offline and gate in outage.gates:
                self.log.note(outage.id, detail(GATE_RESTARTED, gate=gate))

    def _keep(
        self,
        cls: str,
        what: str,
        source: str,
        on: bool,
        gates: list[str],
        at_ms: int,
        now_ms: int,
        *,
        offline: bool = False,
        detail: str = "",
    ) -> None:
        """Open the incident (`what`, `source`) when `on` and none is open; end it when not."""
        key = (what, source)
        n = self._open.get(key)
        if on and n is None:
            drill = self.drill()
            ours = drill and (drill[1] == source or what == "broker_down")
            rehearsal = drill[0] if drill and ours else None
            self._open[key] = self.log.start(
                cls, what, source, gates, at_ms, offline=offline, drill=rehearsal, detail=detail
            )
            say = log.warning if rehearsal else log.error
            say("incident: %s %s (%s)%s", cls, source, detail or what, " [drill]" * bool(rehearsal))
        elif not on and n is not None:
            self.log.end(n, now_ms)
            del self._open[key]
            log.info("incident over: %s %s", what, source)

    def _reconcile(self, gates: Mapping[str, GateView], now_ms: int) -> None:
        """Write the outcome of each ended outage whose gates have all reported everything."""
        pending = self.log.unreconciled()
        if not pending or self.stale():
            return
        for incident in pending:
            if all(_caught_up(gates.get(g), incident) for g in incident.gates):
                scans = self.log.offline_scans(
                    incident.gates, incident.started_ms, incident.ended_ms or now_ms
                )
                conflicts = conflicts_within(self.findings(), incident)
                self.log.reconciled(
                    incident.id, offline_scans=scans, conflicts=conflicts, at_ms=now_ms
                )
                log.info(
                    "outage %s %s reconciled: %d scans decided offline, %d conflicts",
                    incident.what,
                    incident.source,
                    scans,
                    conflicts,
                )

    def open_incidents(self) -> list[Incident]:
        return self.log.open_incidents()


def _caught_up(view: GateView | None, incident: Incident) -> bool:
    """The gate spoke after the outage ended and the hub holds everything it journalled (a
    gate never heard of has nothing to send)."""
    if view is None:
        return True
    spoke = view.status_ms is not None and view.status_ms >= (incident.ended_ms or 0)
    return view.online and spoke and view.backlog == 0 and not view.missing


def conflicts_within(findings: list[Finding], incident: Incident) -> int:
    """Findings of the conflict kinds on the outage's gates, from its start on (a conflict is
    found when the cut-off gate reports, so it is dated within the outage)."""
    start, end = incident.started_ms / 1000 - 5, (incident.ended_ms or 0) / 1000 + 5
    return sum(
        1
        for f in findings
        if f.kind in CONFLICT_KINDS
        and set(f.gates) & set(incident.gates)
        and start <= f.at.timestamp() <= end
    )
