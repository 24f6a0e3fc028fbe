"""The daily report's outages, faults and drills (the offline policy's 离线模式启动 / 结束 and its
recovery; the fault plans' 故障分类 and 定期演练), from the hub's incident log
(hub/store/incidents.py):

    Outages (offline mode)   start, end, duration, the gates cut off, the scans they decided
                             offline, the reconciliation's outcome (conflicts, or still waiting
                             for a gate's backlog)
    Faults                   every other incident of the day by class: source, start, end, what
    Drills                   each rehearsal: kind, gate, who ordered it, what staff saw, how long
                             offline mode lasted, whether reconciliation found everything

Times are the hub's clock, in the venue's zone. A drill's incidents say so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gate.i18n import N_, Words
from hub.store.incidents import Drill, Incident, IncidentLog
from hub.store.schema import StoreError
from hub.views.alert_labels import alert_label
from hub.views.console.incidents import fault_words
from hub.views.reports.table import Section

OUTAGES = N_("Outages (offline mode)")
FAULTS = N_("Faults")
DRILLS = N_("Drills")
OUTAGES_NOTE = N_(
    "while a gate is cut off it decides alone and journals its scans as offline; the hub counts "
    "them and checks them against the other gates' once the gate has sent everything"
)


def day_incidents(path: Path, from_ms: int, to_ms: int) -> tuple[list[Incident], list[Drill]]:
    """The incidents and drills that lasted into the day, from the store at `path` (none when
    it cannot be read: the report is still made)."""
    try:
        with IncidentLog(path) as log:
            return log.between(from_ms, to_ms), log.drills(from_ms, to_ms)
    except StoreError:
        return [], []


def at(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def outcome(i: Incident, _: Words) -> str:
    """The reconciliation's outcome of an outage, in words."""
    if i.ended_ms is None:
        return _("under way")
    if i.reconciled_ms is None:
        return _("waiting for the gates' backlog")
    if i.conflicts:
        return _("reconciled: {n} conflicts, see the findings", n=i.conflicts)
    return _("reconciled: no conflict")


def seconds(i: Incident, now_ms: int) -> int:
    return round(i.duration_s(now_ms))


def outage_sections(
    incidents: list[Incident],
    drills: list[Drill],
    t: Callable[[datetime | None], datetime | None],
    _: Words,
    now_ms: int,
) -> list[Section]:
    def drill(i: Incident) -> str:
        return _("drill {n}", n=i.drill) if i.drill else ""

    outages = [i for i in incidents if i.offline]
    faults = [i for i in incidents if not i.offline]
    return [
        Section(
            _(OUTAGES),
            (
                _("start"),
                _("end"),
                _("seconds"),
                _("class"),
                _("source"),
                _("gates cut off"),
                _("offline scans"),
                _("reconciliation"),
                _("drill"),
            ),
            tuple(
                (
                    t(at(i.started_ms)),
                    t(at(i.ended_ms)),
                    seconds(i, now_ms),
                    _(i.cls),
                    i.source,
                    " ".join(i.gates),
                    i.offline_scans if i.offline_scans is not None else "",
                    outcome(i, _),
                    drill(i),
                )
                for i in outages
            ),
            note=_(OUTAGES_NOTE),
        ),
        Section(
            _(FAULTS),
            (_("start"), _("end"), _("seconds"), _("class"), _("source"), _("detail"), _("drill")),
            tuple(
                (
                    t(at(i.started_ms)),
                    t(at(i.ended_ms)),
                    seconds(i, now_ms),
                    _(i.cls),
                    i.source,
                    fault_words(i.as_dict(), _),
                    drill(i),
                )
                for i in faults
            ),
        ),
        Section(
            _(DRILLS),
            (_("start"), _("end"), _("drill"), _("gate"), _("ordered by"), _("record")),
            tuple(
                (
                    t(at(d.started_ms)),
                    t(at(d.ended_ms)),
                    d.kind,
                    d.gate,
                    d.by,
                    record_words(d.record, _),
                )
                for d in drills
            ),
        ),
    ]


def record_words(record: dict[str, Any] | None, _: Words) -> str:
    """A drill's record in one cell: alerts staff saw, offline mode, the reconciliation."""
    if not record:
        return _("under way")
    seen = ", ".join(
        _("{alert} +{s} s", alert=alert_label(a["kind"], _), s=f"{a['after_s']:.0f}")
        for a in record.get("alerts", [])
    )
    parts = [
        _("alerts: {seen}", seen=seen or _("none")),
        _("offline mode {s} s", s=round(record.get("offline_s") or 0)),
        _("offline scans {n}", n=record.get("offline_scans") or 0),
        _("all at the hub") if record.get("all_at_hub") else _("NOT all at the hub"),
        _("conflicts {n}", n=record.get("conflicts") or 0),
    ]
    return "; ".join(parts)
