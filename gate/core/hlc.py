"""A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014).

A Raspberry Pi has no real-time clock: after a power cut it boots with whatever time it saved
last (or 1970), then jumps when NTP syncs. Its wall clock can therefore go backwards, and a gate's
events cannot be ordered by wall time alone. A hybrid timestamp is the pair (wall_ms, counter):
`wall_ms` is the highest wall time this clock has seen, from its own wall clock or from a remote
timestamp, and `counter` orders events within that millisecond. Timestamps issued by one clock
never go backwards, and an event that follows the receipt of a remote timestamp is stamped after
it. While wall clocks agree, `wall_ms` stays close to the wall time.

The clock is pure: it reads time only through the `wall` callable it is given and keeps no global
state. Resume it from the last timestamp persisted (`last=`) and ordering holds across reboots,
whatever the wall clock says after them.

    >>> clock = HybridClock(lambda: 1_000, last=Timestamp(5_000, 3))  # wall clock went back
    >>> clock.now()
    Timestamp(wall_ms=5000, counter=4)
    >>> str(clock.observe(Timestamp.parse("0000000013880009")))
    '000000001388000a'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

WALL_BITS, COUNTER_BITS = 48, 16  # 48 bits of milliseconds last until the year 10889
MAX_WALL_MS = (1 << WALL_BITS) - 1
MAX_COUNTER = (1 << COUNTER_BITS) - 1
_TEXT_LENGTH = (WALL_BITS + COUNTER_BITS) // 4
_HEX_DIGITS = frozenset("0123456789abcdef")
DEFAULT_MAX_DRIFT_MS = 5 * 60 * 1000


@dataclass(frozen=True, order=True, slots=True)
class Timestamp:
    """A hybrid timestamp, ordered by `wall_ms` then `counter`.

    `str()` gives 16 lower-case hex digits (12 for `wall_ms`, 4 for `counter`) that sort as the
    timestamps do, so SQLite and MQTT consumers can compare them as text; `parse` reads them back.
    """

    wall_ms: int
    counter: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.wall_ms <= MAX_WALL_MS:
            raise ValueError(f"wall_ms out of range 0..{MAX_WALL_MS}: {self.wall_ms}")
        if not 0 <= self.counter <= MAX_COUNTER:
            raise ValueError(f"counter out of range 0..{MAX_COUNTER}: {self.counter}")

    def __str__(self) -> str:
        return f"{self.wall_ms:012x}{self.counter:04x}"

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """The timestamp `str()` wrote; ValueError for anything else (upper case included: it
        would not sort with the rest)."""
        if len(text) != _TEXT_LENGTH or not _HEX_DIGITS.issuperset(text):
            raise ValueError(f"not a hybrid timestamp (16 lower-case hex digits): {text!r}")
        return cls(int(text[:12], 16), int(text[12:], 16))

    def successor(self) -> Timestamp:
        """The next timestamp: the counter plus one, carried into `wall_ms` when it is full."""
        if self.counter < MAX_COUNTER:
            return Timestamp(self.wall_ms, self.counter + 1)
        return Timestamp(self.wall_ms + 1, 0)


ZERO = Timestamp(0, 0)


class ClockDriftError(ValueError):
    """A remote timestamp too far ahead of this clock: it was not merged, the clock is unchanged.

    Taking it would drag every later timestamp of this gate that far into the future.
    """

    def __init__(self, remote: Timestamp, reference_ms: int, max_drift_ms: int) -> None:
        self.remote = remote
        self.reference_ms = reference_ms
        self.max_drift_ms = max_drift_ms
        self.ahead_ms = remote.wall_ms - reference_ms
        super().__init__(
            f"remote timestamp {remote} is {self.ahead_ms} ms ahead of this clock "
            f"(at {reference_ms} ms), more than the {max_drift_ms} ms allowed: ignored"
        )


class HybridClock:
    """Issues hybrid timestamps that never go backwards.

    `wall` returns the wall time in milliseconds since the epoch. `last` is the last timestamp
    issued before a restart: every timestamp issued now follows it. `max_drift_ms` bounds how far
    ahead of this clock a remote timestamp may be (see `observe`).

    One thread owns a clock; it does no locking.
    """

    def __init__(
        self,
        wall: Callable[[], int],
        *,
        last: Timestamp = ZERO,
        max_drift_ms: int = DEFAULT_MAX_DRIFT_MS,
    ) -> None:
        if max_drift_ms < 0:
            raise ValueError(f"max_drift_ms must be >= 0: {max_drift_ms}")
        self._wall = wall
        self._last = last
        self.max_drift_ms = max_drift_ms

    @property
    def last(self) -> Timestamp:
        """The last timestamp issued (or resumed from)."""
        return self._last

    def now(self) -> Timestamp:
        """A timestamp for a local event (or a message sent)."""
        return self.tick(self._wall())

    def observe(self, remote: Timestamp) -> Timestamp:
        """Merge a timestamp received from elsewhere; returns the timestamp of the receipt, after
        both `remote` and every timestamp issued so far.

        Raises `ClockDriftError`, leaving the clock unchanged, when `remote` is more than
        `max_drift_ms` ahead of the later of the wall clock and the last timestamp. Measuring from
        the last timestamp means a gate that rebooted with its clock in the past still accepts
        its peers' time when it was down for less than the drift allowed; after a longer outage
        it refuses them until NTP sets its clock, and its own timestamps stay in order meanwhile.
        The guard stops a jump (a peer hours or years ahead), not a peer whose clock creeps
        ahead by less than the drift at each message.
        """
        return self.merge(remote, self._wall())

    def tick(self, wall_ms: int) -> Timestamp:
        """`now()` with the wall time given: the pure step (the journal reads the wall clock once
        and stores the same reading next to the timestamp)."""
        physical = _clamp(wall_ms)
        last = self._last
        self._last = Timestamp(physical, 0) if physical > last.wall_ms else last.successor()
        return self._last

    def merge(self, remote: Timestamp, wall_ms: int) -> Timestamp:
        """`observe()` with the wall time given: the pure step."""
        physical = _clamp(wall_ms)
        last = self._last
        reference = max(physical, last.wall_ms)
        if remote.wall_ms - reference > self.max_drift_ms:
            raise ClockDriftError(remote, reference, self.max_drift_ms)
        if physical > last.wall_ms and physical > remote.wall_ms:
            self._last = Timestamp(physical, 0)
        else:
            self._last = max(last, remote).successor()
        return self._last


def _clamp(wall_ms: int) -> int:
    """A wall reading a timestamp can hold (a clock set before 1970 reads as 1970)."""
    return min(max(wall_ms, 0), MAX_WALL_MS)
