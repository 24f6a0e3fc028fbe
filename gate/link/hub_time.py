"""A gate's clock measured against the hub's: the offset estimate (pure: no clock of its own).

The hub publishes its wall clock on `hub/time` every second (`HubTime`, never retained). A
message sent at hub time `H` reaches the gate `d` later, when the gate's clock reads
`G = H + d - offset` (offset: hub minus gate). So each sample `H - G = offset - d` is low by the
delay `d` (never negative), and the largest recent sample, the one that travelled fastest, is the
best estimate: it is low by at most the smallest delay seen, a few milliseconds on a venue's LAN
(the broker relays at once). The estimate keeps the samples of the last WINDOW_S seconds.

A clock that jumps (NTP stepping it, a technician's `date -s`) makes the old samples wrong. The
gate sees a step at once against its monotonic clock and moves the samples with it (`stepped`);
failing that, when JUMP_SAMPLES samples in a row fall more than JUMP_MS below the estimate, the
clock has moved forward and the estimate starts again from them; a sample above it (the clock
went back) raises it at once.

    >>> est, h = OffsetEstimate(), 1_800_000_000_000
    >>> est.sample(hub_ms=h, gate_ms=h - 3_590, at_s=0.0)  # gate 3.6 s behind, 10 ms delay
    3590
    >>> est.sample(hub_ms=h + 1_000, gate_ms=h + 1_000 - 3_598, at_s=1.0)  # 2 ms: the better
    3598
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW_S = 30.0
JUMP_MS = 1000
JUMP_SAMPLES = 3
EARLIEST_HUB_MS = 1_735_689_600_000  # 2025-01-01: a hub clock before it was never set


@dataclass
class OffsetEstimate:
    """The hub's clock minus this gate's, in ms, from the hub's time messages."""

    window_s: float = WINDOW_S
    jump_ms: int = JUMP_MS
    samples: deque[tuple[float, int]] = field(default_factory=deque)  # (at_s, hub - gate)
    lows: list[tuple[float, int]] = field(default_factory=list)  # in a row, far below it
    measured_at_s: float | None = None  # `at_s` of the last sample taken

    @property
    def offset_ms(self) -> int | None:
        return max(s for _, s in self.samples) if self.samples else None

    def stepped(self, ms: int) -> None:
        """The gate's clock was stepped `ms` forward (seen against a monotonic clock): every
        sample so far is that much too high."""
        self.samples = deque((at, v - ms) for at, v in self.samples)
        self.lows = [(at, v - ms) for at, v in self.lows]

    def sample(self, hub_ms: int, gate_ms: int, at_s: float) -> int | None:
        """Take one hub time message, `hub_ms` as sent, read when this gate's clock said
        `gate_ms`, at `at_s` on a monotonic clock; returns the estimate. A hub clock that was
        never set (before 2025) is no reference: ignored."""
        if hub_ms < EARLIEST_HUB_MS:
            return self.offset_ms
        value = hub_ms - gate_ms
        while self.samples and self.samples[0][0] < at_s - self.window_s:
            self.samples.popleft()
        current = self.offset_ms
        if current is not None and value < current - self.jump_ms:
            self.lows.append((at_s, value))
            if len(self.lows) < JUMP_SAMPLES:  # one slow message, or the clock moved forward?
                return current
            self.samples = deque(self.lows)  # moved: only the samples since the jump count
            self.lows = []
            self.measured_at_s = at_s
            return self.offset_ms
        self.lows = []
        self.samples.append((at_s, value))
        self.measured_at_s = at_s
        return self.offset_ms
