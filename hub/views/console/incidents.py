"""`hub incidents` and `hub drill` for a person: the faults by class, one row each, with their
source, start, end and impact, times on the venue's clock; the drills and their records. The
data is `Incident.as_dict()` and `Drill.as_dict()` (hub/store/incidents.py).
"""

from __future__ import annotations

import time
from datetime import tzinfo
from typing import Any

from gate.i18n import N_, Words
from gate.i18n.terminal import columns, venue_time
from hub.views.fault_details import shown
from hub.views.liveness import duration_words

# the fault plans' classes (故障分类), as `hub incidents` and the report name them
CLASS_WORDS = (
    N_("network"),
    N_("broker"),
    N_("reader"),
    N_("scanner"),
    N_("disk"),
    N_("clock"),
    N_("power"),
)


def fault_words(i: dict[str, Any], _: Words) -> str:
    """A fault's detail in the reader's words (hub/views/fault_details.py); the gate's own words
    for its scanner or disk as it said them."""
    return shown(str(i.get("detail") or i.get("what")), _)


def impact(i: dict[str, Any], _: Words) -> str:
    """What the incident did, in words: an outage's gates and reconciliation, a fault's detail."""
    if not i["offline"]:
        return fault_words(i, _)
    said = [_("offline mode; gates cut off: {gates}", gates=" ".join(i["gates"]) or "-")]
    if i.get("detail"):  # why: a gate's silence, a gate that restarted
        said.append(fault_words(i, _))
    if i.get("ended_ms") is None:
        said.append(_("headcount provisional"))
    elif i.get("reconciled_ms") is None:
        said.append(_("waiting for the gates' backlog"))
    else:
        said.append(
            _(
                "{scans} scans decided offline, {conflicts} conflicts",
                scans=i.get("offline_scans") or 0,
                conflicts=i.get("conflicts") or 0,
            )
        )
    return "; ".join(said)


def show_incidents(answer: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    found, drills = answer.get("incidents") or [], answer.get("drills") or []
    now_ms = int(time.time() * 1000)
    lines = [_("{n} incidents (times in {zone})", n=len(found), zone=str(tz))]
    if found:
        rows: list[tuple[str, ...]] = [
            (_("CLASS"), _("SOURCE"), _("START"), _("END"), _("LASTED"), _("IMPACT"), _("DRILL"))
        ]
        for i in sorted(found, key=lambda i: (i["class"], i["started_ms"])):
            end = i.get("ended_ms")
            rows.append(
                (
                    _(i["class"]),
                    str(i["source"]),
                    venue_time(i["started_ms"], tz),
                    venue_time(end, tz) if end is not None else _("now"),
                    duration_words(((end or now_ms) - i["started_ms"]) / 1000, _),
                    impact(i, _),
                    str(i["drill"]) if i.get("drill") else "-",
                )
            )
        lines += columns(rows)
    for d in drills:
        lines += show_drill(d, _, tz)
    return lines


def show_drill(d: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    """One drill and, once it has ended, its record."""
    head = _(
        "drill {n}: {kind} at gate {gate}, ordered by {by}, {start} to {end}",
        n=d["id"],
        kind=d["kind"],
        gate=d["gate"],
        by=d["by"],
        start=venue_time(d["started_ms"], tz),
        end=venue_time(d["ended_ms"], tz) if d.get("ended_ms") else _("now"),
    )
    record = d.get("record")
    if not record:
        return [head, "  " + _("under way")]
    lines = [head]
    for a in record.get("alerts") or []:
        lines.append("  " + _("alert after {s} s: {text}", s=round(a["after_s"]), text=a["text"]))
    if not record.get("alerts"):
        lines.append("  " + _("no alert was raised"))
    lines.append(
        "  "
        + _(
            "offline mode lasted {s} s; {scans} scans decided offline; {conflicts} conflicts",
            s=round(record.get("offline_s") or 0),
            scans=record.get("offline_scans") or 0,
            conflicts=record.get("conflicts") or 0,
        )
    )
    if record.get("all_at_hub"):
        lines.append("  " + _("reconciliation found everything: the gate's journal is at the hub"))
    else:
        lines.append(
            "  "
            + _(
                "NOT everything reached the hub: gate at seq {seq}, hub holds {acked}",
                seq=record.get("gate_last_seq"),
                acked=record.get("hub_acked"),
            )
        )
    return lines
