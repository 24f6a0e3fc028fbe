"""The hybrid logical clock: never backwards whatever the wall clock does, merges remote time,
refuses a remote clock that is wildly ahead, and its text form sorts like its timestamps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.core.hlc import (
    MAX_COUNTER,
    MAX_WALL_MS,
    ClockDriftError,
    HybridClock,
    Timestamp,
)

JULY_2026 = 1_784_000_000_000  # ms since the epoch
DRIFT = 60_000

# Wall readings that repeat, creep, jump back to 1970 and leap forward.
walls = st.one_of(
    st.integers(0, 20),
    st.integers(JULY_2026, JULY_2026 + 200),
    st.integers(JULY_2026 - DRIFT * 3, JULY_2026 + DRIFT * 3),
    st.integers(0, MAX_WALL_MS // 2),  # the text form holds times until the year 10889
)
timestamps = st.builds(Timestamp, walls, st.integers(0, MAX_COUNTER))
# Each step is a local event (None) or the receipt of a remote timestamp, at a wall reading.
steps = st.lists(st.tuples(walls, st.none() | timestamps), min_size=1, max_size=60)


class Wall:
    """A wall clock the test sets by hand."""

    def __init__(self, ms: int = JULY_2026) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def run(
    clock: HybridClock, wall: Wall, plan: list[tuple[int, Timestamp | None]]
) -> Iterator[tuple[Timestamp, Timestamp, Timestamp | None]]:
    """Play `plan`; yields (timestamp before, timestamp issued, remote) for each step that issued
    one. A remote refused for drift issues none."""
    for reading, remote in plan:
        wall.ms = reading
        before = clock.last
        try:
            issued = clock.now() if remote is None else clock.observe(remote)
        except ClockDriftError:
            assert clock.last == before, "a refused remote must leave the clock unchanged"
            continue
        yield before, issued, remote


# --- properties -------------------------------------------------------------------------------


@given(steps)
def test_timestamps_never_go_backwards_whatever_the_wall_clock_does(
    plan: list[tuple[int, Timestamp | None]],
) -> None:
    wall = Wall()
    clock = HybridClock(wall, max_drift_ms=DRIFT)
    for before, issued, _ in run(clock, wall, plan):
        assert issued > before
        assert clock.last == issued


@given(steps)
def test_a_timestamp_is_never_behind_the_wall_clock_it_was_issued_at(
    plan: list[tuple[int, Timestamp | None]],
) -> None:
    wall = Wall()
    clock = HybridClock(wall, max_drift_ms=DRIFT)
    for _, issued, _ in run(clock, wall, plan):
        assert issued.wall_ms >= wall.ms


@given(steps)
def test_observe_stamps_the_receipt_after_the_remote_timestamp(
    plan: list[tuple[int, Timestamp | None]],
) -> None:
    wall = Wall()
    clock = HybridClock(wall, max_drift_ms=DRIFT)
    for _, issued, remote in run(clock, wall, plan):
        if remote is not None:
            assert issued > remote


@given(steps)
def test_one_remote_moves_the_clock_at_most_the_drift_allowed_ahead(
    plan: list[tuple[int, Timestamp | None]],
) -> None:
    wall = Wall()
    clock = HybridClock(wall, max_drift_ms=DRIFT)
    for before, issued, _ in run(clock, wall, plan):
        reference = max(wall.ms, before.wall_ms)
        assert issued.wall_ms <= reference + DRIFT + 1  # + 1: a full counter carries over


@given(timestamps, st.integers(1, 10**9))
def test_the_clock_takes_the_wall_time_when_the_wall_clock_is_ahead(
    last: Timestamp, ahead_ms: int
) -> None:
    reading = last.wall_ms + ahead_ms
    clock = HybridClock(lambda: reading, last=last)
    assert clock.now() == Timestamp(reading, 0)


@given(timestamps, timestamps)
def test_text_form_sorts_like_the_timestamps(a: Timestamp, b: Timestamp) -> None:
    assert (str(a) < str(b)) == (a < b)
    assert (str(a) == str(b)) == (a == b)


@given(timestamps)
def test_text_form_parses_back(ts: Timestamp) -> None:
    assert Timestamp.parse(str(ts)) == ts
    assert len(str(ts)) == 16


# --- examples ---------------------------------------------------------------------------------


def test_a_clock_resumed_after_a_reboot_into_1970_stamps_after_its_last_timestamp() -> None:
    last = Timestamp(JULY_2026, 7)
    clock = HybridClock(lambda: 0, last=last)
    assert clock.now() == Timestamp(JULY_2026, 8)
    assert clock.now() == Timestamp(JULY_2026, 9)


def test_the_clock_catches_up_when_ntp_moves_the_wall_clock_past_its_timestamps() -> None:
    wall = Wall(0)
    clock = HybridClock(wall, last=Timestamp(JULY_2026, 7))
    clock.now()
    wall.ms = JULY_2026 + 5_000
    assert clock.now() == Timestamp(JULY_2026 + 5_000, 0)


def test_a_wall_clock_going_back_keeps_the_highest_time_seen_and_counts() -> None:
    wall = Wall(JULY_2026)
    clock = HybridClock(wall)
    assert clock.now() == Timestamp(JULY_2026, 0)
    wall.ms = JULY_2026 - 3_600_000
    assert clock.now() == Timestamp(JULY_2026, 1)
    assert clock.now() == Timestamp(JULY_2026, 2)


def test_a_full_counter_carries_into_the_next_millisecond() -> None:
    clock = HybridClock(lambda: 0, last=Timestamp(JULY_2026, MAX_COUNTER))
    assert clock.now() == Timestamp(JULY_2026 + 1, 0)


def test_observe_takes_a_remote_clock_that_is_ahead_within_the_drift() -> None:
    clock = HybridClock(lambda: JULY_2026, max_drift_ms=DRIFT)
    remote = Timestamp(JULY_2026 + DRIFT, 3)
    assert clock.observe(remote) == Timestamp(JULY_2026 + DRIFT, 4)
    assert clock.now() == Timestamp(JULY_2026 + DRIFT, 5)


def test_observe_keeps_the_local_wall_time_when_the_remote_is_behind() -> None:
    clock = HybridClock(lambda: JULY_2026)
    assert clock.observe(Timestamp(JULY_2026 - 10, 40)) == Timestamp(JULY_2026, 0)


def test_observe_refuses_a_wildly_future_remote_and_says_why() -> None:
    clock = HybridClock(lambda: JULY_2026, max_drift_ms=DRIFT)
    before = clock.now()
    remote = Timestamp(JULY_2026 + 365 * 86_400_000, 0)  # a peer whose clock is a year ahead

    with pytest.raises(ClockDriftError) as refused:
        clock.observe(remote)

    assert refused.value.remote == remote
    assert refused.value.ahead_ms == 365 * 86_400_000
    assert refused.value.max_drift_ms == DRIFT
    assert str(remote) in str(refused.value)
    assert clock.last == before
    assert clock.now() == Timestamp(JULY_2026, 1)


def test_drift_is_measured_from_the_last_timestamp_when_the_wall_clock_is_in_1970() -> None:
    """A gate that rebooted into 1970 still takes its peers' time, which is close to its own
    last timestamp."""
    clock = HybridClock(lambda: 0, last=Timestamp(JULY_2026, 0), max_drift_ms=DRIFT)
    assert clock.observe(Timestamp(JULY_2026 + 30_000, 2)) == Timestamp(JULY_2026 + 30_000, 3)


def test_a_wall_clock_before_1970_reads_as_1970() -> None:
    assert HybridClock(lambda: -5_000).now().wall_ms == 0


@pytest.mark.parametrize(
    "text",
    ["", "0198a3f2c4e1000", "0198a3f2c4e100000", "0198A3F2C4E10000", "0198a3f2c4e1000g", " " * 16],
)
def test_parse_refuses_anything_but_16_lower_case_hex_digits(text: str) -> None:
    with pytest.raises(ValueError, match="not a hybrid timestamp"):
        Timestamp.parse(text)


@pytest.mark.parametrize(
    ("wall_ms", "counter"), [(-1, 0), (MAX_WALL_MS + 1, 0), (0, -1), (0, MAX_COUNTER + 1)]
)
def test_timestamp_refuses_values_its_text_form_cannot_hold(wall_ms: int, counter: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        Timestamp(wall_ms, counter)
