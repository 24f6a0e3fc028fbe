"""A gate's clock measured against the hub's: the offset estimate (gate.link.hub_time) and what
the gate decides with (gate.daemon.clock_watch), on clocks the tests move."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gate.daemon.clock_watch import ClockWatch, ntp_state
from gate.link.hub_time import JUMP_SAMPLES, WINDOW_S, OffsetEstimate

H = 1_800_000_000_000  # the hub's clock, ms
HOUR = 3_600_000


def sample_with_delays(est: OffsetEstimate, offset: int, delays: list[int], start_s: float = 0.0):
    """The hub sends once a second; each message takes `delay` ms to reach the gate."""
    for i, delay in enumerate(delays):
        sent = H + i * 1000
        est.sample(sent, sent + delay - offset, start_s + i)
    return est.offset_ms


def test_the_estimate_is_the_fastest_message_never_above_the_true_offset():
    est = OffsetEstimate()
    got = sample_with_delays(est, HOUR, [40, 12, 250, 3, 90])
    assert got == HOUR - 3  # low by the smallest delay, never high


@pytest.mark.parametrize("offset", [HOUR, -HOUR, 0, 1500])
def test_the_estimate_is_within_the_smallest_delay_ahead_or_behind(offset: int):
    est = OffsetEstimate()
    assert 0 <= offset - sample_with_delays(est, offset, [7, 5, 9]) <= 5


def test_one_slow_message_does_not_move_the_estimate():
    est = OffsetEstimate()
    sample_with_delays(est, 0, [2, 2, 3000, 2])
    assert est.offset_ms == -2


def test_a_clock_stepped_forward_is_measured_again_after_a_few_messages():
    est = OffsetEstimate()
    sample_with_delays(est, HOUR, [2] * 5)
    # NTP steps the gate's clock an hour forward: the samples fall an hour lower
    sample_with_delays(est, 0, [2] * (JUMP_SAMPLES - 1), start_s=5)
    assert est.offset_ms == HOUR - 2  # not yet: one slow message looks the same
    sample_with_delays(est, 0, [2], start_s=5 + JUMP_SAMPLES)
    assert est.offset_ms == -2


def test_a_clock_stepped_back_is_measured_at_once():
    est = OffsetEstimate()
    sample_with_delays(est, 0, [2] * 3)
    sample_with_delays(est, HOUR, [2], start_s=3)
    assert est.offset_ms == HOUR - 2


def test_old_samples_leave_the_window():
    est = OffsetEstimate()
    est.sample(H, H - 500, 0.0)  # 500 ms offset, no delay
    est.sample(H + 1000, H + 1000 + 100 - 400, WINDOW_S + 1)  # 400 ms now, 100 ms delay
    assert est.offset_ms == 300


def test_a_hub_clock_never_set_is_no_reference():
    est = OffsetEstimate()
    assert est.sample(5_000, H, 0.0) is None


class Clocks:
    """The gate's system clock and monotonic clock, moved by the test."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.hub = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
        self.offset = offset  # gate minus hub
        self.mono = 100.0

    def raw(self) -> datetime:
        return self.hub + self.offset

    def monotonic(self) -> float:
        return self.mono

    def tick(self, s: float = 1.0) -> None:
        self.hub += timedelta(seconds=s)
        self.mono += s

    def hub_ms(self) -> int:
        return int(self.hub.timestamp() * 1000)


def watch(tmp_path: Path, clocks: Clocks, boot: str = "boot-1") -> ClockWatch:
    return ClockWatch(
        clocks.raw,
        tmp_path / "clock.json",
        2.0,
        monotonic=clocks.monotonic,
        ntp=lambda: "synchronized",
        boot=lambda: boot,
    )


def test_within_the_bound_the_gates_own_clock_decides(tmp_path: Path):
    clocks = Clocks(timedelta(seconds=1.5))
    w = watch(tmp_path, clocks)
    assert w.heard(clocks.hub_ms(), clocks.mono, last_seq=0) is False
    assert not w.corrected and w.now() == clocks.raw()
    assert "its own clock decides" in w.describe()


def test_beyond_the_bound_it_decides_with_the_hubs_time(tmp_path: Path):
    clocks = Clocks(timedelta(hours=-1))  # an hour behind
    w = watch(tmp_path, clocks)
    assert w.now() == clocks.raw()  # not measured yet
    assert w.heard(clocks.hub_ms(), clocks.mono, last_seq=0) is True
    assert w.corrected and w.now() == clocks.hub
    status = w.status()
    assert (status.offset_ms, status.corrected, status.ntp) == (HOUR, True, "synchronized")
    assert "3600.0 s behind the hub's" in w.describe()


def test_entries_stamped_before_the_measure_are_named_for_the_hub(tmp_path: Path):
    clocks = Clocks(timedelta(hours=-1))
    w = watch(tmp_path, clocks)
    w.good_through = 4  # journalled in an earlier run: not this clock's to judge
    w.heard(clocks.hub_ms(), clocks.mono, last_seq=7)  # 5, 6, 7 stamped an hour early
    assert w.take_shift() == (5, HOUR)
    assert w.take_shift() is None
    w.good_through = 8  # the clock entry, stamped right
    clocks.tick()
    w.heard(clocks.hub_ms(), clocks.mono, last_seq=9)
    assert w.take_shift() is None and w.good_through == 9


def test_a_clock_stepped_right_by_ntp_moves_the_offset_at_once(tmp_path: Path):
    clocks = Clocks(timedelta(hours=-1))
    w = watch(tmp_path, clocks)
    w.heard(clocks.hub_ms(), clocks.mono, last_seq=0)
    assert w.corrected and w.now() == clocks.hub
    clocks.offset = timedelta(0)  # NTP steps the system clock an hour forward
    assert w.now() == clocks.hub  # not two hours ahead until the next messages
    assert not w.corrected and w.offset_ms == 0


def test_a_slow_slew_is_no_step(tmp_path: Path):
    clocks = Clocks()
    w = watch(tmp_path, clocks)
    w.heard(clocks.hub_ms(), clocks.mono, last_seq=0)
    for _ in range(20):  # 0.1 s a time: two seconds in all, never a step
        clocks.offset += timedelta(milliseconds=100)
        w.now()
    assert w.offset_ms == 0


def test_the_offset_is_kept_for_a_restart_in_the_same_boot(tmp_path: Path):
    clocks = Clocks(timedelta(hours=1))  # an hour ahead
    watch(tmp_path, clocks).heard(clocks.hub_ms(), clocks.mono, last_seq=0)
    kept = json.loads((tmp_path / "clock.json").read_text())
    assert kept["offset_ms"] == -HOUR and kept["boot"] == "boot-1"
    clocks.tick(300)
    again = watch(tmp_path, clocks)  # restarted, no broker
    assert again.corrected and again.now() == clocks.hub
    assert again.source() == "kept" and again.age_s() == pytest.approx(300, abs=1)
    rebooted = watch(tmp_path, clocks, boot="boot-2")
    assert not rebooted.corrected and rebooted.offset_ms is None
    assert "before the last boot" in rebooted.kept_note


def test_an_unreadable_kept_offset_is_measured_again(tmp_path: Path):
    (tmp_path / "clock.json").write_text("{not json")
    clocks = Clocks(timedelta(hours=1))
    w = watch(tmp_path, clocks)
    assert w.offset_ms is None and not w.corrected


def test_ntp_state_is_read_from_the_kernel():
    assert ntp_state() in ("synchronized", "unsynchronized", "unknown")
