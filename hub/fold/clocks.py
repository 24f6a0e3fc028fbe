"""The gates' clocks as the hub reads them: hybrid timestamps and milliseconds turned into
times, and what one gate's entries showed about its clock (unset, ahead of the hub, gone
back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from gate.core.hlc import Timestamp
from hub.store.records import StoredEntry

SKEW_LIMIT_MS = 120_000  # a gate clock further than this from the hub's is wrong
CLOCK_FLOOR_MS = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)  # earlier: never set
_LAST_MS = int(datetime(9999, 12, 31, tzinfo=UTC).timestamp() * 1000)


@dataclass
class GateClock:
    """What one gate's entries showed about its clock."""

    unset: int = 0
    unset_first: StoredEntry | None = None
    ahead: int = 0
    ahead_ms: int = 0
    ahead_first: StoredEntry | None = None
    back: int = 0
    back_ms: int = 0
    back_first: StoredEntry | None = None

    def check(self, entry: StoredEntry, hlc_ms: int, skew_limit_ms: int) -> None:
        """Count `entry` (its hybrid timestamp at `hlc_ms`) in, if its clock looks wrong."""
        if entry.wall_ms < CLOCK_FLOOR_MS:
            self.unset += 1
            self.unset_first = self.unset_first or entry
            return
        ahead = entry.wall_ms - entry.received_ms  # written after the hub received it?
        if ahead > skew_limit_ms:
            self.ahead += 1
            self.ahead_ms = max(self.ahead_ms, ahead)
            self.ahead_first = self.ahead_first or entry
        back = hlc_ms - entry.wall_ms  # the gate's own order ran ahead of its wall clock
        if back > skew_limit_ms:
            self.back += 1
            self.back_ms = max(self.back_ms, back)
            self.back_first = self.back_first or entry


def wall_ms_of(hlc: str) -> int:
    """The wall time of a hybrid timestamp, in ms since the epoch (0 when unreadable)."""
    try:
        return Timestamp.parse(hlc).wall_ms
    except ValueError:
        return 0


def hlc_time(hlc: str) -> datetime:
    return wall_time(wall_ms_of(hlc))


def wall_time(ms: int) -> datetime:
    """A time in ms since the epoch, held within what a datetime can show."""
    return datetime.fromtimestamp(min(max(ms, 0), _LAST_MS) / 1000, UTC)


def iso_seconds(at: datetime) -> str:
    return at.isoformat(timespec="seconds")
