"""The daily report's "Corrections at the desk" table: each band replaced (lost), unbound (bound
by mistake) or re-issued (returned by mistake) at a desk, with the staff badge that authorised
it, one row each (`gate.core.corrections`); and what they change on the materials sheet.

A band unbound is no longer issued (it goes back to the desk's stock, and is counted again when
it is bound again); a replacement band is issued, the lost one written off ("lost band,
replaced by ..."); a band re-issued is no longer counted as returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gate.core import BandReissued, BandReplaced, BandUnbound, Event, State
from gate.i18n import N_, Words
from hub.views.reports.formats import iso
from hub.views.reports.table import Section

Correction = BandReplaced | BandUnbound | BandReissued
TITLE = N_("Corrections at the desk")
NOTE = N_("bands replaced, unbound or re-issued by staff, with the badge tapped at the desk")
HEADER = (
    N_("time"),
    N_("gate"),
    N_("correction"),
    N_("band"),
    N_("new band"),
    N_("group"),
    N_("role"),
    N_("state"),
    N_("staff badge"),
    N_("staff"),
)
KINDS = {
    "replaced": N_("lost band replaced"),
    "unbound": N_("band unbound"),
    "reissued": N_("band re-issued"),
}


@dataclass(frozen=True, slots=True)
class CorrectionRow:
    at: datetime
    gate: str
    kind: str  # replaced | unbound | reissued
    band: str  # the band corrected (the lost one, for a replacement)
    new_band: str  # the replacement, or ""
    group: str
    role: str
    state: str  # the member's state: before an unbinding, after a re-issue or a replacement
    staff: str  # the badge
    staff_name: str

    def as_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        return {
            "at": iso(self.at, tz),
            "gate": self.gate,
            "kind": self.kind,
            "band": self.band,
            "new_band": self.new_band,
            "group": self.group,
            "role": self.role,
            "state": self.state,
            "staff": self.staff,
            "staff_name": self.staff_name,
        }


def is_correction(event: Event) -> bool:
    return isinstance(event, BandReplaced | BandUnbound | BandReissued)


def correction_row(state: State, event: Correction) -> CorrectionRow | None:
    """The row of `event`, from `state` before it is folded (None when it names no member)."""
    band = event.old if isinstance(event, BandReplaced) else event.uid
    member = state.members.get(band)
    if member is None:
        return None
    staff_name = state.allowlist.staff.get(event.staff, "")
    match event:
        case BandReplaced():
            kind, new, where = "replaced", event.new, member.state.value
        case BandUnbound():
            kind, new, where = "unbound", "", event.state.value
        case BandReissued():
            kind, new, where = "reissued", "", event.state.value
    role = member.role.value
    return CorrectionRow(
        event.at, event.gate, kind, band, new, event.group, role, where, event.staff, staff_name
    )


def correction_section(
    rows: Sequence[CorrectionRow],
    t: Callable[[datetime | None], datetime | None],
    _: Words,
    label: Callable[[str], str],
) -> Section:
    return Section(
        _(TITLE),
        tuple(_(h) for h in HEADER),
        tuple(
            (
                t(r.at),
                r.gate,
                _(KINDS[r.kind]),
                r.band,
                r.new_band,
                r.group,
                label(r.role),
                label(r.state),
                r.staff,
                r.staff_name,
            )
            for r in rows
        ),
        note=_(NOTE),
    )
