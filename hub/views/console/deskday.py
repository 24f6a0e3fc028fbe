"""`hub incident` and `hub stock` for a person: a lost-child or separated-family incident with its
family (each member's band, role, state, last gate and time), the open ones, and each desk's
wristband stock by shift. The data is `hub.service.desk_records`'s answers and
`ShiftBalance.as_dict()` (hub/views/reports/stock.py).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from gate.i18n import Words
from gate.i18n.terminal import columns, venue_time
from hub.views.labels import label
from hub.views.reports.deskday import KIND_WORDS, NO_SHIFT, OUTCOME_WORDS

STOCK_WORDS = {"taken": "taken", "returned": "returned", "written_off": "written off"}


def show_incident(i: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    kind = _(KIND_WORDS.get(i["kind"], i["kind"]))
    if i.get("closed_ms") is None:
        head = _(
            "incident {n}: {kind}, group {group}, open {minutes} min (opened {at} by {by})",
            n=i["id"],
            kind=kind,
            group=i["group"],
            minutes=i["minutes_open"],
            at=venue_time(i["opened_ms"], tz),
            by=i["opened_by"],
        )
    else:
        head = _(
            "incident {n}: {kind}, group {group}, {outcome} at {at} after {minutes} min",
            n=i["id"],
            kind=kind,
            group=i["group"],
            outcome=_(OUTCOME_WORDS.get(i["outcome"], i["outcome"])),
            at=venue_time(i["closed_ms"], tz),
            minutes=i["minutes_open"],
        )
    lines = [head]
    if i.get("note"):
        lines.append("  " + _("note: {note}", note=i["note"]))
    last = i.get("last_gate") or "-"
    lines.append("  " + _("last seen at {gate} {at}", gate=last, at=venue_time(i["last_at"], tz)))
    rows: list[tuple[Any, ...]] = [(_("band"), _("role"), _("state"), _("last gate"), _("time"))]
    for m in i.get("members", []):
        rows.append(
            (
                m["uid"] + (" *" if m["uid"] == i.get("band") else ""),
                label(m["role"], _.language),
                label(m["state"], _.language),
                m["last_gate"],
                venue_time(m["last_at"], tz),
            )
        )
    lines += ["  " + line for line in columns(rows)]
    return lines


def show_open_incidents(found: list[dict[str, Any]], _: Words, tz: tzinfo) -> list[str]:
    if not found:
        return [_("no lost child or separated family open")]
    lines: list[str] = []
    for i in found:
        lines += show_incident(i, _, tz)
    return lines


def show_record(r: dict[str, Any], _: Words) -> str:
    said = _(
        "desk {desk}, shift {shift}: {kind} {n}",
        desk=r["desk"],
        shift=r["shift"],
        kind=_(STOCK_WORDS.get(r["kind"], r["kind"])),
        n=r["count"],
    )
    if r.get("band"):
        said += " (" + _("band {uid} handed back", uid=r["band"]) + ")"
    if r.get("reason"):
        said += " (" + r["reason"] + ")"
    return said


def show_stock(answer: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    """Each desk's shifts of the day, and the bands handed back after a temporary exit."""
    lines = [_("wristband stock of {day}", day=answer["day"])]
    rows: list[tuple[Any, ...]] = [
        (
            _("desk"),
            _("shift"),
            _("start"),
            _("taken"),
            _("issued"),
            _("returned"),
            _("written off"),
            _("on hand"),
        )
    ]
    for b in answer["shifts"]:
        rows.append(
            (
                b["desk"],
                b["shift"] or _(NO_SHIFT),
                venue_time(b["started_ms"], tz) if b["started_ms"] is not None else "-",
                b["taken"],
                b["issued"],
                b["returned"],
                b["written_off"],
                b["on_hand"],
            )
        )
    lines += columns(rows, right=range(3, 8)) if answer["shifts"] else [_("no record yet")]
    if answer.get("handed_back"):
        shown = " ".join(answer["handed_back"])
        lines.append(_("handed back after a temporary exit: {bands}", bands=shown))
    return lines
