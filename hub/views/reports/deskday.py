"""The entry desk's day in the daily report: the lost children and separated families
(家长与孩子走失) open that day, with their times, and each desk's wristband stock by shift
(`hub.views.reports.stock`), from the hub's store (hub/store/family_incidents.py,
hub/store/band_stock.py).

A note staff wrote on an incident may say anything: shown whole for staff only, else with band
UIDs and phone numbers withheld (`hub.views.display.withhold`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from gate.i18n import N_, Words
from hub.store.band_stock import BandStockLog, StockRecord
from hub.store.family_incidents import FamilyIncident, FamilyIncidents
from hub.store.hub_revocations import HubRevocation, HubRevocations
from hub.store.schema import StoreError
from hub.views.display import withhold
from hub.views.reports.materials import BandStock
from hub.views.reports.table import Section

INCIDENTS = N_("Lost children & families")  # a sheet's name: 31 characters at most
STOCK = N_("Band stock by desk and shift")
KIND_WORDS = {"lost_child": N_("lost child"), "separated_family": N_("separated family")}
OUTCOME_WORDS = {"found": N_("found"), "cancelled": N_("cancelled")}
STOCK_NOTE = N_(
    "on hand = taken - issued + returned - written off; issued: bands the desk bound (its "
    "journal); a shift begins with the desk's first record under its name"
)
NO_SHIFT = N_("(no stock taken)")
STOCK_RECORDS = N_("Band stock records")  # a sheet's name: 31 characters at most
STOCK_KIND_WORDS = {
    "taken": N_("taken"),
    "returned": N_("returned"),
    "written_off": N_("written off"),
}


def desk_day(
    path: Path, day: date, from_ms: int, to_ms: int
) -> tuple[list[FamilyIncident], list[StockRecord]]:
    """The family incidents open during the day and the desks' stock records of the day, from
    the store at `path` (none when it cannot be read: the report is still made)."""
    try:
        with FamilyIncidents(path) as incidents, BandStockLog(path) as stock:
            return incidents.between(from_ms, to_ms), stock.day(day.isoformat())
    except StoreError:
        return [], []


def hub_revocations(path: Path, from_ms: int, to_ms: int) -> list[HubRevocation]:
    """`hub revoke` / `hub restore` of the day, from the store at `path` (none when it cannot
    be read: the report is still made)."""
    try:
        with HubRevocations(path) as log:
            return log.between(from_ms, to_ms)
    except StoreError:
        return []


def at(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def stock_totals(bands: BandStock, _: Words) -> list[tuple[str, int]]:
    """The desks' stock in the materials sheet, all shifts together (none recorded: no rows)."""
    if not bands.shifts:
        return []
    return [
        (_("desks: taken from the store"), sum(b.taken for b in bands.shifts)),
        (_("desks: bands bound"), sum(b.issued for b in bands.shifts)),
        (_("desks: handed back"), sum(b.returned for b in bands.shifts)),
        (_("desks: written off"), sum(b.written_off for b in bands.shifts)),
        (_("desks: on hand"), sum(b.on_hand for b in bands.shifts)),
    ]


def deskday_sections(
    incidents: tuple[FamilyIncident, ...],
    bands: BandStock,
    t: Callable[[datetime | None], datetime | None],
    _: Words,
    *,
    staff: bool,
    now_ms: int,
) -> list[Section]:
    return [
        Section(
            _.both(STOCK),
            (
                _("desk"),
                _("shift"),
                _("start"),
                _("taken"),
                _("issued"),
                _("returned"),
                _("written off"),
                _("on hand"),
            ),
            tuple(
                (
                    b.desk,
                    b.shift or _(NO_SHIFT),
                    t(at(b.started_ms)),
                    b.taken,
                    b.issued,
                    b.returned,
                    b.written_off,
                    b.on_hand,
                )
                for b in bands.shifts
            ),
            note=_(STOCK_NOTE),
        ),
        Section(
            _.both(STOCK_RECORDS),
            (
                _("time"),
                _("desk"),
                _("shift"),
                _("stock"),
                _("count"),
                _("band"),
                _("reason"),
                _("recorded by"),
            ),
            tuple(
                (
                    t(at(r.at_ms)),
                    r.desk,
                    r.shift,
                    _(STOCK_KIND_WORDS.get(r.kind, r.kind)),
                    r.count,
                    r.band,
                    r.reason,
                    r.by,
                )
                for r in bands.records
            ),
        ),
        Section(
            _.both(INCIDENTS),
            (
                _("incident"),
                _("kind"),
                _("group"),
                _("band"),
                _("opened"),
                _("closed"),
                _("minutes"),
                _("outcome"),
                _("opened by"),
                _("closed by"),
                _("note"),
            ),
            tuple(
                (
                    i.id,
                    _(KIND_WORDS.get(i.kind, i.kind)),
                    i.group,
                    i.band,
                    t(at(i.opened_ms)),
                    t(at(i.closed_ms)),
                    i.minutes_open(now_ms),
                    _(OUTCOME_WORDS[i.outcome]) if i.outcome in OUTCOME_WORDS else _("open"),
                    i.opened_by,
                    i.closed_by or "",
                    i.note if staff else withhold(i.note),
                )
                for i in incidents
            ),
        ),
    ]
