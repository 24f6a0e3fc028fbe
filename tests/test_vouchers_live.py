"""Vouchers and school groups through the real daemons: `gate run` and `hub run` over Mosquitto.

- A guest leaves on a temporary exit with a voucher (printed by the exit lane's ticket printer)
  and comes back in by it at another entry gate while the broker is down; the same voucher shown
  at a third gate, also cut off, gets in too, and the hub flags it once the broker is back; a
  gate that heard of the use refuses it; a forged one is refused with its reason.
- A class of 30 children and its two teachers leaves through one lane, the children well
  beyond one pairing window behind the first teacher; a teacher reopens the window.
- The voucher's barcode through a gate's real serial scanner (a pty).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from gate_rig import ADULT, ADULT_2, CHILD, CHILD_2, STAFF, TODAY, GateRig, rigs, wait_for
from venue_rig import Venue

from gate.control.client import ask
from gate.devices.nfc.emulator import TagEmulator
from gate.devices.printer import qr_data

__all__ = ["rigs"]

WINDOW_S = 5  # the rig venue's pairing window
TEACHERS = ("04A20000000001", "04A20000000002")
PUPILS = tuple(f"04C2{i:010X}" for i in range(30))


@pytest.fixture
def venue(tmp_path: Path, fresh_broker) -> Iterator[Venue]:
    v = Venue(tmp_path, fresh_broker())
    yield v
    v.close()


def scan(v: Venue, gate: str, value: str, kind: str = "nfc", intent: str = "final") -> dict:
    request = {"cmd": "scan", "kind": kind, "value": value, "intent": intent}
    answer = ask(str(v.gates[gate].socket), request)
    assert "decision" in answer, answer
    return dict(answer["decision"])


def findings(v: Venue, kind: str) -> list[dict[str, Any]]:
    return [f for f in v.api("/api/findings") if f["kind"] == kind]


def test_a_voucher_re_admits_at_another_gate_while_the_broker_is_down(venue: Venue) -> None:
    printer = venue.root / "X1-printer"
    venue.start_hub()
    venue.start_gate("D1")
    for gate in ("E1", "E2"):
        venue.start_gate(gate)
    venue.start_gate(
        "X1",
        settings="voucher_valid_min = 120\n",
        hardware=f'[printer]\ndevice = "{printer}"\n',
    )
    assert venue.scan("D1", "T1", "barcode") == "OK_BIND"
    for band in (ADULT, CHILD):
        assert venue.scan("D1", band) == "OK_BIND"
    venue.wait_bound(("E1", "E2", "X1"), (ADULT, CHILD))
    assert venue.scan("E1", ADULT) == "OK_ENTRY" and venue.scan("E1", CHILD) == "OK_ENTRY"
    venue.wait_state("E2", (ADULT,), "inside")
    venue.wait_state("X1", (ADULT,), "inside")

    venue.broker.stop()  # every gate works on alone
    out = scan(venue, "X1", ADULT, intent="temporary")
    assert out["code"] == "OK_TEMP_EXIT"
    voucher = out["voucher"]
    assert voucher["printed"] and qr_data(printer.read_bytes()) == [voucher["code"]]
    code = voucher["code"]

    back = scan(venue, "E2", code, kind="barcode")  # E2 still believes the adult inside
    assert (back["code"], back["member"]) == ("OK_REENTRY", ADULT), back
    again = scan(venue, "E2", code, kind="barcode")
    assert again["code"] == "DENY_VOUCHER_USED", again
    elsewhere = scan(venue, "E1", code, kind="barcode")  # E1 cannot know: a second use
    assert elsewhere["code"] == "OK_REENTRY", elsewhere
    forged = scan(venue, "E1", code[:-2] + ("AA" if code[-2:] != "AA" else "BB"), "barcode")
    assert forged["code"] == "DENY_VOUCHER_FORGED" and "signature" in forged["message"]
    venue.broker.restart()

    wait_for(lambda: findings(venue, "voucher_reused"), timeout=60, what="voucher_reused")
    reused = findings(venue, "voucher_reused")
    assert len(reused) == 1 and reused[0]["uid"] == ADULT
    assert set(reused[0]["gates"]) == {"E1", "E2"}
    assert not [f for f in venue.api("/api/findings") if f["severity"] == "critical"]
    assert int(venue.api("/api/headcount")["inside"]) == 2  # the adult counted once

    # X1 heard both uses once the broker was back: the adult steps out again and its old
    # voucher is refused at a gate that never used it
    wait_for(lambda: venue.state_at("X1", ADULT) == "inside", timeout=30, what="X1 hears")
    assert scan(venue, "X1", ADULT, intent="temporary")["code"] == "OK_TEMP_EXIT"
    wait_for(lambda: venue.state_at("E1", ADULT) == "temp_out", timeout=30, what="E1 hears")
    assert scan(venue, "E1", code, kind="barcode")["code"] == "DENY_VOUCHER_USED"
    back = scan(venue, "E1", "T1", kind="barcode")  # the ticket's own code re-admits
    assert (back["code"], back["member"]) == ("OK_REENTRY", ADULT), back


def add_class(v: Venue) -> None:
    """A school class (T-3A: two teachers lead 30 children) in the venue's ticket office files."""
    allowlist = v.venue / "allowlist"
    tickets = (allowlist / "tickets.csv").read_text().splitlines()
    start, end = TODAY - timedelta(days=1), TODAY + timedelta(days=1)
    rows = [tickets[0] + ",leaders", *(r + "," for r in tickets[1:])]
    rows.append(f"T-3A,school,2,30,{start},{end},,2")
    (allowlist / "tickets.csv").write_text("\n".join(rows) + "\n")
    with (allowlist / "wristbands.csv").open("a") as bands:
        bands.writelines(f"{t},adult\n" for t in TEACHERS)
        bands.writelines(f"{p},child\n" for p in PUPILS)


def test_a_class_of_30_with_two_teachers_leaves_through_one_lane(venue: Venue) -> None:
    add_class(venue)
    venue.start_hub()
    for gate in ("D1", "E1", "X1"):
        venue.start_gate(gate)
    assert venue.scan("D1", "T-3A", "barcode") == "OK_BIND"
    for band in (*TEACHERS, *PUPILS):
        assert venue.scan("D1", band) == "OK_BIND", band
    venue.wait_bound(("E1", "X1"), (*TEACHERS, *PUPILS))
    for band in (*TEACHERS, *PUPILS):
        assert venue.scan("E1", band) == "OK_ENTRY", band
    venue.wait_state("X1", (*TEACHERS, *PUPILS), "inside")

    assert venue.scan("X1", TEACHERS[0]) == "OK_EXIT"
    started = time.monotonic()
    for pupil in PUPILS:  # a class walks out one by one, a little apart
        code = scan(venue, "X1", pupil)["code"]
        assert code == "OK_EXIT", (pupil, code)
        venue.inside[pupil] = False
        time.sleep(0.25)
    assert time.monotonic() - started > WINDOW_S  # far past one window: each child ran it on
    assert venue.scan("X1", TEACHERS[1]) == "OK_EXIT"

    reopened = scan(venue, "X1", TEACHERS[0])  # out already: the leader reopens the lane
    assert reopened["code"] == "OK_GROUP_WINDOW", reopened
    venue.wait_settled()
    assert int(venue.api("/api/headcount")["inside"]) == venue.truth() == 0
    assert not [f for f in venue.api("/api/findings") if f["severity"] == "critical"]


def test_a_voucher_through_the_serial_scanner_is_read_and_a_bad_one_refused_with_why(
    rigs: list[GateRig], tmp_path: Path
) -> None:
    gate = GateRig(tmp_path, "E1", "entry")
    rigs.append(gate.start())
    refused = gate.barcode("WV1NOTAVOUCHER0")
    assert refused["code"] == "DENY_VOUCHER_FORGED" and "malformed" in refused["message"]
    from datetime import UTC, datetime

    from gate.devices.voucher import issue_voucher

    code = issue_voucher(ADULT, datetime.now(UTC) + timedelta(hours=1), gate.keyring)
    unknown = gate.barcode(code)  # signed for a band this lone gate never saw
    assert unknown["code"] == "DENY_UNKNOWN" and ADULT in unknown["message"]
    assert gate.status()["counters"].get("voucher_rejected") == 1


def test_two_tickets_joined_at_the_desk_let_either_adult_take_either_child(venue: Venue) -> None:
    venue.start_hub()
    reader = TagEmulator("127.0.0.1", 0).start()  # the desk's, for the staff badge
    try:
        venue.start_gate("D1", reader=reader.path)
        for gate in ("E1", "X1"):
            venue.start_gate(gate)
        for ticket, bands in (("T1", (ADULT, CHILD)), ("T2", (ADULT_2, CHILD_2))):
            assert venue.scan("D1", ticket, "barcode") == "OK_BIND"
            for band in bands:
                assert venue.scan("D1", band) == "OK_BIND"
        join = {"cmd": "desk", "action": "join", "args": {"ticket": "T1", "other": "T2"}}
        unauthorised = ask(str(venue.gates["D1"].socket), join)  # no badge tapped: denied
        assert unauthorised["decision"]["code"] == "DENY_BINDING", unauthorised
        assert venue.tap("D1", reader, STAFF)["code"] == "OK_STAFF"
        joined = ask(str(venue.gates["D1"].socket), join)
        assert joined["decision"]["code"] == "OK_JOIN", joined
        at_exit = ask(str(venue.gates["X1"].socket), join)
        assert at_exit["ok"] is False and "at a desk" in at_exit["error"], at_exit  # not a lane
    finally:
        reader.stop()
    venue.wait_bound(("E1", "X1"), (ADULT, CHILD, ADULT_2, CHILD_2))
    for band in (ADULT, CHILD, ADULT_2, CHILD_2):
        assert venue.scan("E1", band) == "OK_ENTRY"
    venue.wait_state("X1", (ADULT, CHILD, ADULT_2, CHILD_2), "inside")

    assert venue.scan("X1", ADULT_2) == "OK_EXIT"  # T2's adult takes T1's child
    assert venue.scan("X1", CHILD) == "OK_EXIT"
    venue.wait_settled()
    assert int(venue.api("/api/headcount")["inside"]) == venue.truth() == 2
    assert not [f for f in venue.api("/api/findings") if f["severity"] == "critical"]
