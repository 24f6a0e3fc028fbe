"""What the hub knows of each gate beyond its store: whether it is online, its last status (with
its clock's skew), when it last sent entries and was last asked for a replay; and each gate as the
display shows it (`GateView`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from gate.link.protocol import GateStatus, HeadcountGate
from hub.store.events import EventStore
from hub.store.records import GateRow

log = logging.getLogger("hub.ingest.intake")  # the ingest's one log, whichever part speaks


@dataclass(frozen=True, slots=True)
class GateView:
    """One gate as the display shows it."""

    gate: str
    online: bool
    last_seen_ms: int | None
    acked: int  # the hub's watermark for the gate
    highest: int  # the highest seq stored
    last_seq: int | None  # the gate's last seq, from its status
    backlog: int  # entries the gate holds that the hub has not acknowledged
    missing: bool  # entries stored above a gap
    allowlist_version: int | None
    clock_skew_s: float | None  # the gate's clock minus the hub's (positive: gate ahead)
    stale_allowlist: bool  # the gate's allowlist is older than the hub's
    reader: str | None = None  # the gate's reader state, from its status
    taken_over: int | None = None  # its broker session taken over in the last hour (its status)
    status_ms: int | None = None  # when its last status came (its backlog is as of then)
    clock: dict[str, Any] | None = None  # its clock against the hub's, from its status

    def to_protocol(self) -> HeadcountGate:
        last_seen = None
        if self.last_seen_ms is not None:
            last_seen = datetime.fromtimestamp(self.last_seen_ms / 1000, UTC).isoformat()
        return HeadcountGate(
            online=self.online,
            last_seen=last_seen,
            backlog=self.backlog,
            allowlist_version=self.allowlist_version,
            clock_skew_s=self.clock_skew_s,
        )


@dataclass
class Liveness:
    """What the hub knows of a gate beyond the store: liveness and its last status."""

    online: bool = False
    status: GateStatus | None = None
    status_ms: int | None = None
    skew_ms: int | None = None
    last_event_ms: int | None = None
    last_replay_ms: int | None = None
    heard_ms: int | None = None  # the gate's last word as it came (a retained one is not)


class GateTracker:
    """Every gate's liveness, kept by the ingest's thread; `views()` may be called from any
    thread. `allowlist_version` returns the hub's allowlist version (for the stale flag)."""

    def __init__(
        self, store: EventStore, allowlist_version: Callable[[], int | None] | None = None
    ) -> None:
        self.store = store
        self.allowlist_version = allowlist_version
        self._lock = threading.Lock()
        self._live: dict[str, Liveness] = {row.gate: _from_row(row) for row in store.gate_rows()}

    def get(self, gate: str) -> Liveness | None:
        with self._lock:
            return self._live.get(gate)

    def sent_entries(self, gates: Iterable[str], now: int) -> None:
        """`gates` sent entries that are stored now: online."""
        with self._lock:
            for gate in gates:
                live = self._live.setdefault(gate, Liveness())
                live.online, live.last_event_ms, live.heard_ms = True, now, now

    def record_status(self, gate: str, status: GateStatus, retained: bool, now: int) -> GateStatus:
        """Keep `gate`'s status, in memory and in the store; the status as kept (a will says
        only "offline": what the gate said last is kept with it)."""
        with self._lock:
            live = self._live.setdefault(gate, Liveness())
            earlier, skew_ms = live.status, live.skew_ms
        if not status.online and earlier is not None:
            # the will says only "offline": keep what the gate said last (version, last seq)
            status = earlier.model_copy(update={"online": False})
        if status.online and not retained and status.wall_ms is not None:
            skew_ms = status.wall_ms - now  # else the last one measured stands
        try:
            self.store.set_status(gate, status.model_dump(mode="json"), now, skew_ms)
        except sqlite3.Error as exc:  # kept in memory all the same
            log.error("status of %s not stored: %s", gate, exc)
        with self._lock:
            live.online, live.status, live.status_ms = status.online, status, now
            live.skew_ms = skew_ms
            if not retained:
                live.heard_ms = now
        return status

    def may_replay(self, gate: str, now: int, interval_ms: int) -> bool:
        """Whether `gate` may be asked for a replay now (at most once per `interval_ms`); if so,
        it counts as asked."""
        with self._lock:
            live = self._live.setdefault(gate, Liveness())
            if live.last_replay_ms is not None and now - live.last_replay_ms < interval_ms:
                return False
            live.last_replay_ms = now
        return True

    def heard_ms(self) -> int | None:
        """When the hub last heard a gate speak (entries, or a status as it was sent), of all
        its gates; None when none has since the hub started."""
        with self._lock:
            return max((g.heard_ms for g in self._live.values() if g.heard_ms), default=None)

    def views(self) -> dict[str, GateView]:
        """Every gate the hub has heard of, by id."""
        hub_version = self.allowlist_version() if self.allowlist_version else None
        rows = {row.gate: row for row in self.store.gate_rows()}
        with self._lock:
            live = {gate: replace(state) for gate, state in self._live.items()}
        views = {}
        for gate in sorted(rows.keys() | live.keys()):
            row, state = rows.get(gate) or GateRow(gate), live.get(gate) or Liveness()
            status = state.status
            last_seq = status.last_seq if status else None
            version = status.allowlist_version if status else None
            views[gate] = GateView(
                gate=gate,
                online=state.online,
                last_seen_ms=row.last_seen_ms,
                acked=row.acked,
                highest=row.highest,
                last_seq=last_seq,
                backlog=max(last_seq or 0, row.highest) - row.acked,
                missing=row.highest > row.acked,
                allowlist_version=version,
                clock_skew_s=state.skew_ms / 1000 if state.skew_ms is not None else None,
                stale_allowlist=(
                    hub_version is not None and version is not None and version < hub_version
                ),
                reader=status.reader if status else None,
                taken_over=status.taken_over if status else None,
                status_ms=state.status_ms,
                clock=status.clock.model_dump() if status and status.clock else None,
            )
        return views

    def headcount_gates(self) -> dict[str, HeadcountGate]:
        """`views()` as the headcount message carries them."""
        return {gate: view.to_protocol() for gate, view in self.views().items()}


def _from_row(row: GateRow) -> Liveness:
    """What a restarted hub knows of a gate: its last status (the broker's retained status
    follows at once and replaces it)."""
    status = None
    if row.status is not None:
        try:
            status = GateStatus.model_validate(row.status)
        except ValueError:
            status = None
    return Liveness(
        online=bool(status and status.online),
        status=status,
        status_ms=row.status_ms,
        skew_ms=row.skew_ms,
        last_event_ms=row.last_seen_ms,
    )
