"""Gates whose clocks are wrong, as real `gate run` processes (`venue.shifted_gate`) in a venue
of real processes: the hub publishes its time, each gate measures its offset and, beyond the
bound, decides and stamps with the hub's time (gate.daemon.clock_watch); the hub shows the
gate's clock as a critical alert (hub.views.clock_alerts).

The two cases of a Raspberry Pi with no real-time clock: one an hour ahead must refuse no valid
visitor; one an hour behind must leave the headcount and the daily report right.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gate_rig import ADULT, CHILD, wait_for
from venue_rig import Venue

from deploy.broker_process import free_port
from gate.control.client import ask

HOUR_S = 3600.0


@pytest.fixture
def venue(tmp_path: Path, fresh_broker) -> Iterator[Venue]:
    v = Venue(tmp_path, fresh_broker())
    yield v
    v.close()


def closing_in_half_an_hour(v: Venue) -> None:
    """The venue opened two hours ago and closes in 30 minutes (UTC): a clock an hour ahead
    reads after closing."""
    now = datetime.now(UTC)
    opens, closes = now - timedelta(hours=2), now + timedelta(minutes=30)
    (v.venue / "policy.toml").write_text(
        f'timezone = "UTC"\nopen = "{opens:%H:%M}"\nclose = "{closes:%H:%M}"\n'
        "capacity = 100\npairing_window_s = 5\n"
    )


def corrected(v: Venue, gate: str) -> dict:
    """Until `gate` says it decides with the hub's time; its clock as `gatectl status` has it."""
    try:
        wait_for(lambda: v.gate_status(gate)["clock"]["corrected"], timeout=30, what="correction")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {gate}'s log: {v.gates[gate].tail()}") from None
    return v.gate_status(gate)["clock"]


def clock_alerts(v: Venue) -> list[dict]:
    return [a for a in v.api("/api/alerts") if a["kind"] == "gate_clock"]


def bind_family(v: Venue) -> None:
    assert v.scan("D1", "T1", "barcode") == "OK_BIND"
    assert v.scan("D1", ADULT) == "OK_BIND"
    assert v.scan("D1", CHILD) == "OK_BIND"


def test_a_gate_an_hour_ahead_refuses_no_valid_visitor(venue):
    closing_in_half_an_hour(venue)
    venue.start_hub()
    venue.start_gate("D1")
    venue.start_gate("E1", clock_offset_s=0)  # right, on the venue's network
    bind_family(venue)
    venue.wait_bound(("E1",), (ADULT, CHILD))
    venue.gates["E1"].stop()

    # restarted an hour ahead and cut off: its own clock decides, and reads after closing
    venue.start_gate("E1", broker_port=free_port(), clock_offset_s=HOUR_S)
    dry = {"cmd": "scan", "kind": "nfc", "value": ADULT, "dry_run": True}
    answer = ask(str(venue.gates["E1"].socket), dry)
    assert answer["decision"]["code"] == "DENY_CLOSED", answer
    assert not venue.gate_status("E1")["clock"]["corrected"]
    venue.gates["E1"].stop()

    venue.start_gate("E1", clock_offset_s=HOUR_S)  # back on the network: it hears the hub
    clock = corrected(venue, "E1")
    assert -HOUR_S * 1000 - 500 < clock["offset_ms"] < -HOUR_S * 1000 + 500  # hub minus gate
    assert clock["source"] == "hub" and "decides with the hub's time" in clock["summary"]
    assert venue.scan("E1", ADULT) == "OK_ENTRY"
    assert venue.scan("E1", CHILD) == "OK_ENTRY"
    assert "decides with the hub's time" in venue.gates["E1"].log.read_text()

    wait_for(lambda: clock_alerts(venue), timeout=20, what="the gate_clock alert")
    (alert,) = clock_alerts(venue)
    assert (
        alert["level"] == "critical" and "E1" in alert["text"] and "3600 s ahead" in alert["text"]
    )
    venue.wait_settled()
    assert venue.api("/api/headcount")["inside"] == venue.truth() == 2
    refused = ask(str(venue.hub.socket), {"cmd": "status"})["refused"]
    assert not refused, refused  # its entries were stamped with the hub's time, not an hour ahead


def test_a_gate_an_hour_behind_leaves_the_headcount_and_the_report_right(venue):
    venue.start_hub()
    venue.start_gate("E1", clock_offset_s=-HOUR_S)
    started = datetime.now(UTC)
    clock = corrected(venue, "E1")
    # the others speak once E1 has measured: before it, E1 would refuse their entries as an
    # hour ahead of its clock (peer_refused.clock_ahead), a limit docs/day.md names
    venue.start_gate("D1")
    venue.start_gate("X1")
    assert HOUR_S * 1000 - 500 < clock["offset_ms"] < HOUR_S * 1000 + 500
    bind_family(venue)
    venue.wait_bound(("E1", "X1"), (ADULT, CHILD))

    assert venue.scan("E1", ADULT) == "OK_ENTRY"
    entered = time.monotonic()
    venue.wait_state("X1", (ADULT,))
    time.sleep(max(0.0, 5.0 - (time.monotonic() - entered)))  # the case: out 5 s later
    assert venue.scan("X1", ADULT) == "OK_EXIT"
    venue.wait_settled()

    assert venue.api("/api/headcount")["inside"] == venue.truth() == 0
    kinds = {f["kind"] for f in venue.api("/api/findings")}
    assert not kinds & {"exit_without_entry", "double_entry", "move_without_entry"}, kinds
    report = venue.api(f"/api/reports/daily?date={started.date()}")
    assert report["closing"]["inside"] == 0 and not report["children_inside"]
    hours = {datetime.fromisoformat(h["start"]) for h in report["hours"]}
    first = started.replace(minute=0, second=0, microsecond=0)
    assert hours <= {first, first + timedelta(hours=1)}, report["hours"]  # no 18:00 row at 19:xx
    (alert,) = clock_alerts(venue)
    assert "E1" in alert["text"] and "3600 s behind" in alert["text"]
    # what E1 journalled before it heard the hub (its allowlist from the hub) it then said
    # was stamped an hour early: the hub ordered it an hour later (hub.fold.clock_order)
    journal = ask(str(venue.gates["E1"].socket), {"cmd": "journal", "after": 0})["entries"]
    shifts = [e["body"] for e in journal if e["kind"] == "clock"]
    assert [round(s["shift_ms"] / 1000 / 60) for s in shifts] == [60], journal
    status = venue.gate_status("E1")
    assert status["clock"]["corrected"] and status["clock"]["bound_ms"] == 2000
