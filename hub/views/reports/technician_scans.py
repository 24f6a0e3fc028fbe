"""The daily report's "Technician's test scans" table: scans typed at `gatectl scan` on a gate,
journalled with who asked (the kernel's word for the technician's account), one row each.

They are decided and journalled like any read (a granted one moves its member, and is counted
in the headcount like any other); they are listed here, apart, so a duty manager does not take
a technician's test for a visitor, and they are left out of the "Denials by code" table. A desk
action asked at `gatectl` is no test scan: the report lists it with the desk actions
(`hub.views.reports.desk_actions`, which it asks first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gate.i18n import N_

TITLE = N_("Technician's test scans")
NOTE = N_("scans typed at gatectl on a gate (no band on the reader), journalled with who asked")
HEADER = (
    N_("time"),
    N_("gate"),
    N_("technician"),
    N_("value"),
    N_("decision"),
    N_("journal entry"),
)


@dataclass(frozen=True, slots=True)
class TechnicianScan:
    at: datetime
    gate: str
    technician: str  # "ana (uid 1000)"
    value: str
    code: str
    seq: int


def technician_scan(
    body: Mapping[str, Any], gate: str, seq: int, at: datetime
) -> TechnicianScan | None:
    """The row of a decision entry's `body` when a technician asked for it, else None."""
    who, d = body.get("asked_by"), body.get("decision")
    if not isinstance(who, Mapping) or not isinstance(d, Mapping):
        return None
    return TechnicianScan(
        at=at,
        gate=str(d.get("gate") or gate),
        technician=f"{who.get('user') or '?'} (uid {who.get('uid')})",
        value=str(d.get("value") or ""),
        code=str(d.get("code") or ""),
        seq=seq,
    )


def technician_rows(
    rows: Sequence[TechnicianScan],
    when: Callable[[datetime], str],
    decision: Callable[[str], str] = str,
) -> tuple[tuple[str | int, ...], ...]:
    """One row a scan; `decision` turns its code into what the reader is shown."""
    return tuple(
        (when(r.at), r.gate, r.technician, r.value, decision(r.code), f"{r.gate}/{r.seq}")
        for r in rows
    )
