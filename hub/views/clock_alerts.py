"""The gates' clocks on the display and in `/api/alerts`: `gate_clock` (critical).

A gate measures its clock against the hub's (`gate.link.hub_time`) and says in its status how
far off it is and whether it decides with the hub's time (`gate.daemon.clock_watch`). The hub
also measures each status's wall time against its own receipt (`clock_skew_s`). Either beyond the
gate's bound (`[gate] clock_max_offset_s`, 2 s by default) is one critical `gate_clock` alert per
gate, which says which clock decides and what to do: put the gate's clock right (NTP:
`timedatectl`, docs/gate.md). While the gate decides with the hub's time its visitors are judged
right and its entries are stamped right; the alert stays until its own clock is within the bound.

The alert's kind, `gate_clock`, is stable. The venue's incident list reads the same report as a
clock fault: the hub's watch (hub/service/gate_faults.py) opens a `clock` incident for a gate
whose report says it is off (`gate_clock_off`: deciding with the hub's time, or its offset beyond
its bound) and ends it when it is back within; it keeps the hub's own measure as a second source
(`clock_skew`, beyond 30 s).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.i18n import N_, Words, words

KIND = "gate_clock"
DEFAULT_BOUND_MS = 2000
NTP_WORDS = {  # as gatectl says them (gate.tools.show_clock)
    "synchronized": N_("NTP synchronised"),
    "unsynchronized": N_("NTP not synchronised"),
    "unknown": N_("NTP state unknown"),
}


def clock_alerts(
    gates: Mapping[str, Mapping[str, Any]], _: Words | None = None
) -> list[dict[str, str]]:
    """One `gate_clock` alert per gate whose clock is off (`gates`: the API's gate views)."""
    _ = _ or words()
    found = []
    for gate, view in sorted(gates.items()):
        text = clock_text(gate, view, _)
        if text is not None:
            found.append({"level": "critical", "kind": KIND, "text": text})
    return found


def gate_clock_off(clock: Mapping[str, Any] | None) -> bool:
    """Whether a gate's own clock report (`GateStatus.clock`) says its clock is off: it decides
    with the hub's time, or its offset is beyond its bound."""
    if not clock:
        return False
    offset, bound_ms = clock.get("offset_ms"), int(clock.get("bound_ms") or DEFAULT_BOUND_MS)
    return bool(clock.get("corrected")) or (offset is not None and abs(offset) > bound_ms)


def clock_text(gate: str, view: Mapping[str, Any], _: Words) -> str | None:
    """What is wrong with `gate`'s clock, in words; None when nothing is."""
    clock = view.get("clock") or {}
    bound_ms = int(clock.get("bound_ms") or DEFAULT_BOUND_MS)
    offset = clock.get("offset_ms")
    if clock.get("corrected") and offset is not None:
        way = _("behind") if offset > 0 else _("ahead of")
        return _(
            "gate {gate}: its clock is {s} s {way} the hub's ({ntp}): it decides with the hub's "
            "time; set its clock right (NTP)",
            gate=gate,
            s=f"{abs(offset) / 1000:.0f}",
            way=way,
            ntp=_(NTP_WORDS.get(str(clock.get("ntp")), NTP_WORDS["unknown"])),
        )
    skew = view.get("clock_skew_s")  # its status's wall time minus the hub's receipt
    if skew is not None and abs(skew) * 1000 > bound_ms:
        way = _("ahead of") if skew > 0 else _("behind")
        return _(
            "gate {gate}: its clock is {s} s {way} the hub's and it does not correct it: its "
            "opening hours and validity run on a wrong clock; set its clock right (NTP)",
            gate=gate,
            s=f"{abs(skew):.0f}",
            way=way,
        )
    return None
