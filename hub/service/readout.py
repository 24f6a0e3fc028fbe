"""The running hub as its views read it: the `HubView` the HTTP server serves, and `hub status`.

It reads the venue state, the ingest's gates and counters, the allowlist and the broker link, from
the HTTP server's threads and the control socket's answers; it changes none of them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from gate.control.socket import ControlServer
from gate.core import Policy
from gate.i18n import N_, Said, words
from gate.link.protocol import Headcount
from hub.fold.findings import Finding
from hub.fold.reconcile import VenueState
from hub.ingest.allowlist import HubAllowlist
from hub.ingest.intake import Ingest
from hub.service.config import HubConfig
from hub.service.desk import HubDesk
from hub.service.desk_records import DeskRecords
from hub.service.drills import HubDrills
from hub.service.link import HubLink
from hub.service.metrics import hub_metrics
from hub.store.events import EventStore
from hub.store.incidents import IncidentLog
from hub.views.display import Venue, display_state
from hub.views.liveness import Liveness, liveness
from hub.views.lost_children import with_lost_children
from hub.views.offline import offline_mode, with_offline_mode

NO_CONSOLE = N_("this hub has no console")


class Readout:
    """The hub's `hub.views.view.HubView`."""

    def __init__(
        self,
        config: HubConfig,
        policy: Policy,
        *,
        store: EventStore,
        allowlist: HubAllowlist,
        venue: VenueState,
        ingest: Ingest,
        link: HubLink,
        control: ControlServer,
        stopping: threading.Event,
    ) -> None:
        self.config, self.policy = config, policy
        self.store, self.allowlist, self.venue, self.ingest = store, allowlist, venue, ingest
        self.link, self.control, self._stopping = link, control, stopping
        self.http_refused: Counter[str] = Counter()  # the HTTP server's, once it is made
        self.started = time.time()
        self.incidents: IncidentLog | None = None  # the hub's, once it has made them
        self.drills: HubDrills | None = None
        self.desks: HubDesk | None = None  # the desks' console, once the hub has made it
        self.notify: dict[str, Any] = {"kind": "off"}  # the notifier's counters (live dict)
        self.guardian_phones: dict[str, int] = {}  # walk-ins' phones from the desks: kept, refused
        self.desk_records: DeskRecords | None = None  # lost children, band stock
        self.head_office: Any = None  # hub.service.head_office.HeadOfficeLink, with [hq]
        self._metrics = hub_metrics(self)
        self._display_venue = Venue(
            name=config.hub.name,
            policy=policy,
            state=venue,
            roster=config.gates,
            broker=link.health,
            broker_user=config.mqtt.username,
        )

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def connected(self) -> bool:
        return self.link.connected

    def liveness(self) -> Liveness:
        """Live: connected to the broker and a gate heard recently (`hub.views.liveness`)."""
        heard_ms = self.ingest.tracker.heard_ms()
        return liveness(
            connected=self.link.connected,
            down_since=self.link.health.down_since,
            heard_at=heard_ms / 1000 if heard_ms is not None else None,
            started=self.started,
            now=time.time(),
        )

    def changes(self) -> object:
        return (self.venue.folded, self.venue.rebuilds)

    def headcount(self) -> Headcount:
        count = self.venue.headcount(self.ingest.headcount_gates())
        live = self.liveness()
        return count.model_copy(update={"live": live.live, "stale_since": live.stale_since_iso()})

    def findings(self) -> list[Finding]:
        return self.venue.findings()

    # --- what the display and the API show ------------------------------------------------------

    def today(self) -> date:
        return datetime.now(self.policy.tz).date()

    def gate_views(self) -> dict[str, Any]:
        hub_age = self.allowlist_age_s()
        views = {}
        for gate, v in self.ingest.gates().items():
            views[gate] = {
                **v.to_protocol().model_dump(),
                "reader": v.reader,
                "taken_over": v.taken_over,
                "stale_allowlist": v.stale_allowlist,
                "allowlist_age_s": hub_age if v.stale_allowlist else 0.0,
                "status_at": _iso_ms(v.status_ms),  # its backlog and reader as of then
                "clock": v.clock,  # the gate's own measure (gate.link.hub_time)
            }
        return views

    def allowlist_age_s(self) -> float | None:
        """How long the hub's current allowlist has been out (what a stale gate misses)."""
        snapshot = self.config.hub.state_dir / "allowlist" / "allowlist.json"
        return time.time() - snapshot.stat().st_mtime if snapshot.exists() else None

    def metrics_text(self) -> str:
        """Prometheus text (hub.service.metrics): ingest, gates, headcount, the process."""
        return self._metrics.render().decode()

    def display(self, language: str | None = None) -> dict[str, Any]:
        said = words(language or self.config.hub.language)
        shown = display_state(self._display_venue, self.headcount(), self.gate_views(), said)
        if self.desk_records is not None:
            lost = self.desk_records.incidents.open_ones()
            shown = with_lost_children(shown, lost, self.venue, self.policy.tz, said)
        if self.incidents is None:
            return shown
        drill = self.drills.current if self.drills is not None else None
        mode = offline_mode(self.incidents.open_incidents(), drill, self.policy.tz)
        return with_offline_mode(shown, mode, self.policy.tz, said)

    def desk_incident(self, request: Any, by: str) -> dict[str, Any]:
        """An incident opened, closed or listed for the desk's API (`DeskRecords.incident`)."""
        if self.desk_records is None:
            raise ValueError("the hub is starting: try again")
        return self.desk_records.incident(request, by)

    def lookup(self, credential: str, *, staff: bool) -> dict[str, Any] | None:
        from hub.views.sweep import lookup

        with self.venue.reading() as state:
            found = lookup(state, credential, staff=staff)
        if found is not None and self.desk_records is not None:  # a lost child found by a handheld
            lost = [i for i in self.desk_records.incidents.open_ones() if i.group == found["group"]]
            found["incident"] = (
                {"id": lost[0].id, "kind": lost[0].kind, "opened_ms": lost[0].opened_ms}
                if lost
                else None
            )
        return found

    def sweep(self, *, staff: bool) -> list[dict[str, Any]]:
        from hub.views.sweep import closing_sweep

        with self.venue.reading() as state:
            return [row.as_dict(self.policy.tz) for row in closing_sweep(state, staff=staff)]

    # --- the desks' console (hub.service.desk, hub.views.desk_console) ------------------------

    def desk(self, gate: str) -> dict[str, Any] | None:
        from hub.views.desk_console import desk_view

        if self.desks is None or not self.desks.is_desk(gate):
            return None
        view = self.ingest.gates().get(gate)
        online = view.online if view is not None else None
        now = datetime.now(self.policy.tz)
        with self.venue.reading() as state:
            return desk_view(state, gate, self.config.gates[gate], self.policy, now, online)

    def desk_ask(self, gate: str, action: object, args: object) -> dict[str, Any]:
        if self.desks is None:
            raise Said(NO_CONSOLE)
        return self.desks.ask(gate, action, args)

    def desk_outcome(self, gate: str, request: str, language: str = "en") -> dict[str, Any]:
        if self.desks is None:
            raise KeyError(request)
        return self.desks.outcome(gate, request, language)

    def report(self, day: date) -> Any:
        from hub.views.reports.daily import daily_report

        return daily_report(
            self.store,
            day,
            self.policy.tz,
            allowlist=self.allowlist.current,
            findings=self.venue.findings(),
            guardian_phones=self.venue.phones(),
        )

    # --- `hub status` ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        health = self.link.health
        return {
            "connected": self.link.connected,
            "live": self.liveness().live,
            "broker": {k: v for k, v in health.as_dict().items() if k != "connected"},
            "allowlist_version": self.allowlist.version,
            "headcount": self.headcount().model_dump(),
            "gates": {g: v.to_protocol().model_dump() for g, v in self.ingest.gates().items()},
            "rejected": dict(self.ingest.rejected),
            "refused": dict(self.ingest.refused),
            "control_refused": self.control.refused,
            "counters": dict(self.ingest.counters),
            "stale": self.venue.stale,
            "notify": dict(self.notify),  # guardians told: sent, retried, failed, dropped
            "guardian_phones": dict(self.guardian_phones),
            "desk_refused": dict(self.desk_records.refused)
            if self.desk_records is not None
            else {},
            "head_office": self.head_office.status() if self.head_office is not None else None,
        }


def _iso_ms(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms is not None else None
