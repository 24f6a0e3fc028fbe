"""A band's passage counters at the hub: copies and rollbacks.

Each granted passage of a band on a reader journals the counter it wrote on the band
(`MemberMoved.counter`, `gate.core.passages`); a genuine band's counters only go up. Folded in
hybrid-clock order, a counter of a band (of one group) that goes backwards, or comes again with
other content, means two bands answer with one UID, or a band was restored from a copy of
itself:

    band_cloned     critical: the band and the gates it passed; on the display at once

A gate whose clock is wrong can make two passages of one band fold out of their order too: the
clock's own finding (`clock`) then says so beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import Any

from gate.core import MemberMoved
from gate.i18n import Words, words
from hub.fold.findings import CLONE_ALERTS, Finding

Ref = tuple[tuple[str, int], ...]


def counter_findings(
    seen: dict[tuple[str, str], MemberMoved], mv: MemberMoved, ref: Ref
) -> list[Finding]:
    """The finding of `mv` if its counter went backwards or repeated; `seen` keeps, per band and
    group, the move with the highest counter folded so far."""
    if mv.counter is None:
        return []
    key = (mv.uid, mv.group)
    prev = seen.get(key)
    if prev is None or prev.counter is None or mv.counter > prev.counter:
        seen[key] = mv
        return []
    if (mv.counter, mv.gate, mv.at, mv.state) == (prev.counter, prev.gate, prev.at, prev.state):
        return []  # the same passage
    how = "came again" if mv.counter == prev.counter else "went backwards"
    gates = (prev.gate,) if prev.gate == mv.gate else (prev.gate, mv.gate)
    detail = (
        f"band {mv.uid} of group {mv.group}: passage {mv.counter} at {mv.gate} "
        f"{mv.at.isoformat(timespec='seconds')} after passage {prev.counter} at {prev.gate} "
        f"{prev.at.isoformat(timespec='seconds')}: its counter {how} (two bands with one UID, "
        "or a band restored from a copy)"
    )
    return [Finding("band_cloned", gates, mv.at, detail, mv.uid, mv.group, ref)]


def clone_alerts(
    findings: Sequence[Finding], tz: tzinfo, _: Words | None = None
) -> list[dict[str, Any]]:
    """One critical alert per band copied or rolled back, naming it by its group (its UID is in
    the findings and the report: the display is open on the venue LAN, and a UID is what a copy
    is made from) and the gates it passed."""
    _ = _ or words()
    counted: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.kind in CLONE_ALERTS and f.uid is not None:
            counted.setdefault((f.group or "?", f.uid), []).append(f)
    alerts = []
    for (group, _uid), found in sorted(counted.items()):
        gates = ", ".join(sorted({g for f in found for g in f.gates}))
        last = f"{max(f.at for f in found).astimezone(tz):%H:%M:%S}"
        text = _(
            "a band of group {group} copied or rolled back: passages at {gates} (last {time}; "
            "see the findings)",
            group=group,
            gates=gates,
            time=last,
        )
        alerts.append({"level": "critical", "kind": "band_cloned", "text": text})
    return alerts
