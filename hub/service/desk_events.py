"""What the hub does with a desk's records when it stores them (each entry once: the store is
idempotent on gate and seq, so a replayed entry is never done twice):

- a ticket or band revoked or restored at a desk (`ValueRevoked`, `ValueRestored`): the hub's
  allowlist is changed the same way, one version up, and the change published as a delta at
  once, as `hub revoke` / `hub restore` do, so a gate that missed the desk's event refuses (or
  accepts) the value all the same;
- a lost-child or separated-family incident opened or closed at a desk or handheld
  (`IncidentOpened`, `IncidentClosed`): recorded in the hub's store (`hub.store.family_incidents`)
  at the desk's time, by "<desk> (staff <name>)", so the display shows it and the report lists
  it. An incident already recorded from the same entry is not opened again; a family with one
  open already keeps it (counted); a close with none open is counted;
- band stock recorded at a desk or handheld (`StockRecorded`): a record of the day's stock sheet
  (`hub.store.band_stock`), at the desk's time, in its shift, by "<desk> (staff <name>)"; a band
  handed back is in it as one band returned (the gates, folding the event, free the band).

What cannot be done is logged and counted (`refused`, in `hub status`'s `desk_refused`), never
raised: the entry is the desk's fact, stored and folded whatever the hub makes of it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import tzinfo

from gate.core import (
    Allowlist,
    Event,
    IncidentClosed,
    IncidentOpened,
    StockRecorded,
    ValueRestored,
    ValueRevoked,
)
from gate.link.codec import CodecError, events_of
from hub.ingest.allowlist import HubAllowlist, ImportResult
from hub.store.band_stock import BandStockLog
from hub.store.family_incidents import FamilyIncidents
from hub.store.records import StoredEntry

log = logging.getLogger("hub")

DESK_RECORDS = (ValueRevoked, ValueRestored, IncidentOpened, IncidentClosed, StockRecorded)


class DeskEvents:
    def __init__(
        self,
        allowlist: HubAllowlist,
        incidents: FamilyIncidents,
        applied: Callable[[ImportResult], None],
        refused: Counter[str] | None = None,
        *,
        stock: BandStockLog,
        tz: tzinfo,
    ) -> None:
        """`applied(result)`: an allowlist change made here, to fold and publish at once;
        `refused`: where what was not done is counted; `stock`, the desks' band stock, kept
        by the venue's day in `tz`."""
        self.allowlist, self.incidents, self.applied = allowlist, incidents, applied
        self.stock, self.tz = stock, tz
        self.refused: Counter[str] = refused if refused is not None else Counter()

    def stored(self, entries: Sequence[StoredEntry]) -> None:
        for entry in entries:
            if entry.kind != "decision" or "staff" not in entry.body:
                continue
            try:
                events = events_of(entry.body)
            except CodecError:
                continue  # the ingest's own finding says so
            for event in events:
                if isinstance(event, DESK_RECORDS):
                    self._do(event)

    def _do(self, event: Event) -> None:
        try:
            match event:
                case ValueRevoked(value=value, reason=reason):
                    if self.allowlist.current.revoked.get(value) != reason:
                        self._applied(self.allowlist.revoke(value, reason), event)
                case ValueRestored(value=value):
                    if value in self.allowlist.current.revoked:
                        self._applied(self.allowlist.restore(value), event)
                case IncidentOpened():
                    self._opened(event)
                case IncidentClosed():
                    self._closed(event)
                case StockRecorded():
                    self._stocked(event)
        except ValueError as exc:
            kind = type(event).__name__
            self.refused[f"{kind}: {type(exc).__name__}"] += 1
            log.warning("%s of %s not recorded at the hub: %s", kind, event.gate, exc)

    def _applied(self, result: ImportResult, event: ValueRevoked | ValueRestored) -> None:
        log.info(
            "%s %s at %s (staff %s): allowlist version %d",
            "revoked" if isinstance(event, ValueRevoked) else "restored",
            event.value,
            event.gate,
            self._name(event.staff),
            result.version,
        )
        if result.applied:
            self.applied(result)

    def _name(self, staff: str) -> str:
        badges: Allowlist = self.allowlist.current
        return badges.staff.get(staff, staff)

    def _by(self, event: IncidentOpened | IncidentClosed | StockRecorded) -> str:
        return f"{event.gate} (staff {self._name(event.staff)})"

    def _opened(self, event: IncidentOpened) -> None:
        at_ms, by = int(event.at.timestamp() * 1000), self._by(event)
        if self.incidents.opened_so(event.group, at_ms, by) is not None:
            return  # recorded from this entry already
        made = self.incidents.open(event.kind, event.group, event.band, at_ms, by, event.note)
        log.info("incident %d opened for %s at %s", made.id, event.group, event.gate)

    def _closed(self, event: IncidentClosed) -> None:
        at_ms = int(event.at.timestamp() * 1000)
        found = self.incidents.open_of(event.group)
        if found is None or found.opened_ms > at_ms:
            raise ValueError(f"group {event.group} has no incident open to close")
        self.incidents.close(found.id, event.outcome, at_ms, self._by(event))
        log.info("incident %d closed (%s) at %s", found.id, event.outcome, event.gate)

    def _stocked(self, event: StockRecorded) -> None:
        at_ms, by = int(event.at.timestamp() * 1000), self._by(event)
        day = event.at.astimezone(self.tz).date().isoformat()
        kept = (day, event.gate, event.shift, event.kind, event.count, at_ms)
        if self.stock.recorded_so(*kept, band=event.band):
            return  # recorded from this entry already
        self.stock.add(*kept, by=by, band=event.band, reason=event.reason)
        log.info("stock %s x%d at %s (%s)", event.kind, event.count, event.gate, by)
