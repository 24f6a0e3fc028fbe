"""The desk's band stock recorded at the desk, end to end: a real Mosquitto, `hub run`, and `gate
run` for the desk D1 (an emulated reader the staff badge is tapped on), the entry E1, the exit
X1 and the handheld H1 (the `desk` venue of tests/test_desk_records_live.py).

- `gatectl stock take|write-off --count N` with the badge tapped: journalled with the badge, and
  the hub keeps the record in the day's stock sheet, by "D1 (staff Duty Manager)"; with no
  badge: refused, saying to tap it.
- `gatectl stock return --band UID` of a band whose wearer left for a while and hands it back:
  every gate holds its member as gone for good (the entry gate refuses the band, the desk no
  longer calls it bound), the sheet counts it returned and no longer still out. A band inside,
  or handed back already, is refused with the reason.
- The console's forms in a real Chromium, in Chinese: a write-off recorded, a band still inside
  refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import test_desk_records_live as records
from browser import Browser, missing
from gate_rig import ADULT, ADULT_2, CHILD, CHILD_2, STAFF
from test_desk_console import Desk
from test_desk_records_live import gatectl
from test_deskday_live import hub_json

from gate.control.client import ask

desk = records.desk  # the venue: the hub, D1 and H1 with their readers, E1, X1; T1 inside


def asked(desk: Desk, *args: str) -> dict[str, Any]:
    """A stock action at D1 with the staff badge tapped just before: its decision."""
    assert desk.tap(STAFF)["code"] == "OK_STAFF"
    done = gatectl(desk.venue.gates["D1"].socket, "--json", "stock", *args)
    assert done.returncode in (0, 1), done
    return dict(json.loads(done.stdout)["decision"])


def test_the_desk_records_its_stock_and_takes_back_a_band_after_a_temporary_exit(
    desk: Desk,
) -> None:
    v = desk.venue
    no_badge = gatectl(v.gates["D1"].socket, "stock", "take", "--count", "50", "--shift", "AM")
    assert no_badge.returncode == 1 and "tap a staff badge" in no_badge.stdout, no_badge
    taken = asked(desk, "take", "--count", "50", "--shift", "AM")
    assert (taken["code"], taken["staff"]) == ("OK_REGISTERED", STAFF), taken

    # T2 bound from that stock; its adult goes in, then out for a while, and hands the band back
    assert v.scan("D1", "T2", "barcode") == "OK_BIND"
    assert [v.scan("D1", b) for b in (ADULT_2, CHILD_2)] == ["OK_BIND", "OK_BIND"]
    v.wait_bound(("E1",), (ADULT_2,))
    assert v.scan("E1", ADULT_2) == "OK_ENTRY"
    v.wait_state("X1", (ADULT_2,))
    assert v.scan("X1", ADULT_2, intent="temporary") == "OK_TEMP_EXIT"
    v.wait_state("D1", (ADULT_2,), "temp_out")

    inside = asked(desk, "return", "--band", CHILD)
    assert inside["code"] == "DENY_BINDING" and "inside" in inside["message"], inside
    back = asked(desk, "return", "--band", ADULT_2.lower())
    assert (back["code"], back["group"], back["staff"]) == ("OK_REGISTERED", "T2", STAFF), back
    again = asked(desk, "return", "--band", ADULT_2)
    assert again["code"] == "DENY_ALREADY_EXITED", again
    written = asked(desk, "write-off", "--count", "2", "--reason", "broken clasp")
    assert written["code"] == "OK_REGISTERED", written
    no_reason = gatectl(v.gates["D1"].socket, "stock", "write-off", "--count", "2")
    assert no_reason.returncode == 1 and "written off (broken clasp" in no_reason.stderr

    for gate in ("E1", "X1", "H1"):  # every gate hears the desk: its member left for good
        v.wait_state(gate, (ADULT_2,), "exited")
    assert v.scan("E1", ADULT_2) == "DENY_ALREADY_EXITED"
    scan = {"cmd": "scan", "kind": "nfc", "value": ADULT_2, "intent": "final", "dry_run": True}
    rebound = ask(str(v.gates["D1"].socket), scan)["decision"]  # free for the next family
    assert "already bound" not in rebound["message"], rebound

    v.wait_settled()
    balance = hub_json(v, "stock")
    shifts = {(s["desk"], s["shift"]): s for s in balance["shifts"]}
    am = shifts[("D1", "AM")]
    assert (am["taken"], am["issued"], am["returned"], am["written_off"]) == (50, 2, 1, 2), am
    assert am["on_hand"] == 47 and shifts[("D1", "")]["issued"] == 2  # T1, before any stock
    assert balance["handed_back"] == [ADULT_2]

    report = v.api("/api/reports/daily")
    bands = report["wristbands"]
    assert bands["handed_back"] == [ADULT_2] and ADULT_2 not in {
        b["uid"] for b in bands["still_out"]
    }
    assert {b["uid"] for b in bands["still_out"]} == {ADULT, CHILD, CHILD_2}
    kept = [(r["kind"], r["count"], r["band"], r["by"]) for r in bands["stock_records"]]
    by = "D1 (staff Duty Manager)"
    assert kept == [("taken", 50, "", by), ("returned", 1, ADULT_2, by), ("written_off", 2, "", by)]
    stocked = [a for a in report["desk_actions"] if a["code"] == "OK_REGISTERED"]
    assert len(stocked) == 3 and all(a["staff"] == STAFF for a in stocked), stocked


@pytest.mark.skipif(missing() is not None, reason=str(missing()))
def test_the_console_page_records_stock_in_chinese_and_refuses_a_band_still_inside(
    desk: Desk, tmp_path: Path
) -> None:
    v = desk.venue
    browser = Browser(tmp_path / "profile", width=1024, height=768, log=tmp_path / "driver.log")
    outcome = "return document.getElementById('outcome').className"
    try:
        desk.open_console(browser, "zh-CN")
        form = "return document.querySelector(`form[data-action='stock']`).textContent"
        shown = str(browser.js(form))
        assert "手环库存" in shown and "报损" in shown and "班次" in shown, shown

        assert desk.tap(STAFF)["code"] == "OK_STAFF"
        written = {"kind": "written_off", "count": "2", "shift": "PM", "reason": "broken clasp"}
        desk.submit(browser, "stock", written)
        browser.wait(lambda: "OK_REGISTERED" in browser.text("outcome"), what="the write-off")
        assert "outcome-granted" in str(browser.js(outcome))
        v.wait_settled()
        (pm,) = [s for s in hub_json(v, "stock")["shifts"] if s["shift"] == "PM"]
        assert (pm["desk"], pm["written_off"], pm["on_hand"]) == ("D1", 2, -2), pm

        assert desk.tap(STAFF)["code"] == "OK_STAFF"
        desk.submit(browser, "hand_back", {"band": CHILD})
        browser.wait(lambda: "DENY_BINDING" in browser.text("outcome"), what="the refusal")
        assert "outcome-denied" in str(browser.js(outcome)) and "inside" in browser.text("outcome")
        assert v.state_at("D1", CHILD) == "inside"
        assert browser.console_errors() == []
    finally:
        browser.close()
