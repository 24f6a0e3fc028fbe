"""The hub orders entries with each gate's measured clock (hub.fold.clock_order): entries a gate
stamped with a clock it then found an hour behind are folded, and counted in the daily report,
where they happened on the hub's clock.

The gates are test_hub_reconcile's `SimGate`s (the real rules core and journal, following each
other as the daemon does); the hub is the real `EventStore`, `Ingest`, `VenueState` and report.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_hub_reconcile import DAY, POLICY, Net, bind, family

from gate.core import Mode
from gate.link.protocol import Entry
from hub.fold.clock_order import ClockOrder
from hub.views.reports.daily import daily_report

HOUR_MS = 3_600_000


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    n = Net(tmp_path)
    yield n
    for g in n.gates.values():
        g.journal.close()
    n.hub.close()


def an_adult_in_at_a_gate_an_hour_behind_and_out_at_another_5_s_later(net: Net) -> str:
    net.gate("D1", Mode.BIND)
    net.gate("E1", Mode.ENTRY, offset_ms=-HOUR_MS)  # booted an hour behind, not yet measured
    net.gate("X1", Mode.EXIT)
    bind(net, "D1", "A")
    _, adult, _ = family("A")
    assert net.scan("E1", adult).code.value == "OK_ENTRY"
    net.clock.tick(5000)
    assert net.scan("X1", adult).code.value == "OK_EXIT"
    net.hub.venue.refresh()
    return adult


def clock_entry(net: Net, gate: str, from_seq: int, shift_ms: int) -> None:
    """What the gate journals once it measured its clock (gate.daemon.clock_watch), stamped
    with the hub's time it decides with from then on."""
    net.gates[gate].offset_ms += shift_ms
    net.gates[gate].journal.append("clock", {"from_seq": from_seq, "shift_ms": shift_ms})
    net.sync()
    net.clock.tick(20_000)  # the rebuild's debounce
    assert net.hub.venue.stale
    assert net.hub.venue.refresh()


def hours_of_the_report(net: Net) -> list[datetime]:
    report = daily_report(net.hub.store, DAY, POLICY.tz)
    return [h.start.astimezone(UTC) for h in report.hours]


def test_without_the_gates_measure_the_exit_comes_before_the_entry(net: Net):
    an_adult_in_at_a_gate_an_hour_behind_and_out_at_another_5_s_later(net)
    kinds = {f.kind for f in net.hub.venue.findings()}
    assert "exit_without_entry" in kinds or net.hub.venue.headcount().inside == 1
    assert len(hours_of_the_report(net)) == 2  # a row an hour before anyone came


def test_with_the_gates_measure_the_adult_is_out_and_the_report_has_one_hour(net: Net):
    adult = an_adult_in_at_a_gate_an_hour_behind_and_out_at_another_5_s_later(net)
    clock_entry(net, "E1", from_seq=1, shift_ms=HOUR_MS)

    venue = net.hub.venue
    assert venue.headcount().inside == 0
    with venue.reading() as state:
        assert state.members[adult].state.value == "exited"
    kinds = {f.kind for f in venue.findings()}
    assert not kinds & {"exit_without_entry", "unknown_reference", "move_without_entry"}, kinds
    (hour,) = hours_of_the_report(net)
    assert hour.hour == datetime.fromtimestamp(net.clock.ms / 1000, UTC).hour
    report = daily_report(net.hub.store, DAY, POLICY.tz)
    assert report.closing.inside == 0 and not report.children_inside


def test_a_restarted_hub_orders_the_same_way(net: Net, tmp_path: Path):
    an_adult_in_at_a_gate_an_hour_behind_and_out_at_another_5_s_later(net)
    clock_entry(net, "E1", from_seq=1, shift_ms=HOUR_MS)
    order = ClockOrder(net.hub.store)
    entries = list(order.entries())
    assert len(entries) == net.hub.store.counts().entries
    keys = [order.key(e) for e in entries]
    assert keys == sorted(keys)
    moved = [e for e in entries if e.gate == "E1" and e.kind == "decision"]
    assert [order.ms(e) - int(e.hlc[:12], 16) for e in moved] == [HOUR_MS]


@pytest.mark.parametrize(
    "body",
    [
        {"from_seq": 0, "shift_ms": HOUR_MS},  # no seq 0
        {"from_seq": 99, "shift_ms": HOUR_MS},  # not before the clock entry
        {"from_seq": 1, "shift_ms": "3600000"},
        {"from_seq": 1, "shift_ms": 0},
    ],
)
def test_a_clock_entry_that_names_nothing_to_move_is_ignored(net: Net, body: dict):
    net.gate("D1", Mode.BIND)
    bind(net, "D1", "A")
    order = ClockOrder(net.hub.store)
    seq = net.gates["D1"].journal.last_seq + 1
    stored = Entry(seq=seq, nonce="n" * 16, wall_ms=0, hlc="0" * 16, kind="clock", body=body)
    net.hub.store.add("D1", [stored], 0)
    (entry,) = net.hub.store.entries_of_kind("clock")
    assert order.learn(entry) is False
    assert order.ignored == 1 and not order.shifts
