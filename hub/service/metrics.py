"""The hub's Prometheus metrics, `wristgate_hub_*`, read from the running hub at each scrape
(`gate.control.metrics`), and the process's own. Served at the hub's `/metrics` by its HTTP
server, under the same rules as the other open paths (docs/security/http.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from gate.control.metrics import Metrics, Reading
from gate.control.socket import ControlServer
from gate.link.protocol import Headcount
from hub.fold.findings import violation_counts
from hub.fold.reconcile import VenueState
from hub.ingest.allowlist import HubAllowlist
from hub.ingest.intake import Ingest
from hub.service.link import HubLink

HEADCOUNT_HELP = {
    "inside": "people inside now",
    "adults": "adults inside now",
    "children": "children inside now",
    "unaccompanied_children": "children inside with no adult of their group inside",
    "groups_inside": "groups with someone inside",
    "capacity": "the venue's capacity",
}


class HubParts(Protocol):
    """What the metrics read of the running hub (its `Readout`)."""

    ingest: Ingest
    link: HubLink
    control: ControlServer
    allowlist: HubAllowlist
    venue: VenueState

    @property
    def http_refused(self) -> Mapping[str, int]: ...

    def headcount(self) -> Headcount: ...


def hub_metrics(hub: HubParts) -> Metrics:
    metrics = Metrics("wristgate_hub")
    metrics.at_scrape(lambda r: _read(hub, r))
    return metrics


def _read(hub: HubParts, r: Reading) -> None:
    ingest = hub.ingest
    for name, n in ingest.counters.items():
        r.counter(
            "ingest", "what the hub took in from the gates, by kind, since start", n, what=name
        )
    for reason, n in ingest.rejected.items():
        r.counter(
            "rejected",
            "gates' batches or entries rejected, by reason, since start",
            n,
            reason=reason,
        )
    for reason, n in ingest.refused.items():
        r.counter(
            "refused",
            "entries refused as beyond a gate's role or budget, by reason",
            n,
            reason=reason,
        )
    for gate, view in ingest.gates().items():
        r.gauge("gate_online", "1 while the gate says it is online", int(view.online), gate=gate)
        r.gauge(
            "gate_backlog",
            "the gate's journal entries not yet stored here",
            view.backlog,
            gate=gate,
        )
        r.gauge(
            "gate_acked", "the sequence stored with nothing missing below", view.acked, gate=gate
        )
        if view.clock_skew_s is not None:
            r.gauge(
                "gate_clock_skew_seconds",
                "the gate's clock minus the hub's",
                view.clock_skew_s,
                gate=gate,
            )
    for key, value in hub.headcount().model_dump(exclude={"v", "gates", "as_of"}).items():
        if isinstance(value, int | float):  # not a time or a text
            r.gauge(key, HEADCOUNT_HELP.get(key, f"headcount: {key}"), value)
    for reason, n in hub.http_refused.items():
        r.counter("http_refused", "HTTP requests refused, by reason, since start", n, reason=reason)
    for reason, n in hub.control.refused.items():
        r.counter(
            "control_refused",
            "control socket requests refused, by reason, since start",
            n,
            reason=reason,
        )
    r.gauge(
        "broker_connected", "1 while the hub is connected to the broker", int(hub.link.connected)
    )
    for kind, n in hub.link.health.counts.items():
        r.counter(
            "broker_disconnects", "the broker link's drops, by kind, since start", n, kind=kind
        )
    r.gauge("allowlist_version", "version of the allowlist published", hub.allowlist.version)
    r.counter(
        "venue_rebuilds", "times the venue's state was folded anew, since start", hub.venue.rebuilds
    )
    for (kind, gate), n in violation_counts(hub.venue.findings()).items():
        r.gauge(
            "rule_violations",
            "rule violations found in the folded history (hub/fold/audit.py)",
            n,
            kind=kind,
            gate=gate,
        )
