"""The daily report's "Desk actions" table: every action a desk journalled (a decision whose body
says `desk_action`, or names `staff`: a join, a correction, a walk-in registration, a
not-authorised list, asked at the console, by `gatectl desk` or by `gatectl join`, `replace`,
`unbind`, `reissue`, `walkin`, `not-authorised`), granted or not, with the badge that authorised
it and the outcome; and each `hub revoke` / `hub restore` typed at the hub (gate "hub", no
badge, the user on the hub's machine as staff: `hub_action_row`). Shown only when there is one.
A desk action is never a technician's test scan (`hub.views.reports.technician_scans`),
whoever asked for it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gate.i18n import N_, Words
from gate.link.protocol import CONSOLE_USER
from hub.store.hub_revocations import HubRevocation
from hub.views.reports.table import Section

TITLE = N_("Desk actions")
HEADER = (
    N_("time"),
    N_("gate"),
    N_("outcome"),
    N_("group"),
    N_("staff badge"),
    N_("staff"),
    N_("detail"),
)
NOTE = N_(
    "each authorised by the staff badge tapped on that desk's reader; refused ones too (asked "
    "at the console with no badge tapped: no badge)"
)


@dataclass(frozen=True, slots=True)
class DeskActionRow:
    at: datetime
    gate: str
    code: str
    group: str
    staff: str
    staff_name: str
    message: str

    def as_dict(self, when: Callable[[datetime], str | None]) -> dict[str, Any]:
        return {
            "at": when(self.at),
            "gate": self.gate,
            "code": self.code,
            "group": self.group,
            "staff": self.staff,
            "staff_name": self.staff_name,
            "message": self.message,
        }


def desk_action_row(
    body: Mapping[str, Any], gate: str, at: datetime, staff_names: Mapping[str, str]
) -> DeskActionRow | None:
    """The row of a decision entry's body, if it is a desk action's: it says so (`desk_action`),
    names its `staff`, or the console asked for it (refused with no badge tapped: no staff)."""
    staff, decision, who = body.get("staff"), body.get("decision"), body.get("asked_by")
    console = isinstance(who, Mapping) and who.get("user") == CONSOLE_USER
    marked = body.get("desk_action") is True or isinstance(staff, str) or console
    if not isinstance(decision, dict) or not marked:
        return None
    staff = staff if isinstance(staff, str) else ""
    return DeskActionRow(
        at,
        str(decision.get("gate") or gate),
        str(decision.get("code", "")),
        str(decision.get("group") or ""),
        staff,
        staff_names.get(staff, ""),
        str(decision.get("message", "")),
    )


def hub_action_row(done: HubRevocation) -> DeskActionRow:
    """The row of a revocation or restore typed at the hub: by the user on its machine."""
    said = f"{done.value} revoked ({done.reason})" if done.command == "revoke" else None
    return DeskActionRow(
        datetime.fromtimestamp(done.at_ms / 1000, UTC),
        "hub",
        f"hub_{done.command}",
        "",
        "",
        done.by,
        said or f"{done.value} restored",
    )


def desk_actions_section(
    rows: Sequence[DeskActionRow],
    when: Callable[[datetime], datetime | None],
    label: Callable[[str], str],
    _: Words,
) -> Section:
    cells = tuple(
        (when(r.at), r.gate, label(r.code), r.group, r.staff, r.staff_name, r.message) for r in rows
    )
    return Section(_(TITLE), tuple(_(h) for h in HEADER), cells, note=_(NOTE))
