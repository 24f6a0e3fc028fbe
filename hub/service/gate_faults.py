"""The faults one gate's status shows (`gate_faults`), and the gates that restarted (`Restarts`):
the hub's watch (hub/service/incidents.py) turns them into incidents.

    clock    two sources: the gate's own report (`GateStatus.clock`): its clock off beyond its
             bound, or the gate deciding with the hub's time (`clock_off`; the display's
             `gate_clock` alert reads the same report, hub/views/clock_alerts.py); and the hub's
             measure, the status's wall time against the hub's on arrival, beyond CLOCK_BOUND_S
             (`clock_skew`: a gate that does not correct its clock)
    power    a gate the hub knew back with another boot id (`GateStatus.boot`): its machine
             booted again, from when it was last heard to when it came back (`restarted`)
"""

from __future__ import annotations

from gate.link.protocol import GateStatus
from hub.ingest.gates import GateView
from hub.views.clock_alerts import gate_clock_off
from hub.views.fault_details import CLOCK_GATE, CLOCK_HUB, READER, READER_REMOVED, detail

CLOCK_BOUND_S = 30.0
HEALTHY_READER = ("connected", "searching")


def gate_faults(view: GateView, status: GateStatus) -> list[tuple[str, str, bool, str]]:
    """(class, what, whether it is on, detail) of each fault a gate's status can show."""
    reader, skew = status.reader, view.clock_skew_s
    removed = reader == "removed"
    bad_reader = reader is not None and reader not in HEALTHY_READER and not removed
    skewed = skew is not None and abs(skew) > CLOCK_BOUND_S
    clock = status.clock
    off = clock is not None and gate_clock_off(clock.model_dump())
    offset_ms = (clock.offset_ms if clock else None) or 0
    return [
        ("reader", "reader_removed", removed, detail(READER_REMOVED)),
        ("reader", "reader_fault", bad_reader, detail(READER, state=reader)),
        ("scanner", "scanner_fault", bool(status.scanner), status.scanner or ""),
        ("disk", "disk_low", bool(status.disk), status.disk or ""),
        # offset_ms is the hub's clock minus the gate's: the gate is ahead when it is negative
        ("clock", "clock_off", off, detail(CLOCK_GATE, s=f"{-offset_ms / 1000:+.0f}")),
        ("clock", "clock_skew", skewed, detail(CLOCK_HUB, s=f"{skew or 0:+.0f}")),
    ]


class Restarts:
    """Each gate's boot id and when it was last heard with it."""

    def __init__(self) -> None:
        self._boots: dict[str, tuple[str, int]] = {}

    def heard(self, gate: str, status: GateStatus, now_ms: int) -> int | None:
        """A gate online with `status` now: when it was last heard before, if it has booted
        again since (None: the same boot, or one the hub did not know)."""
        if not status.boot:
            return None
        known = self._boots.get(gate)
        self._boots[gate] = (status.boot, now_ms)
        if known is not None and known[0] != status.boot:
            return known[1]
        return None
