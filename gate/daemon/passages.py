"""The band's passage record at the gate: read with the scan, written before the relay moves.

Each granted passage of a band on the reader writes its next counter, the member's state after
it and the hybrid-clock time its decision is then journalled with into the band's older slot
and reads it back (`gate.devices.nfc.passage`), after the decision and before it is journalled,
folded and the relay moves:

- an **entry** stands only if the write was read back: a band that left the reader before its
  record was written is refused (`DENY_BAD_TOKEN`, "hold the band still and scan it again") and
  reported again as soon as it returns. A grant whose record is not on the band would let it in
  a second time at a gate cut off from this one;
- an **exit** stands whatever the write did: people can always leave. Its move is journalled
  without a counter (nothing may say the band carries a record it may not hold), and counted
  (`passage_write_failed`);
- a band with no room for a record (an NTAG210/212) passes without one (`passage_no_room`).

A write that failed only while being read back may still have reached the band: the band then
carries a record no journal holds. This gate keeps the last of those per band, and reads such a
band as holding its record from before, so that scanning it again is not refused as a band that
already passed.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from gate.core import BandPassage, Code, Decision, Event, Mode, Scan, State
from gate.core.hlc import HybridClock, Timestamp
from gate.core.passages import record_of, without_counter
from gate.devices.nfc.passage import Slots, encode_slot, stamped
from gate.devices.nfc.reader import TagRead
from gate.devices.nfc.token import Keyring

log = logging.getLogger("gate")

NOT_WRITTEN = "passage not written on the band ({reason}): hold the band still and scan it again"
_UNCONFIRMED = 1024  # bands whose last write was not read back, remembered at most


class PassageRecords:
    """What this gate reads and writes of the bands' passage records. Runs on the loop."""

    def __init__(
        self,
        keyring: Keyring,
        count: Callable[[str], None],
        stamp: Callable[[], Timestamp] | None = None,
    ) -> None:
        """`stamp`: the hybrid timestamp the decision will be journalled with (`Journal.stamp`;
        by default a clock of its own, for what journals nothing)."""
        self._keyring = keyring
        self._count = count
        self._stamp = stamp or HybridClock(lambda: int(time.time() * 1000)).now
        self._unconfirmed: OrderedDict[str, tuple[BandPassage, BandPassage | None]] = OrderedDict()
        self.last_write_ms: float | None = None  # the last write's time, read back included

    def of(self, read: TagRead, state: State | None = None) -> BandPassage | None:
        """The record a scan of `read` carries: the band's newest valid one, unless it is the one
        this gate wrote without reading it back (then the one before it) and no journal `state`
        folded has spoken of it since (a desk that bound the band again from that record made
        it the binding's own)."""
        member = state.members.get(read.uid) if state is not None else None
        known = member.counter if member is not None else 0
        newest = read.slots.newest if read.slots is not None else None
        pending = self._unconfirmed.get(read.uid)
        if pending is not None and newest == pending[0] and known < pending[0].counter:
            return pending[1]
        return newest

    def write(
        self,
        decision: Decision,
        events: list[Event],
        scan: Scan,
        state: State,
        writer: Any,
        slots: Slots | None,
    ) -> tuple[Decision, list[Event]]:
        """Write the record of a granted passage onto the band on the reader (`writer`: the
        reader's `TokenWriter`, `slots`: what it read of the record); the decision and events
        that then stand."""
        record = record_of(state, scan, events)
        if record is None or writer is None:
            return decision, events
        if slots is None:
            self._count("passage_no_room")
            return decision, without_counter(events, scan.value)
        record = stamped(record, self._stamp())  # the time its entry is journalled with
        moved_group = decision.group or ""
        image = encode_slot(record, scan.value, moved_group, self._keyring)
        started = time.perf_counter()
        outcome = writer.write_passage(image, slots)
        self.last_write_ms = (time.perf_counter() - started) * 1000
        if outcome.ok:
            self._unconfirmed.pop(scan.value, None)
            self._count("passage_written")
            return decision, events
        self._unconfirmed[scan.value] = (record, scan.passage)
        self._unconfirmed.move_to_end(scan.value)
        while len(self._unconfirmed) > _UNCONFIRMED:
            self._unconfirmed.popitem(last=False)
        self._count("passage_write_failed")
        log.warning(
            "band %s: passage %d not written: %s", scan.value, record.counter, outcome.reason
        )
        if scan.mode is Mode.EXIT:  # people can always leave
            return decision, without_counter(events, scan.value)
        refused = Decision(
            Code.DENY_BAD_TOKEN,
            NOT_WRITTEN.format(reason=outcome.reason),
            decision.value,
            decision.gate,
            decision.group,
            decision.role,
        )
        return refused, []
